"""Why a job found nobody or an order went back to the agents, as a code with parameters (the console says
it in its own language) and as an English sentence (for the log and the API's readers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)


def no_eligible_provider(considered: int) -> Reason:
    return Reason(
        "no_eligible_provider",
        f"no eligible provider ({considered} considered and excluded)",
        {"considered": considered},
    )


def nobody_accepted_in_time(asked: int) -> Reason:
    return Reason(
        "nobody_accepted_in_time", f"none of the {asked} provider(s) asked accepted in time", {"asked": asked}
    )


def not_accepted_before_window(minutes: int) -> Reason:
    return Reason(
        "not_accepted_before_window", f"not accepted {minutes} min before the window", {"minutes": minutes}
    )


NOBODY_ACCEPTED = Reason("nobody_accepted", "nobody accepted")
