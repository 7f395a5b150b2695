"""When an elder's last final assessment should be done again (the system proposes it; the bureau or an
agent applies): a year after it, or after something that may have changed their ability since: a fall
alarm, a call the agent closed as taken to hospital (已送医, 已转120), or a care call that found them worse."""

from __future__ import annotations

from datetime import datetime, timedelta

YEARLY = timedelta(days=365)
HOSPITAL_OUTCOMES = ("hospitalised", "ambulance_120")


def reasons(
    *, final_at: datetime, now: datetime, falls: int, hospital_stays: int, declines: int
) -> list[str]:
    """Why a re-assessment is due, as reason codes (none: not due)."""
    found = []
    if now - final_at >= YEARLY:
        found.append("yearly")
    if falls:
        found.append("fall")
    if hospital_stays:
        found.append("hospital")
    if declines:
        found.append("decline")
    return found
