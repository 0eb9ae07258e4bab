"""Unit tests of the HTTP plumbing shared by the Namecheap and Vercel clients."""

from __future__ import annotations

import pytest
import urllib3

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import (
    RETRY_AFTER_CAP,
    EdgeApiError,
    EdgeHttpClient,
    EdgeRetry,
    check_api_url,
)


@pytest.mark.parametrize("url", ["https://api.vercel.com", "http://127.0.0.1:8080/x", "http://[::1]:9/",
                                 "http://localhost:1/xml.response"])
def test_https_or_loopback_accepted(url):
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://api.vercel.com", "http://10.0.0.1/", "ftp://127.0.0.1/", "", "https://"])
def test_anything_else_refused(url):
    with pytest.raises(EdgeApiError) as err:
        check_api_url(url)
    assert err.value.code == "client/insecure-url"


def test_retry_after_is_capped():
    retry = EdgeRetry(total=1, status_forcelist=(429,))
    response = urllib3.HTTPResponse(status=429, headers={"Retry-After": "3600"})
    assert retry.get_retry_after(response) == RETRY_AFTER_CAP


def test_unsafe_methods_retried_on_429_only():
    retry = EdgeRetry(total=2, status_forcelist=(429, 503), unsafe_methods=("POST",))
    assert retry.is_retry("POST", 429) and not retry.is_retry("POST", 503)
    assert retry.is_retry("GET", 503) and retry.is_retry("PATCH", 503)
    assert not retry._is_method_retryable("POST") and retry._is_method_retryable("DELETE")
    assert retry.new(total=1).unsafe_methods == ("POST",)


def test_secrets_redacted_from_errors():
    client = EdgeHttpClient("http://127.0.0.1:9", secrets=["tok-123"], retries=0, connect_timeout=0.5)
    with pytest.raises(EdgeApiError) as err:
        client.send("GET", "http://127.0.0.1:9/?key=tok-123")
    assert "tok-123" not in str(err.value) and err.value.code in ("client/connection-error", "client/timeout")
