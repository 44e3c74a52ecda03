"""The base URL clients reach the app at: Host checked, X-Forwarded-* only from trusted proxies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.errors import BadRequest
from server.forwarded import TrustedProxies, base_url

PROXY = ("10.0.0.2", 41000)
PROXIED = {"host": "internal:8000", "x-forwarded-proto": "https, http",
           "x-forwarded-host": "b.example, internal", "x-forwarded-prefix": "/api/"}


def scope(client: Any = PROXY, **extra: Any) -> dict[str, Any]:
    return {"scheme": "http", "root_path": "/mounted", "server": ("10.0.0.1", 8000),
            "client": client, **extra}


def test_base_url_from_the_host_header_or_the_server() -> None:
    assert base_url(scope(), {"host": "example.org:8080"}) == "http://example.org:8080/mounted"
    assert base_url(scope(), {}) == "http://10.0.0.1:8000/mounted"
    assert base_url(scope(server=("::1", 8000)), {}) == "http://[::1]:8000/mounted"
    assert base_url(scope(server=None, root_path=""), {}) == "http://localhost"
    assert base_url(scope(scheme="https"), {"host": "[2001:db8::1]:443"}) == (
        "https://[2001:db8::1]:443/mounted")


def test_forwarded_headers_are_read_from_trusted_proxies_only() -> None:
    proxies = TrustedProxies(["10.0.0.0/24"])
    assert base_url(scope(), PROXIED, proxies) == "https://b.example/api/mounted"
    # Anyone else's X-Forwarded-* are not read at all, however they look.
    assert base_url(scope(("203.0.113.9", 5000)), PROXIED, proxies) == (
        "http://internal:8000/mounted")
    assert base_url(scope(), PROXIED) == "http://internal:8000/mounted"  # default: trust none
    assert base_url(scope(None), PROXIED, proxies) == "http://internal:8000/mounted"
    assert base_url(scope(("/run/charter.sock", None)), PROXIED, proxies) == (
        "http://internal:8000/mounted")
    assert base_url(scope(("1.2.3.4", 1)), PROXIED, TrustedProxies(["*"])) == (
        "https://b.example/api/mounted")


def test_trusted_proxies_match_addresses_and_networks() -> None:
    proxies = TrustedProxies([" 192.168.1.5 ", "10.0.0.0/8", "2001:db8::/32", ""])
    assert [proxies.trusts((peer, 1)) for peer in (
        "192.168.1.5", "192.168.1.6", "10.200.0.1", "11.0.0.1", "2001:db8::7", "2001:db9::1",
        "::ffff:10.0.0.1", "localhost")] == [True, False, True, False, True, False, True, False]
    assert proxies.vary == "Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix"
    assert TrustedProxies().vary == "Host"
    assert not TrustedProxies().trusts(("127.0.0.1", 1))


@pytest.mark.parametrize(("entry", "fault"), [
    ("10.0.0.1/8", "10.0.0.1/8 has host bits set"),
    ("localhost", "'localhost' does not appear to be an IPv4 or IPv6 network"),
    ("10.0.0.0/33", "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
])
def test_a_malformed_proxy_entry_is_refused(entry: str, fault: str) -> None:
    with pytest.raises(ValueError) as caught:
        TrustedProxies(["127.0.0.1", entry])
    assert str(caught.value) == (
        f"forwarded_allow_ips: {entry!r} is not an IP address or network ({fault})")


HOST_FAULT = ("expected host[:port], where host is a name of letters, digits and -._~, an IPv4 "
              "address or a bracketed IPv6 address.")


@pytest.mark.parametrize("host", [
    'javascript://x"><script>', "a b", "a/b", "a@b", "a:b:c", "a:", "a:123456", "a:65536",
    "[::1", "[nope]", "[::1]x", "é.example", "a.example, b.example", "x" * 300, "a?b", "a#b",
    "a\\b", "a%41",
])
def test_a_host_that_is_not_a_host_name_is_400(host: str) -> None:
    with pytest.raises(BadRequest) as caught:
        base_url(scope(), {"host": host})
    shown = host if len(host) <= 100 else host[:100] + "..."
    assert caught.value.message == (
        f"Invalid Host header {json.dumps(shown, ensure_ascii=False)}: {HOST_FAULT}")


@pytest.mark.parametrize("host", [
    "localhost", "api.example.com", "api.example.com.", "my_service", "a-b.c~d:0", "1.2.3.4:65535",
    "[::1]", "[2001:db8::1]:8443", "[::ffff:1.2.3.4]", "xn--bcher-kva.example",
])
def test_host_names_pass(host: str) -> None:
    assert base_url(scope(root_path=""), {"host": host}) == f"http://{host}"


def test_a_trusted_proxys_headers_are_checked_too() -> None:
    proxies = TrustedProxies(["10.0.0.0/24"])
    cases = {
        "x-forwarded-host": ('javascript://x"><script>',
                             'Invalid X-Forwarded-Host header "javascript://x\\"><script>": '
                             + HOST_FAULT),
        "x-forwarded-proto": ("javascript",
                              'Invalid X-Forwarded-Proto header "javascript": expected http or '
                              "https."),
        "x-forwarded-prefix": ('/a"><script>',
                               'Invalid X-Forwarded-Prefix header "/a\\"><script>": expected a '
                               "path such as /api, of letters, digits, -._~ and %-escapes."),
    }
    for header, (value, message) in cases.items():
        with pytest.raises(BadRequest) as caught:
            base_url(scope(), {"host": "a", header: value}, proxies)
        assert caught.value.message == message
        # From anyone else, the same header is never read, so never refused.
        assert base_url(scope(("10.0.1.2", 1)), {"host": "a", header: value}, proxies) == (
            "http://a/mounted")
    for prefix in ("api", "/a b", "/a/../<", "/%zz", "/" + "a" * 300):
        with pytest.raises(BadRequest):
            base_url(scope(), {"x-forwarded-prefix": prefix}, proxies)
    assert base_url(scope(root_path=""), {"host": "a", "x-forwarded-proto": "HTTPS",
                                          "x-forwarded-prefix": "/v1/%7Eme/x-y_z.1/"},
                    proxies) == "https://a/v1/%7Eme/x-y_z.1"
