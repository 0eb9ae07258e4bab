"""A fake Namecheap XML API for tests: a real HTTP server on 127.0.0.1.

Namecheap publishes no machine-readable description of its API. This fake follows its
documentation pages, as read on 2026-11-29:

* https://www.namecheap.com/support/api/global-parameters/ (ApiUser, ApiKey, UserName,
  Command, ClientIp; the global error numbers 1010101 ... 1017103),
* https://www.namecheap.com/support/api/methods/domains-dns/get-hosts/ (request SLD/TLD,
  ``<DomainDNSGetHostsResult Domain IsUsingOurDNS>`` with one element per host, errors
  2019166, 2016166, 2030166, 2030288, ...),
* https://www.namecheap.com/support/api/methods/domains-dns/set-hosts/ (HostNameN,
  RecordTypeN, AddressN, MXPrefN, TTLN 60-60000, EmailType MXE|MX|FWD|OX; "All host records
  that are not included into the API call will be deleted"; POST recommended beyond 10 hosts).

Where the pages are silent, the shape follows sandbox answers recorded in public client test
suites (go-acme/lego, providers/dns/namecheap): ``<host>`` elements in lower case carrying
``IsActive``/``IsDDNSEnabled``, an ``EmailType`` attribute on the getHosts result, and every
answer, errors included, sent with HTTP 200 and ``Status="ERROR"``.

Modelled behaviour: credentials and the client-address whitelist are checked first (as the
global errors say); setHosts replaces every record and, when ``EmailType`` is not sent, resets
the mail setting to none and drops the mail records (MX, MXE), which is the loss the
modules must prevent. An invalid record is refused with 3031510 (the documented backend
error; the real message text is not documented). Faults: :meth:`FakeNamecheap.fail_next`.

Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import copy
import html
import itertools
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

from loopback_server import LoopbackServer

RECORD_TYPES = ("A", "AAAA", "ALIAS", "CAA", "CNAME", "MX", "MXE", "NS", "TXT", "URL", "URL301", "FRAME")
EMAIL_TYPES = ("MXE", "MX", "FWD", "OX")
XMLNS = "http://api.namecheap.com/xml.response"


class FakeNamecheap(LoopbackServer):
    def __init__(self, api_user="sophia-ops", api_key="fake-namecheap-key-for-tests", client_ip="198.51.100.77"):
        self.api_user = api_user
        self.api_key = api_key
        self.whitelist = {client_ip}
        self.client_ip = client_ip
        self.domains = {}  # "sld.tld" -> {"hosts": [...], "email_type": str, "our_dns": bool, "owner": str}
        self.requests = []  # (http method, Command, params)
        self._faults = []
        self._ids = itertools.count(100001)
        self.lock = threading.RLock()
        self.server = None
        self.base_url = None

    # -- server ------------------------------------------------------------------------

    # -- test helpers ------------------------------------------------------------------

    def add_domain(self, domain, hosts=(), email_type="", our_dns=True, owner=None):
        self.domains[domain] = dict(hosts=[self._host(*h) for h in hosts], email_type=email_type,
                                    our_dns=our_dns, owner=owner or self.api_user)

    def _host(self, name, rtype, address, ttl=1800, mx_pref=10):
        return dict(HostId=str(next(self._ids)), Name=name, Type=rtype, Address=address, MXPref=str(mx_pref),
                    TTL=str(ttl))

    def records(self, domain):
        """Comparable view of a domain's records: sorted (name, type, address, ttl, mxpref)."""
        return sorted((h["Name"], h["Type"], h["Address"], int(h["TTL"]), int(h["MXPref"]))
                      for h in self.domains[domain]["hosts"])

    def calls(self, command=None):
        return [r for r in self.requests if command is None or r[1] == command]

    def fail_next(self, command, number=None, message="injected failure", status=200, times=1, raw=None):
        """Answer the next ``times`` calls of ``command`` with an API error, an HTTP status or raw bytes."""
        with self.lock:
            self._faults.append(dict(command=command, number=number, message=message, status=status,
                                     times=times, raw=raw))

    def _take_fault(self, command):
        with self.lock:
            for fault in self._faults:
                if fault["command"] in (command, "*") and fault["times"] > 0:
                    fault["times"] -= 1
                    return fault
        return None

    # -- API ---------------------------------------------------------------------------

    def dispatch(self, method, params):
        command = params.get("Command", "")
        self.requests.append((method, command, dict(params)))
        fault = self._take_fault(command)
        if fault:
            if fault["raw"] is not None:
                return fault["status"], fault["raw"]
            if fault["number"] is None:
                return fault["status"], b"<html><body>Service Unavailable</body></html>"
            return 200, _error(command, fault["number"], fault["message"])
        # Global parameters, in the order the global error table lists them.
        if not params.get("ApiUser"):
            return 200, _error(command, "1010101", "Parameter APIUser is missing")
        if not params.get("ApiKey"):
            return 200, _error(command, "1010102", "Parameter APIKey is missing")
        if not command:
            return 200, _error(command, "1010104", "Parameter Command is missing")
        if not params.get("ClientIp"):
            return 200, _error(command, "1011105", "Parameter ClientIP is missing")
        if params["ApiUser"] != self.api_user or params["ApiKey"] != self.api_key:
            return 200, _error(command, "1011102", "API Key is invalid or API access has not been enabled")
        if params["ClientIp"] not in self.whitelist:
            return 200, _error(command, "1011150", "Invalid request IP: %s" % params["ClientIp"])
        if params.get("UserName") != self.api_user:
            return 200, _error(command, "1016103", "Parameter UserName is unauthorized")
        if command == "namecheap.domains.dns.getHosts":
            return self.get_hosts(params)
        if command == "namecheap.domains.dns.setHosts":
            return self.set_hosts(params)
        return 200, _error(command, "1010104", "Unknown command %s" % command)

    def _domain(self, command, params):
        name = "%s.%s" % (params.get("SLD", ""), params.get("TLD", ""))
        dom = self.domains.get(name.lower())
        if dom is None:
            return name, None, _error(command, "2019166", "Domain not found")
        if dom["owner"] != params.get("UserName"):
            return name, None, _error(command, "2016166", "Domain is not associated with your account")
        if not dom["our_dns"]:
            return name, None, _error(command, "2030288", "Cannot complete this command as this domain is not "
                                                          "using proper DNS servers")
        return name, dom, None

    def get_hosts(self, params):
        command = "namecheap.domains.dns.getHosts"
        name, dom, err = self._domain(command, params)
        if err:
            return 200, err
        rows = "".join(
            '<host HostId="%s" Name="%s" Type="%s" Address="%s" MXPref="%s" TTL="%s" AssociatedAppTitle="" '
            'FriendlyName="" IsActive="true" IsDDNSEnabled="false" />'
            % tuple(html.escape(h[k], quote=True) for k in ("HostId", "Name", "Type", "Address", "MXPref", "TTL"))
            for h in dom["hosts"])
        body = ('<DomainDNSGetHostsResult Domain="%s" EmailType="%s" IsUsingOurDNS="true">%s'
                "</DomainDNSGetHostsResult>" % (html.escape(name), dom["email_type"] or "NONE", rows))
        return 200, _ok(command, body)

    def set_hosts(self, params):
        command = "namecheap.domains.dns.setHosts"
        name, dom, err = self._domain(command, params)
        if err:
            return 200, err
        hosts = []
        for n in itertools.count(1):
            if "HostName%d" % n not in params and "RecordType%d" % n not in params:
                break
            rtype = params.get("RecordType%d" % n, "").upper()
            address = params.get("Address%d" % n, "")
            host = params.get("HostName%d" % n, "")
            try:
                ttl = int(params.get("TTL%d" % n, "1800"))
            except ValueError:
                ttl = -1
            if not host or rtype not in RECORD_TYPES or not address or not 60 <= ttl <= 60000:
                return 200, _error(command, "3031510", "Invalid host record %d (%s %s %s TTL %s)"
                                   % (n, host, rtype, address, params.get("TTL%d" % n)))
            hosts.append(self._host(host, rtype, address, ttl, params.get("MXPref%d" % n, "10")))
        email_type = params.get("EmailType", "").upper()
        if email_type and email_type not in EMAIL_TYPES:
            return 200, _error(command, "3031510", "Invalid EmailType %s" % email_type)
        if not email_type:
            # Without EmailType, the mail setting is reset and the mail records with it.
            hosts = [h for h in hosts if h["Type"] not in ("MX", "MXE")]
        dom["hosts"] = hosts
        dom["email_type"] = email_type
        return 200, _ok(command, '<DomainDNSSetHostsResult Domain="%s" IsSuccess="true"><Warnings /></DomainDNSSetHostsResult>'
                        % html.escape(name))

    def snapshot(self):
        return copy.deepcopy(self.domains)


def _envelope(status, command, inner_errors, body):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<ApiResponse Status="%s" xmlns="%s">'
            "<Errors>%s</Errors><Warnings /><RequestedCommand>%s</RequestedCommand>%s"
            "<Server>FAKE01</Server><GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0.01</ExecutionTime>"
            "</ApiResponse>" % (status, XMLNS, inner_errors, html.escape(command), body)).encode("utf-8")


def _ok(command, result):
    return _envelope("OK", command, "", '<CommandResponse Type="%s">%s</CommandResponse>' % (command, result))


def _error(command, number, message):
    return _envelope("ERROR", command, '<Error Number="%s">%s</Error>' % (number, html.escape(message)), "")


class _Handler(BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self, method):
        parts = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            params.update(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        status, body = self.fake.dispatch(method, params)
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server naming
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")


FakeNamecheap.handler_class = _Handler
FakeNamecheap.thread_name = "namecheap-fake"
FakeNamecheap.url_path = "/xml.response"
