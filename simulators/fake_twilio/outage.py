"""A failure drill: for a while the REST API answers 429 or 5xx, as Twilio does when it sheds load."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simulators.fake_twilio.wire import TwilioError

# HTTP status -> (Twilio's error code, its message).
OUTAGE_ERRORS: dict[int, tuple[int, str]] = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}
MAX_OUTAGE_S = 3600.0


@dataclass(slots=True)
class Outage:
    """While active, every REST request is refused with `status`; `refused` counts them."""

    clock: Callable[[], float] = field(default=time.monotonic)
    status: int = 0
    until: float = 0.0
    refused: int = 0

    def start(self, status: int, seconds: float) -> None:
        """Refuse requests with `status` for `seconds` (0 ends an outage); ValueError for bad values."""
        if status not in OUTAGE_ERRORS:
            raise ValueError(f"status must be one of {sorted(OUTAGE_ERRORS)}")
        if not 0 <= seconds <= MAX_OUTAGE_S:
            raise ValueError(f"seconds must be between 0 and {MAX_OUTAGE_S:g}")
        self.status, self.until = status, self.clock() + seconds

    def remaining(self) -> float:
        """Seconds left (0 when none is active)."""
        return max(0.0, self.until - self.clock())

    def refusal(self) -> TwilioError | None:
        """The error to answer with now, counted; None when the API is up."""
        if self.remaining() <= 0:
            return None
        self.refused += 1
        code, message = OUTAGE_ERRORS[self.status]
        return TwilioError(self.status, code, message)

    def as_json(self) -> dict[str, object]:
        """What `GET /_fake/outage` shows."""
        remaining = self.remaining()
        return {
            "status": self.status if remaining else None,
            "remaining_s": round(remaining, 3),
            "refused": self.refused,
        }
