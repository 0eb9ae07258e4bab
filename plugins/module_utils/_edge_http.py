# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""HTTP plumbing shared by the Namecheap and Vercel clients of sophia.platform.

This is a private helper of sophia.platform, not a public API.

* One ``requests.Session`` per client, so a playbook task's several calls reuse
  one TLS connection.
* Explicit timeouts (connect, read) on every request.
* Bounded retries (urllib3 ``Retry``) after HTTP 429 and 5xx and connection
  errors, with exponential backoff honouring ``Retry-After``; a request that is
  not safe to repeat is retried after 429 only.
* Only ``https://`` URLs, except on loopback (the test fakes).
* One error type, ``EdgeApiError``: HTTP status, provider code, message, hint.
  Credentials are removed from every text it carries.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError as _exc:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = _exc
    Retry = object  # type: ignore[assignment,misc]
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDACTED = "********"
#: ``Retry(backoff_max=...)`` is an argument since urllib3 2.0.0.
URLLIB3_MIN_VERSION = (2, 0, 0)
#: The longest wait a ``Retry-After`` header may impose, in seconds.
RETRY_AFTER_CAP = 60.0


def _urllib3_too_old():
    try:
        version = tuple(int(x) for x in urllib3.__version__.split(".")[:3] if x.isdigit())
    except (AttributeError, NameError):
        return None
    if version < URLLIB3_MIN_VERSION:
        return "urllib3 %s is installed; these modules need urllib3 >= 2.0.0 (pip install 'urllib3>=2.0.0')." \
            % urllib3.__version__
    return None


class EdgeApiError(Exception):
    """A failure talking to a provider's API.

    ``status`` is the HTTP status (``None`` when no response came back); ``code`` the
    provider's error code (``client/...`` for problems found on this side).
    """

    provider = "API"

    def __init__(self, message, status=None, code=None, hint=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.hint = hint

    def __str__(self):
        parts = []
        if self.status is not None:
            parts.append("HTTP %s" % self.status)
        if self.code:
            parts.append("code %s" % self.code)
        text = "%s error%s: %s" % (self.provider, " (%s)" % ", ".join(parts) if parts else "", self.message)
        if self.hint:
            text += " Hint: %s" % self.hint
        return text


if HAS_REQUESTS:

    class EdgeRetry(Retry):
        """``Retry`` that repeats non-idempotent requests only after HTTP 429 (nothing happened)."""

        def __init__(self, *args, unsafe_methods=("POST",), **kwargs):
            super().__init__(*args, **kwargs)
            self.unsafe_methods = tuple(unsafe_methods)

        def new(self, **kw):
            kw.setdefault("unsafe_methods", self.unsafe_methods)
            return super().new(**kw)

        def get_retry_after(self, response):
            delay = super().get_retry_after(response)
            return None if delay is None else min(delay, RETRY_AFTER_CAP)

        def _is_method_retryable(self, method):
            # Consulted for read errors: a request that reached the server and may have acted
            # (timeout or reset while reading the answer) is repeated only when that is harmless.
            return method.upper() not in self.unsafe_methods

        def is_retry(self, method, status_code, has_retry_after=False):
            if method.upper() in self.unsafe_methods:
                # HTTP 429: the request was refused outright, nothing happened.
                return status_code == 429 and bool(self.total)
            return super().is_retry(method, status_code, has_retry_after)

else:  # pragma: no cover
    EdgeRetry = None


def check_api_url(url, error_class=EdgeApiError):
    """Refuse anything but ``https://`` (plain ``http://`` only to a loopback address)."""
    parts = urlsplit(str(url or ""))
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return str(url).rstrip("/")
    if parts.scheme == "http" and host:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return str(url).rstrip("/")
    raise error_class(
        "API URL %r refused: only https:// URLs are allowed (http:// only to a loopback address)." % str(url),
        code="client/insecure-url",
        hint="Set the api_url option (or its environment variable) to an https:// URL.",
    )


class EdgeHttpClient:
    """Session, timeouts, retries and redaction; subclasses add the provider's calls."""

    error_class = EdgeApiError

    def __init__(self, api_url, secrets=(), connect_timeout=10.0, read_timeout=30.0, retries=3,
                 backoff_factor=1.0, backoff_max=30.0, unsafe_methods=("POST",), user_agent="sophia.platform"):
        if not HAS_REQUESTS:
            raise self.error_class("The Python library 'requests' is required: %s" % REQUESTS_IMPORT_ERROR,
                                   code="client/missing-library")
        if _urllib3_too_old():
            raise self.error_class(_urllib3_too_old(), code="client/missing-library")
        self.api_url = check_api_url(api_url, self.error_class)
        self._secrets = [str(s) for s in secrets if s]
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.request_count = 0
        retry = EdgeRetry(
            total=int(retries), connect=int(retries), read=int(retries), status=int(retries), other=0, redirect=0,
            status_forcelist=RETRY_STATUSES, backoff_factor=float(backoff_factor), backoff_max=float(backoff_max),
            respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
            unsafe_methods=unsafe_methods,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent

    def redact(self, text):
        text = str(text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def send(self, method, url, **kwargs):
        """One request with retries; transport failures become ``error_class``."""
        self.request_count += 1
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.RequestException as exc:
            if _is_timeout(exc):
                raise self.error_class(
                    "No answer from %s within the timeout (connect %g s, read %g s)."
                    % (self.api_url, self.timeout[0], self.timeout[1]),
                    code="client/timeout",
                    hint="Check network access to the API, or raise api_timeout; then check the current "
                         "state before running again, the change may have been made.",
                )
            raise self.error_class("Cannot reach %s: %s" % (self.api_url, self.redact(exc)),
                                   code="client/connection-error",
                                   hint="Check api_url and network access to the API.")


def _is_timeout(exc):
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    cur, seen = exc, 0
    while cur is not None and seen < 5:
        seen += 1
        reason = getattr(cur, "reason", None)
        if reason is not None and "Timeout" in type(reason).__name__:
            return True
        cur = cur.args[0] if getattr(cur, "args", None) and isinstance(cur.args[0], Exception) else None
    return False


def fail_from_error(module, exc, **extra):
    """The one error path of the edge modules: API error -> fail_json with status, code, hint."""
    module.fail_json(msg=str(exc), status=exc.status, code=exc.code, api_message=exc.message, hint=exc.hint, **extra)
