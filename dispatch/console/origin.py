"""Which pages may open the console's WebSocket (pure): browsers send `Origin` with every WebSocket
handshake, and a page of another site must not ride on the operator's session cookie. Allowed: the
server's own origin (the Host the request was sent to) and the configured public base URL. Clients that
are not browsers send no Origin; they need a cookie or a ticket anyway."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": "80", "ws": "80", "https": "443", "wss": "443"}


def _host_port(netloc: str, scheme: str | None) -> str:
    """The netloc in lower case, without the scheme's default port (or either default, scheme unknown)."""
    netloc = netloc.lower()
    host, _, port = netloc.rpartition(":")
    if not host or "]" in port:  # no port (or an IPv6 address without one)
        return netloc
    defaults = {DEFAULT_PORTS[scheme]} if scheme in DEFAULT_PORTS else set(DEFAULT_PORTS.values())
    return host if port in defaults else netloc


def origin_allowed(origin: str | None, *, host: str | None, public_base_url: str) -> bool:
    """Whether a handshake with this Origin header may open the console's live feed."""
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (a sandboxed page, a file) or junk
    theirs = _host_port(parts.netloc, parts.scheme)
    if host and theirs == _host_port(host, None):
        return True
    public = urlsplit(public_base_url)
    return parts.scheme == public.scheme and theirs == _host_port(public.netloc, public.scheme)
