# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""Namecheap XML API client (DNS host records) shared by the namecheap_* modules.

This is a private helper of sophia.platform, not a public API.

Follows https://www.namecheap.com/support/api/global-parameters/ and the method pages
namecheap.domains.dns.getHosts / setHosts (https://www.namecheap.com/support/api/methods/).
Every answer is HTTP 200 with ``<ApiResponse Status="OK|ERROR">``; errors are
``<Errors><Error Number="...">text</Error></Errors>``. Answers are parsed with defusedxml.

``setHosts`` replaces every record of the domain and resets its mail settings unless
``EmailType`` is sent: callers send back every record they keep and the current EmailType.
"""

from __future__ import annotations

import copy
import ipaddress
import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    EdgeApiError,
    EdgeHttpClient,
    fail_from_error,
)

try:
    from defusedxml import ElementTree as SafeET
except ImportError as _exc:  # pragma: no cover - exercised by the sanity import test
    HAS_DEFUSEDXML = False
    DEFUSEDXML_IMPORT_ERROR = _exc
else:
    HAS_DEFUSEDXML = True
    DEFUSEDXML_IMPORT_ERROR = None

PRODUCTION_URL = "https://api.namecheap.com/xml.response"
SANDBOX_URL = "https://api.sandbox.namecheap.com/xml.response"

#: Record types of the setHosts documentation.
RECORD_TYPES = ("A", "AAAA", "ALIAS", "CAA", "CNAME", "MX", "MXE", "NS", "TXT", "URL", "URL301", "FRAME")
#: Values of EmailType in the setHosts documentation.
EMAIL_TYPES = ("MX", "MXE", "FWD", "OX")
#: EmailType values getHosts reports for "no mail settings"; nothing to send back.
NO_EMAIL_TYPES = ("", "NONE")
TTL_MIN, TTL_MAX = 60, 60000
#: Types whose address is a host name (compared without a trailing dot, case-insensitively).
NAME_VALUED = ("CNAME", "MX", "NS", "ALIAS")

NAMECHEAP_ARGUMENT_SPEC = dict(
    api_user=dict(type="str", fallback=(env_fallback, ["NAMECHEAP_API_USER"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["NAMECHEAP_API_KEY"])),
    username=dict(type="str", fallback=(env_fallback, ["NAMECHEAP_USERNAME"])),
    client_ip=dict(type="str", fallback=(env_fallback, ["NAMECHEAP_CLIENT_IP"])),
    sandbox=dict(type="bool", default=False),
    api_url=dict(type="str", fallback=(env_fallback, ["NAMECHEAP_API_URL"])),
    api_timeout=dict(type="float", default=30.0),
    api_retries=dict(type="int", default=3),
)

# Error numbers from the documentation pages named above, with what a person can do.
_HINTS = {
    "1011150": "The client address is not whitelisted for API access: add client_ip (the public IPv4 address "
               "the requests leave from) under Profile > Tools > Business & Dev Tools > Namecheap API Access > "
               "Whitelisted IPs, and check that client_ip is that address.",
    "1017150": "The request address is disabled or locked for API access; check the whitelist in the account.",
    "1017105": "The client address is disabled or locked for API access; check the whitelist in the account.",
    "1010105": "client_ip (NAMECHEAP_CLIENT_IP) is missing.",
    "1011105": "client_ip (NAMECHEAP_CLIENT_IP) is missing.",
    "1010101": "api_user (NAMECHEAP_API_USER) is missing.",
    "1010102": "api_key (NAMECHEAP_API_KEY) is missing.",
    "1011102": "The API key is missing or invalid, or API access is not enabled for the account: check api_key "
               "and that API access is switched on (Profile > Tools > Namecheap API Access).",
    "1017101": "The API user is disabled or locked.",
    "1016103": "username is not authorized: it is normally the same as api_user.",
    "1019103": "username is not available: it is normally the same as api_user.",
    "1017103": "The user name is disabled or locked.",
    "1017411": "Too many login attempts: wait before trying again.",
    "1050900": "Namecheap could not validate the API user; try again later.",
    "2019166": "The domain is not found: check the domain option (the registered domain, for example example.com).",
    "2016166": "The domain is not associated with this account (username).",
    "2030166": "Editing this domain is not permitted through the API.",
    "2030288": "The domain does not use Namecheap's DNS servers, so its host records cannot be managed here.",
    "3013288": "Too many records for the domain.",
    "3031510": "Namecheap's registry backend refused the request; the message says why.",
    "3050900": "Unknown error from Namecheap's registry backend; try again later.",
    "4022288": "Namecheap could not read the domain's name servers; try again later.",
}


def namecheap_argument_spec(**options):
    spec = copy.deepcopy(NAMECHEAP_ARGUMENT_SPEC)
    spec.update(options)
    return spec


class NamecheapError(EdgeApiError):
    provider = "Namecheap API"


class NamecheapClient(EdgeHttpClient):
    """getHosts / setHosts over one session. Methods return plain dictionaries."""

    error_class = NamecheapError

    def __init__(self, api_user, api_key, client_ip, username=None, api_url=None, sandbox=False, **kwargs):
        missing = [name for name, value in (("api_user", api_user), ("api_key", api_key), ("client_ip", client_ip))
                   if not value or not str(value).strip()]
        if missing:
            raise NamecheapError(
                "Missing Namecheap credentials: %s (or the environment variables %s)."
                % (", ".join(missing), ", ".join("NAMECHEAP_" + m.upper() for m in missing)),
                code="client/missing-credentials",
                hint="Keep them in an ansible-vault encrypted file or in the environment, never in a playbook.",
            )
        try:
            address = ipaddress.ip_address(str(client_ip).strip())
        except ValueError:
            address = None
        if address is None or address.version != 4:
            raise NamecheapError("client_ip %r is not an IPv4 address (Namecheap takes IPv4 only)." % str(client_ip),
                                 code="client/invalid-client-ip")
        self._auth = dict(ApiUser=str(api_user).strip(), ApiKey=str(api_key).strip(),
                          UserName=str(username or api_user).strip(), ClientIp=str(address))
        # Both commands are idempotent (setHosts writes the whole set): POST may be repeated.
        kwargs.setdefault("unsafe_methods", ())
        super().__init__(api_url or (SANDBOX_URL if sandbox else PRODUCTION_URL),
                         secrets=[self._auth["ApiKey"]], **kwargs)

    def __repr__(self):
        return "NamecheapClient(api_url=%r)" % self.api_url

    def call(self, command, params, method="GET"):
        data = dict(self._auth)
        data["Command"] = command
        data.update(params)
        if method == "GET":
            response = self.send("GET", self.api_url, params=data)
        else:
            response = self.send("POST", self.api_url, data=data)
        return self._decode(response, command)

    def _decode(self, response, command):
        status = response.status_code
        if status != 200:
            raise NamecheapError("%s answered HTTP %s %s." % (command, status, response.reason or ""),
                                 status=status, code="client/http-%s" % status,
                                 hint="Namecheap answers 200 to every API call; check api_url." if status < 500
                                 else "Namecheap is failing; try again later.")
        try:
            root = SafeET.fromstring(response.content)
        except Exception as exc:  # defusedxml raises its own and ElementTree's errors
            raise NamecheapError("%s answered with a body that is not valid XML: %s" % (command, self.redact(exc)),
                                 status=status, code="client/invalid-response")
        _strip_namespaces(root)
        if root.tag != "ApiResponse":
            raise NamecheapError("%s answered <%s>, not <ApiResponse>." % (command, root.tag),
                                 status=status, code="client/invalid-response")
        errors = root.findall("./Errors/Error")
        if root.get("Status", "").upper() != "OK" or errors:
            number = errors[0].get("Number") if errors else None
            text = "; ".join(self.redact((e.text or "").strip()) for e in errors) or "Status %s" % root.get("Status")
            raise NamecheapError(text, status=status, code=number, hint=_HINTS.get(str(number)))
        result = root.find("./CommandResponse")
        if result is None:
            raise NamecheapError("%s answered without <CommandResponse>." % command,
                                 status=status, code="client/invalid-response")
        return result

    def get_hosts(self, domain):
        sld, tld = split_domain(domain)
        cr = self.call("namecheap.domains.dns.getHosts", dict(SLD=sld, TLD=tld))
        res = cr.find("./DomainDNSGetHostsResult")
        if res is None:
            raise NamecheapError("getHosts answered without <DomainDNSGetHostsResult>.",
                                 code="client/invalid-response")
        hosts = []
        for host in res:
            if host.tag.lower() != "host":
                continue
            hosts.append(dict(
                name=host.get("Name", ""),
                type=host.get("Type", "").upper(),
                address=host.get("Address", ""),
                mx_pref=_int(host.get("MXPref"), 10),
                ttl=_int(host.get("TTL"), 1800),
                host_id=host.get("HostId"),
            ))
        email_type = (res.get("EmailType") or "").upper()
        return dict(domain=res.get("Domain", domain), email_type=email_type,
                    is_using_our_dns=str(res.get("IsUsingOurDNS", "true")).lower() == "true", hosts=hosts)

    def set_hosts(self, domain, hosts, email_type=None):
        sld, tld = split_domain(domain)
        params = dict(SLD=sld, TLD=tld)
        for n, host in enumerate(hosts, start=1):
            params["HostName%d" % n] = host["name"]
            params["RecordType%d" % n] = host["type"]
            params["Address%d" % n] = host["address"]
            params["MXPref%d" % n] = str(host.get("mx_pref", 10))
            params["TTL%d" % n] = str(host.get("ttl", 1800))
        if email_type and email_type.upper() not in NO_EMAIL_TYPES:
            params["EmailType"] = email_type.upper()
        # POST: the documentation recommends it beyond 10 records, and it keeps the key out of URLs.
        cr = self.call("namecheap.domains.dns.setHosts", params, method="POST")
        res = cr.find("./DomainDNSSetHostsResult")
        if res is None or str(res.get("IsSuccess", "")).lower() != "true":
            raise NamecheapError("setHosts did not report success.", code="client/not-successful")
        return True


def _strip_namespaces(root):
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def split_domain(domain):
    """``example.co.uk`` -> (``example``, ``co.uk``): the registered domain's first label is the SLD."""
    domain = str(domain or "").strip().lower().rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise NamecheapError("domain %r is not a registered domain name such as example.com." % domain,
                             code="client/invalid-domain")
    return labels[0], ".".join(labels[1:])


_HOST_LABEL = re.compile(r"^(\*|_?[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)$")


def check_host_name(name):
    """A record's host name relative to the domain: ``@``, ``www``, ``api.staging``, ``*``, ``_acme``."""
    name = str(name or "").strip().lower()
    if name == "@":
        return name
    labels = name.split(".")
    if not name or len(name) > 253 or len(labels) > 127 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("host name %r is not @ or a relative name such as www or api.staging" % name)
    if "*" in labels[1:]:
        raise ValueError("host name %r: a wildcard may only be the first label" % name)
    return name


def canonical_address(rtype, address):
    address = str(address).strip()
    if rtype in NAME_VALUED:
        return address.rstrip(".").lower()
    if rtype == "AAAA":
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return address
    return address


def check_value(rtype, value):
    """Check one record value for its type; return it in canonical form or raise ValueError."""
    value = str(value or "").strip()
    if not value:
        raise ValueError("a %s record needs a non-empty value" % rtype)
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("%r is not an IP address (type %s)" % (value, rtype))
        if address.version != (4 if rtype == "A" else 6):
            raise ValueError("%r is not an IPv%d address (type %s)" % (value, 4 if rtype == "A" else 6, rtype))
    elif rtype in NAME_VALUED:
        try:
            check_host_name(value.rstrip("."))
        except ValueError:
            raise ValueError("%r is not a host name (type %s)" % (value, rtype))
    return canonical_address(rtype, value)


def record_key(host):
    """Comparable identity of a record (order of records does not matter)."""
    rtype = str(host["type"]).upper()
    return (str(host["name"]).lower(), rtype, canonical_address(rtype, host["address"]),
            int(host.get("ttl", 1800)), int(host.get("mx_pref", 10)) if rtype == "MX" else 0)


def record_view(host):
    out = dict(name=host["name"], type=host["type"], value=host["address"], ttl=int(host.get("ttl", 1800)))
    if host["type"] == "MX":
        out["mx_pref"] = int(host.get("mx_pref", 10))
    return out


def client_from_module(module):
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
    if not HAS_DEFUSEDXML:
        module.fail_json(msg=missing_required_lib("defusedxml"), exception=str(DEFUSEDXML_IMPORT_ERROR))
    p = module.params
    try:
        return NamecheapClient(
            api_user=p.get("api_user"), api_key=p.get("api_key"), username=p.get("username"),
            client_ip=p.get("client_ip"), api_url=p.get("api_url"), sandbox=p.get("sandbox"),
            read_timeout=p.get("api_timeout") or 30.0,
            retries=p.get("api_retries") if p.get("api_retries") is not None else 3,
            user_agent="sophia.platform/%s" % module._name,
        )
    except NamecheapError as exc:
        fail_from_error(module, exc)
