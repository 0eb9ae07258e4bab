# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""Lambda Cloud API v1 client shared by the inventory plugin and the modules.

This is a private helper of sophia.platform, not a public API: names and
signatures may change in any release.

One client, one error type:

* ``LambdaCloudClient`` talks to ``https://cloud.lambda.ai/api/v1`` with
  ``requests`` and a urllib3 ``Retry``: HTTP 429 and 5xx are retried with
  exponential backoff, honouring ``Retry-After``, for a bounded number of
  attempts and a bounded total time.  One ``requests.Session`` with one
  mounted adapter serves every request of a client, so a poll loop reuses its
  connection instead of opening one per request.  Non-idempotent ``POST`` requests are
  retried on 429 only (the API refused them, so nothing happened); a 5xx or a
  read timeout after a ``POST`` is *not* retried, because the launch may have
  gone through.
* ``LambdaCloudError`` carries the HTTP status, the API error ``code``, the
  message and the suggestion.  It never carries the API key.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError as _exc:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = _exc
    URLLIB3_VERSION = None
    Retry = object  # type: ignore[assignment,misc]
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
    URLLIB3_VERSION = urllib3.__version__

#: The oldest urllib3 whose ``Retry`` takes every argument this client passes:
#: ``backoff_max`` became an argument in 2.0.0 (1.26 has only the class attribute
#: ``DEFAULT_BACKOFF_MAX``, and ``Retry(backoff_max=...)`` is a TypeError there);
#: ``other`` and ``respect_retry_after_header`` exist since 1.26.  The cap on
#: ``Retry-After`` is this client's own (``retry_after_cap``), not urllib3's
#: ``retry_after_max``, which only 2.6.3 added.
URLLIB3_MIN_VERSION = "2.0.0"


DEFAULT_API_URL = "https://cloud.lambda.ai/api/v1"
API_KEY_ENV = "LAMBDA_API_KEY"
API_URL_ENV = "LAMBDA_API_URL"

#: The API allows one launch per 12 seconds (five per minute).
LAUNCH_INTERVAL = 12.0

#: Instance statuses listed by the OpenAPI document 1.10.0.
KNOWN_STATUSES = ("booting", "active", "unhealthy", "terminating", "terminated", "preempted")
#: Statuses of instances that are gone or going: never counted as "present".
GONE_STATUSES = ("terminating", "terminated", "preempted")

#: Substrings of instance type names built on NVIDIA Grace (Arm Neoverse-V2) CPUs.
_ARM_TYPE_MARKERS = ("gh200", "gb200", "gb300", "grace")

NETWORK_PROTOCOLS = ("tcp", "udp", "icmp", "all")

# Shared module options, documented by the doc fragment sophia.platform.lambda_cloud.
# Modules combine this constant with their own options so docs and code cannot drift.
LAMBDA_CLOUD_ARGUMENT_SPEC = dict(
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, [API_KEY_ENV])),
    api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, [API_URL_ENV])),
    api_timeout=dict(type="float", default=30.0),
    api_retries=dict(type="int", default=5),
)


def lambda_cloud_argument_spec(**options):
    """The shared options plus a module's own ones (a fresh copy each call)."""
    spec = copy.deepcopy(LAMBDA_CLOUD_ARGUMENT_SPEC)
    spec.update(options)
    return spec


class LambdaCloudError(Exception):
    """Any failure talking to the Lambda Cloud API.

    ``status`` is the HTTP status (``None`` when no response came back), ``code``
    the API's machine-readable error code (``client/...`` for errors detected on
    this side: timeouts, connection failures, malformed responses, a missing key).
    """

    def __init__(self, message, status=None, code=None, suggestion=None, method=None, path=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.suggestion = suggestion
        self.method = method
        self.path = path

    def __str__(self):
        where = ""
        if self.method and self.path:
            where = " on %s %s" % (self.method, self.path)
        parts = []
        if self.status is not None:
            parts.append("HTTP %s" % self.status)
        if self.code:
            parts.append("code %s" % self.code)
        detail = " (%s)" % ", ".join(parts) if parts else ""
        text = "Lambda Cloud API error%s%s: %s" % (where, detail, self.message)
        if self.suggestion:
            text += " Suggestion: %s" % self.suggestion
        return text

    def to_dict(self):
        return dict(status=self.status, code=self.code, message=self.message, suggestion=self.suggestion)


def _version_tuple(text):
    parts = []
    for piece in str(text).split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group(0)))
    return tuple(parts)


