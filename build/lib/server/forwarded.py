"""Where clients reach the app: the Host header, checked, and X-Forwarded-* from trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from server.errors import BadRequest, show

# RFC 3986 `host [":" port]`: an IPv4 address or a reg-name narrowed to its unreserved characters
# (letters, digits, `-._~`: what DNS names and container names use), or a bracketed IPv6 address.
# Neither pattern can backtrack: `:` and `]` end the name.
_HOST = re.compile(r"(?P<name>[A-Za-z0-9._~-]+|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?")
_PREFIX = re.compile(r"(?:/(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*)*")
_MAX_HOST = 261  # a DNS name (253) and ":65535"
_MAX_PREFIX = 256
_SCHEMES = frozenset({"http", "https"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The peers whose X-Forwarded-* headers are believed (`forwarded_allow_ips`), parsed once.

    Entries are IP addresses or networks, or `*` for any peer, as in uvicorn's
    `forwarded_allow_ips`; none (the default) believes no one. A malformed entry is refused here,
    at start-up, rather than silently trusting nothing.

    >>> proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    >>> proxies.trusts(("10.1.2.3", 5000)), proxies.trusts(("::1", 80)), proxies.trusts(None)
    (True, True, False)
    >>> TrustedProxies(["10.0.0.1/8"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    ValueError: forwarded_allow_ips: '10.0.0.1/8' is not an IP address or network (...)
    """

    __slots__ = ("_any", "_networks", "vary")

    def __init__(self, entries: Iterable[str] = ()) -> None:
        entries = [entry.strip() for entry in entries if entry.strip()]
        self._any = "*" in entries
        networks: list[Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError as exc:
                raise ValueError(f"forwarded_allow_ips: {entry!r} is not an IP address or "
                                 f"network ({exc})") from None
        self._networks = tuple(networks)
        # What a published document's `servers` depends on, for caches in front.
        self.vary = ("Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix"
                     if self._any or self._networks else "Host")

    def trusts(self, client: Any) -> bool:
        """Whether the request's peer, ASGI's `scope["client"]` (`(host, port)` or None), is one."""
        if self._any:
            return True
        if not self._networks or not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a Unix socket's peer, say
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        return any(address in network for network in self._networks)


NO_PROXIES = TrustedProxies()


def base_url(scope: Mapping[str, Any], headers: Mapping[str, str],
             proxies: TrustedProxies = NO_PROXIES) -> str:
    """The URL clients reach this app at: scheme, Host, and the trusted proxies' X-Forwarded-*.

    Raises `BadRequest` for a Host that is not `host[:port]`, and, from a trusted proxy, for an
    X-Forwarded-Host likewise, an X-Forwarded-Proto other than http or https, or an
    X-Forwarded-Prefix that is not a path of unreserved characters. Untrusted peers' X-Forwarded-*
    headers are not read at all.

    >>> scope = {"scheme": "http", "root_path": "", "client": ("10.0.0.2", 4000)}
    >>> headers = {"host": "internal:8000", "x-forwarded-host": "api.example",
    ...            "x-forwarded-proto": "https", "x-forwarded-prefix": "/v1"}
    >>> base_url(scope, headers), base_url(scope, headers, TrustedProxies(["10.0.0.0/24"]))
    ('http://internal:8000', 'https://api.example/v1')
    """
    scheme = str(scope.get("scheme") or "http")
    host = _host(headers.get("host", ""), "Host")
    prefix = ""
    if proxies.trusts(scope.get("client")):
        forwarded_host = _first(headers.get("x-forwarded-host"))
        if forwarded_host:
            host = _host(forwarded_host, "X-Forwarded-Host")
        forwarded_proto = _first(headers.get("x-forwarded-proto")).lower()
        if forwarded_proto:
            if forwarded_proto not in _SCHEMES:
                raise BadRequest(f"Invalid X-Forwarded-Proto header {_shown(forwarded_proto)}: "
                                 "expected http or https.")
            scheme = forwarded_proto
        prefix = _first(headers.get("x-forwarded-prefix"))
        if len(prefix) > _MAX_PREFIX or not _PREFIX.fullmatch(prefix):
            raise BadRequest(f"Invalid X-Forwarded-Prefix header {_shown(prefix)}: expected a "
                             "path such as /api, of letters, digits, -._~ and %-escapes.")
        prefix = prefix.rstrip("/")
    if not host:
        server = scope.get("server") or ("localhost", None)
        name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
        host = name if not server[1] else f"{name}:{server[1]}"
    root = str(scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host}{prefix}{root}"


def _host(value: str, header: str) -> str:
    """`value` if it is `host[:port]` or empty; else `BadRequest` naming the header."""
    if not value:
        return value
    match = _HOST.fullmatch(value) if len(value) <= _MAX_HOST else None
    if match is not None and (match["port"] is None or int(match["port"]) <= 65535):
        if match["ipv6"] is None:
            return value
        try:
            ipaddress.IPv6Address(match["ipv6"])
            return value
        except ValueError:
            pass
    raise BadRequest(f"Invalid {header} header {_shown(value)}: expected host[:port], where "
                     "host is a name of letters, digits and -._~, an IPv4 address or a "
                     "bracketed IPv6 address.")


def _first(value: str | None) -> str:
    """The first of a proxy header's comma-separated values: the one the client-facing proxy set."""
    return value.split(",", 1)[0].strip() if value else ""


def _shown(value: str) -> str:
    return show(value if len(value) <= 100 else value[:100] + "...")
