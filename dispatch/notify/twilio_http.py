"""The `twilio` client's HTTP transport, pointed at another base URL (the fake server in tests and the demo).

`twilio.rest.Client` builds absolute URLs on `https://api.twilio.com` (`https://api.{edge}.{region}.twilio.com`
when an edge or region is configured, also from `TWILIO_EDGE` / `TWILIO_REGION`) and hands them to its
`http_client`; swapping that one object is the library's own seam, so nothing is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

__all__ = ["TWILIO_API_HOST", "BaseUrlHttpClient", "is_twilio_api", "retry_after_seconds"]

TWILIO_API_HOST = "api.twilio.com"


def is_twilio_api(host: str) -> bool:
    """`api.twilio.com` or one of its regional forms (`api.sydney.au1.twilio.com`)."""
    return host == TWILIO_API_HOST or (host.startswith("api.") and host.endswith(".twilio.com"))


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """A response's `Retry-After` in seconds: delta-seconds, or an HTTP date measured from its `Date`."""
    value = (headers or {}).get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    date = (headers or {}).get("Date", "")
    if not value or not date:
        return None
    try:
        return max(0.0, (parsedate_to_datetime(value) - parsedate_to_datetime(date)).total_seconds())
    except (TypeError, ValueError):
        return None


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # its base class is untyped (Any)
    """Sends what the client addresses to Twilio's REST API to `base_url`; `None`: the stock client.

    With a base URL set, proxy settings from the environment are ignored (a fake is local).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        pool_size: int | None = None,
    ) -> None:
        super().__init__(timeout=timeout, max_retries=max_retries)
        if pool_size is not None:  # as many kept connections as threads using the client
            for scheme in ("https://", "http://"):
                self.session.mount(scheme, HTTPAdapter(pool_maxsize=pool_size, max_retries=max_retries or 0))
        self.base_url = base_url.rstrip("/") if base_url else None
        if self.base_url is not None:
            self.session.trust_env = False
        self._last = threading.local()  # the client is shared by the sender's threads

    def last_response(self) -> Response | None:
        """The response this thread received last (the library drops it when it raises)."""
        response: Response | None = getattr(self._last, "response", None)
        return response

    def rewrite(self, url: str) -> str:
        """The URL the request really goes to."""
        parts = urlsplit(url)
        if self.base_url is None or parts.scheme != "https" or not is_twilio_api(parts.netloc):
            return url
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Make the request (the signature is `TwilioHttpClient.request`'s) on the rewritten URL."""
        self._last.response = None
        response: Response = super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._last.response = response
        return response
