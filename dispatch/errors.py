"""Domain errors raised by services; `api/errors.py` maps each `code` to an HTTP status.

DomainError
├── NotFound            the thing asked for does not exist
├── Conflict            it exists but the change clashes with its state (duplicates, ...)
│   └── InvalidTransition  a state machine refused the move
├── ValidationFailed    the input is well-formed but not acceptable
├── Unauthenticated     no valid credentials
├── PermissionDenied    credentials are fine, the role is not allowed
├── Gone                it existed but has expired (a job page link past its time)
├── RateLimited         too many attempts
└── PayloadTooLarge     the request body is over its limit
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        detail: object | None = None,
        reason: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        """`message` in English for API readers and the log; `reason` (with `params`) the specific case as a
        code, which the console says in its own language (it falls back to saying what `code` means)."""
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.reason = reason
        self.params = params or {}


class NotFound(DomainError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(DomainError):
    """The change clashes with existing data or state."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A state machine refused the move."""

    code = "invalid_transition"


class ValidationFailed(DomainError):
    """The input is well-formed but not acceptable."""

    code = "validation_error"


class Unauthenticated(DomainError):
    """No valid credentials were given."""

    code = "unauthenticated"


class PermissionDenied(DomainError):
    """The operator's role does not allow this."""

    code = "forbidden"


class Gone(DomainError):
    """It existed, but its time is over."""

    code = "gone"


class RateLimited(DomainError):
    """Too many attempts in too short a time."""

    code = "rate_limited"


class PayloadTooLarge(DomainError):
    """The request body is larger than this endpoint takes."""

    code = "payload_too_large"


class UpstreamFailed(DomainError):
    """A service we depend on (the payment platform) refused or could not be reached; try again later."""

    code = "upstream_failed"
