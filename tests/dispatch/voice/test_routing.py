"""The routing rules, table-driven: which call next, which agent next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.voice.identify import national_digits, number_variants
from dispatch.voice.models import AgentState, PhoneCategory
from dispatch.voice.routing import Offer, Seat, WaitingCall, next_agent, plan_offers, queue_order, rank_of

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ready(operator_id: int, since: int) -> Seat:
    return Seat(operator_id, AgentState.ready, at(since))


def test_emergencies_go_first_then_the_longest_waiting() -> None:
    enquiry_old = WaitingCall(1, rank_of(PhoneCategory.enquiry), at(0))
    emergency_new = WaitingCall(2, rank_of(PhoneCategory.emergency), at(30))
    service_mid = WaitingCall(3, rank_of(PhoneCategory.home_service), at(10))
    emergency_old = WaitingCall(4, rank_of(None), at(20))
    assert [c.id for c in queue_order([enquiry_old, emergency_new, service_mid, emergency_old])] == [
        4,
        2,
        1,
        3,
    ]


@pytest.mark.parametrize(
    ("seats", "tried", "expected"),
    [
        ([ready(1, 50), ready(2, 10), ready(3, 30)], set(), 2),  # longest idle first
        ([ready(1, 50), ready(2, 10), ready(3, 30)], {2}, 3),  # skipping who was tried
        ([ready(1, 50), ready(2, 10)], {1, 2}, 2),  # everyone tried: start again, longest idle
        (
            [Seat(1, AgentState.wrap_up, None), Seat(2, AgentState.ringing, at(0))],
            set(),
            None,
        ),  # nobody ready
        ([], set(), None),
    ],
)
def test_the_longest_idle_ready_agent_not_yet_tried(
    seats: list[Seat], tried: set[int], expected: int | None
) -> None:
    call = WaitingCall(9, 0, at(0), tried=frozenset(tried))
    assert next_agent(call, seats) == expected


def test_a_call_joining_an_alarm_goes_to_its_holder_first_even_in_wrap_up() -> None:
    seats = [ready(1, 0), Seat(2, AgentState.wrap_up, None)]
    assert next_agent(WaitingCall(9, 0, at(0), preferred_agent_id=2), seats) == 2
    busy_holder = [ready(1, 0), Seat(2, AgentState.on_call, None)]
    assert next_agent(WaitingCall(9, 0, at(0), preferred_agent_id=2), busy_holder) == 1


def test_one_call_per_agent_in_queue_order() -> None:
    calls = [WaitingCall(1, 1, at(0)), WaitingCall(2, 0, at(5)), WaitingCall(3, 1, at(1))]
    assert plan_offers(calls, [ready(7, 100), ready(8, 50)]) == [Offer(2, 8), Offer(1, 7)]


@pytest.mark.parametrize(
    ("number", "national"),
    [
        ("+8613905910001", "13905910001"),
        ("13905910001", "13905910001"),
        ("8613905910001", "13905910001"),
        ("008613905910001", "13905910001"),
        ("059112345678", "59112345678"),
        ("+86 591 1234 5678", "59112345678"),
        ("+12025550123", "12025550123"),
    ],
)
def test_numbers_compare_without_country_code_or_trunk_prefix(number: str, national: str) -> None:
    assert national_digits(number) == national
    assert "+86" + national in number_variants(number) or number.startswith("+1")
