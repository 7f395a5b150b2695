"""How the demo's elders and their watches behave over a day: pure rules, seeded, tested.

Alarm rate and mix. The rate is the one our tender discussion works from (issue 15): about 24 alarms per
elder-year in a telecare service, most of them false or low priority, more in the morning and the
evening. The split below is our assumption, not a published figure; it only has to look like a working
day on the console: accidental button presses dominate, real falls are a small share, geofence exits are
rare (the demo's positions stay near home), and low-battery alarms come from the battery model itself.

Time. The demo's 2,000 elders at 24 alarms per elder-year raise 5.5 alarms an hour, so the demo runs its
alarm clock `dispatch demo --time-scale` times faster than the wall clock (default 4: about one alarm every
three minutes). Batteries run on the wall clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALARMS_PER_ELDER_YEAR = 24.0
HOURS_PER_YEAR = 365 * 24

# What a watch raises, and how often relative to the others (assumed; see the module's docstring).
ALARM_MIX: tuple[tuple[str, float], ...] = (
    ("sos", 0.70),  # mostly pressed by accident or to talk; the agent calls back and closes most as false
    ("fall", 0.15),  # the watch's fall sensor: some real, many a dropped watch
    ("removed", 0.15),  # the watch taken off (and not put back on)
)

# Relative alarm activity by local hour: peaks when elders get up and move about (07-10) and in the early
# evening (17-21), little at night. Mean 1.0 over the day.
_HOURLY = (
    0.25, 0.2, 0.2, 0.2, 0.25, 0.4, 0.8, 1.6, 1.9, 1.7, 1.3, 1.1,
    1.0, 0.9, 0.9, 1.0, 1.2, 1.5, 1.8, 1.7, 1.4, 1.0, 0.6, 0.35,
)  # fmt: skip
HOURLY_WEIGHT = tuple(w * 24 / sum(_HOURLY) for w in _HOURLY)


def alarm_probability(at: datetime, interval_s: float, *, time_scale: float) -> float:
    """The chance that one elder's watch raises an alarm within `interval_s` seconds from `at`."""
    hour = at.astimezone(SHANGHAI).hour
    per_second = ALARMS_PER_ELDER_YEAR / (HOURS_PER_YEAR * 3600) * HOURLY_WEIGHT[hour] * time_scale
    return min(1.0, per_second * interval_s)


def pick_alarm(rng: random.Random) -> str:
    """One alarm kind drawn from the mix."""
    kinds = [kind for kind, _ in ALARM_MIX]
    return rng.choices(kinds, [weight for _, weight in ALARM_MIX])[0]


# Battery: a watch lasts about two days on the wrist; most elders charge it overnight.
DRAIN_PER_HOUR = 2.0  # percent
CHARGE_PER_HOUR = 40.0
LOW_BATTERY = 15  # the watch raises its low-battery alarm when it falls below this
NIGHT = (time(21, 30), time(6, 30))  # when a watch sits on its charger, if its elder remembers


@dataclass
class Battery:
    """A watch's charge: drains on the wrist, charges on the charger at night (unless forgotten)."""

    level: float
    forgets_tonight: bool = False
    warned: bool = False  # the low-battery alarm has been raised since the last charge

    def advance(self, at: datetime, hours: float, rng: random.Random) -> bool:
        """Move the charge on by `hours` ending at `at`; True when it has just fallen below LOW_BATTERY."""
        local = at.astimezone(SHANGHAI).time()
        charging = (local >= NIGHT[0] or local < NIGHT[1]) and not self.forgets_tonight
        if local >= NIGHT[1] and local < time(7):  # each morning: will it be forgotten tonight?
            self.forgets_tonight = rng.random() < 0.05
        if charging:
            self.level = min(100.0, self.level + CHARGE_PER_HOUR * hours)
            self.warned = False
            return False
        self.level = max(0.0, self.level - DRAIN_PER_HOUR * hours)
        if self.level < LOW_BATTERY and not self.warned:
            self.warned = True
            return True
        return False
