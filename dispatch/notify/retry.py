"""When a text message the gateway could not take is tried again, and when it is given up (pure).

Each purpose has a time budget counted from when the message was queued: an offer nobody can receive is
worth little after a minute (the next provider should be asked), a care-visit request is still worth
sending an hour later. Within the budget the delays grow exponentially with jitter (so a gateway that
comes back is not hit by every sender at once), never shorter than the gateway's own `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatch.notify.models import SmsPurpose

__all__ = ["DEFAULT_BUDGET_SECONDS", "RetryPolicy", "policy_with"]

# Seconds from queuing within which a message is retried (DISPATCH_SMS_RETRY_BUDGETS overrides them).
DEFAULT_BUDGET_SECONDS: dict[SmsPurpose, int] = {
    SmsPurpose.offer: 60,  # an emergency offer times out after two minutes: ask the next provider instead
    SmsPurpose.handoff: 300,  # the 120 centre also hears the summary on the phone
    SmsPurpose.help: 300,
    SmsPurpose.contact_alert: 600,  # the alert chain moves on after a step; a late alert still informs
    SmsPurpose.contact_notice: 600,
    SmsPurpose.confirm: 900,  # the provider who accepted is waiting for the address
    SmsPurpose.withdraw: 900,
    SmsPurpose.care_visit: 3600,
    SmsPurpose.complaint_reply: 86400,
    SmsPurpose.service_code: 1800,  # the provider is at the door and needs it before leaving
    SmsPurpose.order_confirmed: 3600,  # the elder told who comes and what it costs; useful for hours
    SmsPurpose.payment_link: 1800,  # the link lives as long as the payment (30 minutes by default)
    SmsPurpose.reply: 0,  # inbound: never sent
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Budgets per purpose and the shape of the backoff."""

    budgets: Mapping[SmsPurpose, int] = field(default_factory=lambda: dict(DEFAULT_BUDGET_SECONDS))
    first_delay: float = 2.0
    max_delay: float = 120.0

    def budget(self, purpose: SmsPurpose) -> timedelta:
        """How long after queuing a message of this purpose may still be tried."""
        return timedelta(seconds=self.budgets.get(purpose, 0))

    def backoff(self, attempts: int, jitter: float) -> float:
        """Seconds to wait after the `attempts`-th failure: between half and all of first·2^(n-1), capped;
        `jitter` in [0, 1) picks where."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** max(attempts - 1, 0))
        return ceiling * (0.5 + jitter / 2)

    def next_attempt(
        self,
        *,
        purpose: SmsPurpose,
        queued_at: datetime,
        attempts: int,
        now: datetime,
        retry_after: float | None,
        jitter: float,
    ) -> datetime | None:
        """When to try again after a temporary failure; None when that would be past the budget."""
        delay = max(self.backoff(attempts, jitter), retry_after or 0.0)
        at = now + timedelta(seconds=delay)
        return at if at <= queued_at + self.budget(purpose) else None


def policy_with(overrides: Mapping[str, int]) -> RetryPolicy:
    """The default policy with some purposes' budgets replaced (ValueError for an unknown purpose)."""
    budgets = dict(DEFAULT_BUDGET_SECONDS)
    for name, seconds in overrides.items():
        try:
            purpose = SmsPurpose(name)
        except ValueError:
            raise ValueError(f"sms_retry_budgets: unknown purpose {name!r}") from None
        if seconds < 0:
            raise ValueError(f"sms_retry_budgets: {name} must be >= 0 seconds")
        budgets[purpose] = seconds
    return RetryPolicy(budgets=budgets)
