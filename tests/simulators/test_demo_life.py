"""The demo's life: alarm rate, daily profile and mix, batteries, and providers that keep a service window."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from simulators.demo_life import (
    ALARM_MIX,
    ALARMS_PER_ELDER_YEAR,
    LOW_BATTERY,
    SHANGHAI,
    Battery,
    alarm_probability,
    pick_alarm,
)
from simulators.provider import Behaviour, OfferSms, SimulatedProviders, window_start

DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)  # a Monday, local midnight


def test_a_year_at_real_speed_holds_the_stated_alarms_per_elder() -> None:
    per_day = sum(alarm_probability(DAY + timedelta(hours=h), 3600, time_scale=1) for h in range(24))
    assert per_day * 365 == pytest.approx(ALARMS_PER_ELDER_YEAR, rel=1e-9)
    assert alarm_probability(DAY, 3600, time_scale=4) == pytest.approx(
        4 * alarm_probability(DAY, 3600, time_scale=1)
    )


def test_mornings_and_evenings_are_busier_than_nights() -> None:
    def at(hour: int) -> float:
        return alarm_probability(DAY + timedelta(hours=hour), 60, time_scale=1)

    assert at(8) > 5 * at(3)
    assert at(18) > 5 * at(3)
    assert at(8) > at(13) < at(18)


def test_the_mix_is_drawn_as_stated() -> None:
    rng = random.Random(1)
    drawn = Counter(pick_alarm(rng) for _ in range(20_000))
    for kind, share in ALARM_MIX:
        assert drawn[kind] / 20_000 == pytest.approx(share, abs=0.015)


def test_a_battery_drains_by_day_warns_once_and_charges_at_night() -> None:
    rng = random.Random(3)
    battery = Battery(level=20.0)
    noon = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    warnings = [battery.advance(noon + timedelta(minutes=m), 1 / 60, rng) for m in range(1, 241)]
    assert battery.level == pytest.approx(12.0)
    assert warnings.count(True) == 1
    minutes_to_low = warnings.index(True) + 1  # 20% less 2% an hour is 15% after 2.5 hours
    assert minutes_to_low == pytest.approx(150, abs=1)
    night = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert battery.advance(night, 1.0, rng) is False
    assert battery.level == pytest.approx(52.0)
    assert (battery.warned, battery.level > LOW_BATTERY) == (False, True)


def test_a_forgotten_charger_leaves_the_battery_draining() -> None:
    battery = Battery(level=50.0, forgets_tonight=True)
    battery.advance(datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 1.0, random.Random(1))
    assert battery.level == pytest.approx(48.0)


def test_an_offer_s_window_is_read_in_shanghai_time_across_the_new_year() -> None:
    now = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    assert window_start("时间：12-31 09:00-11:00。回复", now) == datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)
    assert window_start("time 01-02 14:00-16:00", now) == datetime(2027, 1, 2, 14, 0, tzinfo=SHANGHAI)
    assert window_start("时间：立即。", now) is None
    assert window_start("13-45 09:00-11:00", now) is None


def test_a_provider_keeping_windows_arrives_after_the_window_opens() -> None:
    opens = datetime.now(UTC) + timedelta(hours=2)
    keeps = Behaviour("accept", answer_after_s=10, arrive_after_s=300, done_after_s=1800, keeps_window=True)
    scheduled = OfferSms("4821", "zh", opens)
    delay = SimulatedProviders._arrival_delay(scheduled, keeps)
    assert delay == pytest.approx(7200 - 10 + 300, abs=2)
    assert SimulatedProviders._arrival_delay(OfferSms("4821", "zh"), keeps) == 300  # an emergency: now
    hurried = Behaviour("accept", answer_after_s=10, arrive_after_s=300)
    assert SimulatedProviders._arrival_delay(scheduled, hurried) == 300