def urllib3_too_old():
    """The reason this urllib3 cannot be used (a sentence naming the minimum), or None."""
    if URLLIB3_VERSION is None:
        return None
    if _version_tuple(URLLIB3_VERSION) < _version_tuple(URLLIB3_MIN_VERSION):
        return ("urllib3 %s is installed; the Lambda Cloud client needs urllib3 >= %s "
                "(Retry(backoff_max=...)). Upgrade it, for example: pip install 'urllib3>=%s'."
                % (URLLIB3_VERSION, URLLIB3_MIN_VERSION, URLLIB3_MIN_VERSION))
    return None


_LOOPBACK_NAMES = ("localhost",)


def check_api_url(url):
    """Return ``url`` without a trailing slash, or raise ``LambdaCloudError``.

    The API key travels in a header, so only HTTPS is accepted, except to a loopback
    address (127.0.0.0/8, ::1, localhost), where tests and local proxies listen.
    """
    text = str(url or "").strip()
    parsed = urlsplit(text)
    scheme = parsed.scheme.lower()
    host = (parsed.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise LambdaCloudError(
            "api_url %r is not an https:// URL." % text,
            code="client/invalid-api-url",
            suggestion="Use %s, or an https:// URL of a proxy." % DEFAULT_API_URL,
        )
    if scheme == "http" and not _is_loopback(host):
        raise LambdaCloudError(
            "api_url %r uses plain http to a host that is not loopback; the API key would cross "
            "the network unencrypted." % text,
            code="client/insecure-api-url",
            suggestion="Use https://, or http:// only to 127.0.0.0/8, ::1 or localhost.",
        )
    return text.rstrip("/")


def _is_loopback(host):
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RetryBudgetExceeded(Exception):
    """Raised from ``Retry.sleep`` when waiting longer would pass the total time budget."""

    def __init__(self, delay, status):
        super().__init__(delay, status)
        self.delay = delay
        self.status = status


if HAS_REQUESTS:

    class LambdaRetry(Retry):
        """urllib3 ``Retry`` with a total time budget, an injectable sleep and POST-on-429 only.

        One instance serves every request of a client (urllib3 copies it on each
        retry), so the budget's end is asked of ``deadline`` (a callable giving the
        current request's deadline) rather than fixed when the adapter is made.
        """

        # Methods whose repetition is harmless.  PATCH is here because this
        # collection only PATCHes whole rule lists (same request, same result).
        IDEMPOTENT = frozenset(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"])

        def __init__(self, *args, deadline=None, sleep_func=None, clock=None, retry_after_cap=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.deadline = deadline
            self.sleep_func = sleep_func or time.sleep
            self.clock = clock or time.monotonic
            self.retry_after_cap = retry_after_cap

        def new(self, **kw):
            kw.setdefault("deadline", self.deadline)
            kw.setdefault("sleep_func", self.sleep_func)
            kw.setdefault("clock", self.clock)
            kw.setdefault("retry_after_cap", self.retry_after_cap)
            return super().new(**kw)

        def _is_method_retryable(self, method):
            return method.upper() in self.IDEMPOTENT

        def is_retry(self, method, status_code, has_retry_after=False):
            if method.upper() == "POST":
                # The API rejected the request outright: repeating it is safe.
                return status_code == 429 and bool(self.total)
            return super().is_retry(method, status_code, has_retry_after)

        def sleep(self, response=None):
            delay = None
            if response is not None and self.respect_retry_after_header:
                delay = self.get_retry_after(response)
            if delay is None:
                delay = self.get_backoff_time()
            delay = min(max(delay, 0.0), self.retry_after_cap or delay)
            deadline = self.deadline() if callable(self.deadline) else self.deadline
            if deadline is not None and self.clock() + delay > deadline:
                raise _RetryBudgetExceeded(delay, getattr(response, "status", None))
            if delay > 0:
                self.sleep_func(delay)

else:  # pragma: no cover
    LambdaRetry = None


def _error_from_body(body):
    """Return (code, message, suggestion) from an API error body, tolerating junk."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return (
            str(err.get("code")) if err.get("code") is not None else None,
            str(err.get("message")) if err.get("message") is not None else None,
            str(err.get("suggestion")) if err.get("suggestion") is not None else None,
        )
    return None, None, None


_STATUS_HINTS = {
    401: ("The API key was rejected.", "Check LAMBDA_API_KEY / api_key, or create a new key at https://cloud.lambda.ai/api-keys."),
    403: ("The request was forbidden.", "Check that the account is active and has a payment method and billing address."),
    429: ("Too many requests; the API kept rate-limiting after the retries.", "Wait a minute and try again; launches are limited to one per 12 seconds."),
}


def _default_sleep(seconds):
    # time.sleep looked up at call time, so tests can replace it
    time.sleep(seconds)


def _default_clock():
    return time.monotonic()


class LambdaCloudClient:
    """Minimal client for Lambda Cloud API v1. Every method returns the ``data`` payload."""

    def __init__(
        self,
        api_key,
        api_url=DEFAULT_API_URL,
        connect_timeout=10.0,
        read_timeout=30.0,
        retries=5,
        backoff_factor=2.0,
        backoff_max=30.0,
        retry_after_max=60.0,
        max_retry_time=300.0,
        launch_interval=LAUNCH_INTERVAL,
        sleep=None,
        clock=None,
        user_agent="sophia.platform",
    ):
        if not HAS_REQUESTS:
            raise LambdaCloudError(
                "The Python library 'requests' is required to talk to the Lambda Cloud API: %s" % REQUESTS_IMPORT_ERROR,
                code="client/missing-library",
            )
        too_old = urllib3_too_old()
        if too_old:
            raise LambdaCloudError(too_old, code="client/missing-library")
        if not api_key or not str(api_key).strip():
            raise LambdaCloudError(
                "No Lambda Cloud API key: set the environment variable %s or the api_key option "
                "(for example from an ansible-vault encrypted variable)." % API_KEY_ENV,
                code="client/missing-api-key",
                suggestion="Create a key at https://cloud.lambda.ai/api-keys.",
            )
        self._api_key = str(api_key).strip()
        self.api_url = check_api_url(api_url or DEFAULT_API_URL)
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retry_time = float(max_retry_time)
        self.launch_interval = float(launch_interval)
        self._sleep = sleep or _default_sleep
        self._clock = clock or _default_clock
        self._last_launch = None
        self._deadline = None
        self.request_count = 0
        retry = LambdaRetry(
            deadline=lambda: self._deadline,
            sleep_func=self._sleep,
            clock=self._clock,
            retry_after_cap=float(retry_after_max),
            total=int(retries),
            connect=int(retries),
            read=int(retries),
            status=int(retries),
            other=0,
            redirect=0,
            status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=float(backoff_factor),
            backoff_max=float(backoff_max),
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        self._session = requests.Session()
        # One adapter (one connection pool per host) for the client's whole life:
        # an adapter mounted per request would open a new connection every time.
        self._adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", self._adapter)
        self._session.mount("https://", self._adapter)
        self._session.headers.update(
            {
                "Authorization": "Bearer %s" % self._api_key,
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )

    def __repr__(self):
        return "LambdaCloudClient(api_url=%r)" % self.api_url

    # -- plumbing -----------------------------------------------------------------

    def _redact(self, text):
        text = str(text)
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "********")
        return text

    def close(self):
        """Close the pooled connections (the client stays usable; it reconnects)."""
        self._session.close()

    def request(self, method, path, body=None, params=None):
        """Send one request (with retries) and return the ``data`` payload."""
        method = method.upper()
        url = self.api_url + path
        self._deadline = self._clock() + self.max_retry_time
        self.request_count += 1
        kwargs = dict(timeout=self.timeout, params=params, allow_redirects=False)
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        try:
            response = self._session.request(method, url, **kwargs)
        except _RetryBudgetExceeded as exc:
            code, message, suggestion = None, None, None
            hint = _STATUS_HINTS.get(exc.status, (None, None))
            raise LambdaCloudError(
                "Gave up after %.0f s of retries (the server asked to wait %.1f s more)%s"
                % (self.max_retry_time, exc.delay, (": " + hint[0]) if hint[0] else "."),
                status=exc.status,
                code=code or "client/retry-budget-exceeded",
                suggestion=suggestion or hint[1],
                method=method,
                path=path,
            )
        except requests.exceptions.RequestException as exc:
            if _is_timeout(exc):
                raise LambdaCloudError(
                    "No answer from %s within the timeout (connect %g s, read %g s)."
                    % (self.api_url, self.timeout[0], self.timeout[1]),
                    code="client/timeout",
                    suggestion=(
                        "The request may have been carried out: check the current state before running it again."
                        if method == "POST" else "Check network access to the API, or raise api_timeout."
                    ),
                    method=method,
                    path=path,
                )
            raise LambdaCloudError(
                "Cannot reach %s: %s" % (self.api_url, self._redact(exc)),
                code="client/connection-error",
                suggestion="Check api_url and network access to the API.",
                method=method,
                path=path,
            )
        return self._decode(response, method, path)

    def _decode(self, response, method, path):
        status = response.status_code
        text = response.text
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
            if 200 <= status < 300:
                raise LambdaCloudError(
                    "The API answered HTTP %s with a body that is not JSON." % status,
                    status=status,
                    code="client/invalid-response",
                    method=method,
                    path=path,
                )
        if 200 <= status < 300:
            if not isinstance(body, dict) or "data" not in body:
                raise LambdaCloudError(
                    "The API answered HTTP %s without the expected {\"data\": ...} envelope." % status,
                    status=status,
                    code="client/invalid-response",
                    method=method,
                    path=path,
                )
            return body["data"]
        code, message, suggestion = _error_from_body(body)
        hint = _STATUS_HINTS.get(status, (None, None))
        if message is None:
            message = hint[0] or ("HTTP %s %s" % (status, response.reason or "")).strip()
            if body is None and text:
                message += " Body: %s" % self._redact(text[:200])
        raise LambdaCloudError(
            self._redact(message),
            status=status,
            code=code or ("client/http-%s" % status),
            suggestion=self._redact(suggestion) if suggestion else hint[1],
            method=method,
            path=path,
        )

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, body=None):
        return self.request("POST", path, body=body if body is not None else {})

    def patch(self, path, body):
        return self.request("PATCH", path, body=body)

    def put(self, path, body):
        return self.request("PUT", path, body=body)

    def delete(self, path):
        return self.request("DELETE", path)

    # -- endpoints (only those in the OpenAPI document 1.10.0) -------------------------

    def list_instances(self):
        return _as_list(self.get("/instances"), "instances")

    def get_instance(self, instance_id):
        return self.get("/instances/%s" % _path_id(instance_id))

    def launch_instance(self, request):
        """POST /instance-operations/launch, spaced by ``launch_interval`` within this client."""
        if self._last_launch is not None and self.launch_interval > 0:
            wait = self._last_launch + self.launch_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        try:
            data = self.post("/instance-operations/launch", request)
        finally:
            self._last_launch = self._clock()
        ids = data.get("instance_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list):
            raise LambdaCloudError(
                "The launch answer has no instance_ids list.", code="client/invalid-response",
                method="POST", path="/instance-operations/launch",
            )
        return ids

    def restart_instances(self, instance_ids):
        data = self.post("/instance-operations/restart", {"instance_ids": list(instance_ids)})
        return _as_list((data or {}).get("restarted_instances"), "restarted_instances")

    def terminate_instances(self, instance_ids):
        data = self.post("/instance-operations/terminate", {"instance_ids": list(instance_ids)})
        return _as_list((data or {}).get("terminated_instances"), "terminated_instances")

    def list_instance_types(self):
        data = self.get("/instance-types")
        if not isinstance(data, dict):
            raise LambdaCloudError("GET /instance-types did not return a map.", code="client/invalid-response")
        return data

    def list_regions(self):
        return _as_list(self.get("/regions"), "regions")

    def list_ssh_keys(self):
        return _as_list(self.get("/ssh-keys"), "ssh-keys")

    def add_ssh_key(self, name, public_key=None):
        body = {"name": name}
        if public_key:
            body["public_key"] = public_key
        return self.post("/ssh-keys", body)

    def delete_ssh_key(self, key_id):
        return self.delete("/ssh-keys/%s" % _path_id(key_id))

    def list_filesystems(self):
        return _as_list(self.get("/file-systems"), "file-systems")

    def create_filesystem(self, name, region):
        return self.post("/filesystems", {"name": name, "region": region})

    def delete_filesystem(self, fs_id):
        return self.delete("/filesystems/%s" % _path_id(fs_id))

    def list_firewall_rulesets(self):
        return _as_list(self.get("/firewall-rulesets"), "firewall-rulesets")

    def create_firewall_ruleset(self, name, region, rules):
        return self.post("/firewall-rulesets", {"name": name, "region": region, "rules": rules})

    def update_firewall_ruleset(self, ruleset_id, rules=None, name=None):
        body = {}
        if rules is not None:
            body["rules"] = rules
        if name is not None:
            body["name"] = name
        return self.patch("/firewall-rulesets/%s" % _path_id(ruleset_id), body)

    def delete_firewall_ruleset(self, ruleset_id):
        return self.delete("/firewall-rulesets/%s" % _path_id(ruleset_id))

    def get_global_firewall_ruleset(self):
        return self.get("/firewall-rulesets/global")

    def update_global_firewall_ruleset(self, rules):
        return self.patch("/firewall-rulesets/global", {"rules": rules})


def _is_timeout(exc):
    """True when a requests exception is, or wraps (after retries), a timeout."""
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    seen = 0
    cur = exc
    while cur is not None and seen < 5:
        seen += 1
        reason = getattr(cur, "reason", None)
        if reason is not None and "Timeout" in type(reason).__name__:
            return True
        cur = cur.args[0] if getattr(cur, "args", None) and isinstance(cur.args[0], Exception) else None
    return False


def _as_list(data, what):
    if not isinstance(data, list):
        raise LambdaCloudError("The API returned %s as %s, not a list." % (what, type(data).__name__), code="client/invalid-response")
    return data


_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _path_id(value):
    value = str(value)
    if not _ID_RE.match(value):
        raise LambdaCloudError("Invalid resource id %r." % value, code="client/invalid-id")
    return value


# -- helpers shared by the inventory plugin and the modules -------------------------------

def instance_architecture(type_name):
    """CPU architecture of an instance type: ``aarch64`` for Grace-based types, else ``x86_64``."""
    name = str(type_name or "").lower()
    return "aarch64" if any(marker in name for marker in _ARM_TYPE_MARKERS) else "x86_64"


def tags_to_dict(tags):
    """``[{"key": k, "value": v}, ...]`` -> ``{k: v}``; entries without a key are dropped."""
    result = {}
    for tag in tags or []:
        if isinstance(tag, dict) and tag.get("key") is not None:
            result[str(tag["key"])] = "" if tag.get("value") is None else str(tag["value"])
    return result


def dict_to_tags(tags):
    return [{"key": str(k), "value": "" if v is None else str(v)} for k, v in sorted((tags or {}).items())]


def instance_summary(instance):
    """A JSON-friendly view of an instance for module results (no Jupyter token)."""
    itype = instance.get("instance_type") or {}
    region = instance.get("region") or {}
    specs = itype.get("specs") or {}
    return dict(
        id=instance.get("id"),
        name=instance.get("name"),
        status=instance.get("status"),
        ip=instance.get("ip"),
        private_ip=instance.get("private_ip"),
        hostname=instance.get("hostname"),
        region=region.get("name"),
        instance_type=itype.get("name"),
        architecture=instance_architecture(itype.get("name")),
        gpu_count=specs.get("gpus"),
        ssh_key_names=list(instance.get("ssh_key_names") or []),
        file_system_names=list(instance.get("file_system_names") or []),
        firewall_ruleset_ids=[r.get("id") for r in instance.get("firewall_rulesets") or [] if isinstance(r, dict)],
        tags=tags_to_dict(instance.get("tags")),
    )


def filesystem_view(fs):
    """A JSON-friendly view of a file system for module results."""
    if not fs:
        return None
    return dict(id=fs.get("id"), name=fs.get("name"), region=(fs.get("region") or {}).get("name"),
                mount_point=fs.get("mount_point"), is_in_use=fs.get("is_in_use"), bytes_used=fs.get("bytes_used"))


def client_from_module(module, **overrides):
    """Build a client from the shared module options; fail the module on a missing key or library."""
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
    if urllib3_too_old():
        module.fail_json(
            msg=missing_required_lib(
                "urllib3 >= %s" % URLLIB3_MIN_VERSION,
                reason="by the Lambda Cloud client (urllib3 %s is installed)" % URLLIB3_VERSION,
            ),
            code="client/missing-library",
        )
    params = module.params
    kwargs = dict(
        api_key=params.get("api_key"),
        api_url=params.get("api_url") or DEFAULT_API_URL,
        read_timeout=params.get("api_timeout") or 30.0,
        retries=params.get("api_retries") if params.get("api_retries") is not None else 5,
        user_agent="sophia.platform/%s" % module._name,
    )
    kwargs.update(overrides)
    try:
        return LambdaCloudClient(**kwargs)
    except LambdaCloudError as exc:
        fail_from_error(module, exc)


def fail_from_error(module, exc, **extra):
    """The one error path of every module: API error -> fail_json with status/code/suggestion."""
    module.fail_json(
        msg=str(exc),
        status=exc.status,
        code=exc.code,
        api_message=exc.message,
        suggestion=exc.suggestion,
        **extra
    )


# -- firewall rules -------------------------------------------------------------------------

def normalize_rule(rule):
    """Check one firewall rule and return it in the API's canonical form.

    Raises ValueError with a message naming the problem. ``port_range`` may be given as
    ``[min, max]``, ``[port]`` or a single port; ``source_network`` as a CIDR or a bare IPv4
    address (meaning /32).
    """
    if not isinstance(rule, dict):
        raise ValueError("a rule must be a dictionary, not %r" % (rule,))
    protocol = str(rule.get("protocol") or "").lower()
    if protocol not in NETWORK_PROTOCOLS:
        raise ValueError("protocol %r is not one of %s" % (rule.get("protocol"), ", ".join(NETWORK_PROTOCOLS)))
    ports = rule.get("port_range")
    if ports is not None and not isinstance(ports, (list, tuple)):
        ports = [ports]
    if protocol == "icmp":
        if ports:
            raise ValueError("icmp rules take no port_range")
        port_range = None
    else:
        if not ports or len(ports) > 2:
            raise ValueError("%s rules need port_range [min, max] (one port: [22, 22])" % protocol)
        try:
            low, high = int(ports[0]), int(ports[-1])
        except (TypeError, ValueError):
            raise ValueError("port_range %r is not made of integers" % (ports,))
        if not 1 <= low <= high <= 65535:
            raise ValueError("port_range %r must satisfy 1 <= min <= max <= 65535" % (list(ports),))
        port_range = [low, high]
    source = str(rule.get("source_network") or "").strip()
    try:
        network = ipaddress.ip_network(source, strict=True)
    except ValueError as exc:
        raise ValueError("source_network %r is not an IPv4 CIDR: %s" % (source, exc))
    if network.version != 4:
        raise ValueError("source_network %r: the API takes IPv4 networks only" % source)
    description = "" if rule.get("description") is None else str(rule.get("description"))
    if len(description) > 128:
        raise ValueError("description %r is longer than 128 characters" % description[:40])
    out = {"protocol": protocol, "source_network": str(network), "description": description}
    if port_range is not None:
        out["port_range"] = port_range
    return out


def normalize_rules(rules):
    """Normalise a list of rules; returns (rules, errors), every error naming its rule number."""
    normalized, errors = [], []
    for number, rule in enumerate(rules or [], start=1):
        try:
            normalized.append(normalize_rule(rule))
        except ValueError as exc:
            errors.append("rule %d: %s" % (number, exc))
    return normalized, errors


def rule_key(rule):
    """Comparable identity of a rule as the API returns it (order of rules does not matter)."""
    try:
        rule = normalize_rule(rule)
    except ValueError:
        pass
    ports = rule.get("port_range")
    return (rule.get("protocol"), tuple(ports) if ports else (), rule.get("source_network"), rule.get("description") or "")


def rules_equal(current, desired):
    return sorted(rule_key(r) for r in current or []) == sorted(rule_key(r) for r in desired or [])
