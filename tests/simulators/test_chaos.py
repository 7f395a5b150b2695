"""The chaos harness's own parts: the fault plan, the alarm bookkeeping, the invariant SQL over a hand-made
database (PostgreSQL: the harness runs on it), the report and the TCP proxy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.calls.models import Call, CallEntry, CallSource
from dispatch.calls.rules import CallCategory
from dispatch.calls.states import CallState
from dispatch.catalog import ServiceType
from dispatch.db.session import create_engine, create_session_factory
from dispatch.demo.seed import generate_city
from dispatch.ingest.events import EventType
from dispatch.ingest.models import DeviceEvent
from dispatch.notify.models import SmsDirection, SmsMessage, SmsPurpose, SmsStatus
from dispatch.offers.models import Job, JobState, Offer, OfferState
from dispatch.orders.models import OrderSource, OrderState, PaymentMethod, ServiceOrder
from simulators.chaos import invariants
from simulators.chaos.invariants import AlarmRow, FaultWindow, Invariant, Violation
from simulators.chaos.proxy import Proxy
from simulators.chaos.report import Found, Summary, render
from simulators.chaos.schedule import DURATIONS, FaultKind, plan
from simulators.chaos.traffic import AckedAlarm
from tests.conftest import _empty_all_tables, pg_settings

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
_keys = count(1)


# ---------------------------------------------------------------- the fault plan


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    first = plan(seed=7, cycles=40, processes=3)
    assert first == plan(seed=7, cycles=40, processes=3)
    assert first != plan(seed=8, cycles=40, processes=3)


def test_every_kind_comes_once_before_any_comes_twice() -> None:
    faults = plan(seed=1, cycles=30, processes=2)
    assert {f.kind for f in faults[: len(FaultKind)]} == set(FaultKind)
    assert [f.cycle for f in faults] == list(range(30))


def test_durations_offsets_and_targets_stay_in_their_ranges() -> None:
    for fault in plan(seed=3, cycles=200, processes=2):
        low, high = DURATIONS[fault.kind]
        assert low <= fault.duration_s <= high
        assert 0.3 <= fault.at_s <= 1.5
        assert fault.target in (0, 1)


def test_only_draws_the_kinds_asked_for() -> None:
    kinds = {FaultKind.redis_lost, FaultKind.kill_server}
    faults = plan(seed=4, cycles=10, processes=2, only=sorted(kinds))
    assert {f.kind for f in faults} == kinds


def test_a_nonsensical_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        plan(seed=1, cycles=3, processes=0)


# ---------------------------------------------------------------- alarm bookkeeping


def test_an_alarm_gets_its_grace_after_the_end_of_a_fault_it_met() -> None:
    windows = [FaultWindow("redis_lost", 100.0, 104.0), FaultWindow("pg_cut", 130.0, 133.0)]
    assert invariants.alarm_deadline(90.0, windows, 10.0) == 114.0  # the fault began before 100 s
    assert invariants.alarm_deadline(102.0, windows, 10.0) == 114.0  # acknowledged during it
    assert invariants.alarm_deadline(110.0, windows, 10.0) == 120.0  # after it: its own grace
    assert invariants.alarm_deadline(125.0, windows, 10.0) == 143.0  # the next fault came in its grace
    assert invariants.fault_met(99.0, windows) is None
    assert invariants.fault_met(120.0, windows) == "redis_lost"
    assert invariants.fault_met(131.0, windows) == "pg_cut"


def _acked(imei: str, kind: str = "sos", at: float = 1000.0) -> AckedAlarm:
    return AckedAlarm(imei, kind, T0, at, 0, "watch")


def test_alarms_are_timed_pending_or_violations() -> None:
    on_call, pending, lost, unprocessed = _acked("a"), _acked("b"), _acked("c"), _acked("d")
    rows = {
        ("a", "sos", T0): [AlarmRow(1, datetime.fromtimestamp(1001.5, UTC))],
        ("b", "sos", T0): [AlarmRow(2, None)],
        ("d", "sos", T0): [AlarmRow(4, None)],
    }

    def deadline(alarm: AckedAlarm) -> float:
        return 1100.0 if alarm.imei == "b" else 1010.0

    outcome = invariants.alarm_outcomes(
        [on_call, pending, lost, unprocessed], rows, now=1020.0, deadline=deadline
    )
    assert outcome.latencies == [(on_call, 1.5)]
    assert outcome.pending == [pending]
    assert [(a.imei, v.invariant, v.detail) for a, v in outcome.violations] == [
        ("c", Invariant.alarm_is_call, "not stored 20 s after its ack"),
        ("d", Invariant.alarm_is_call, "event 4 on no call 20 s after its ack"),
    ]


def test_the_report_lists_violations_under_their_fault_and_invariant() -> None:
    summary = Summary(seed=1, cycles=2, processes=2, elapsed_s=12.0)
    summary.faults.update({FaultKind.redis_lost: 1, FaultKind.none: 1})
    summary.acked.update({FaultKind.redis_lost: 4})
    summary.latencies[FaultKind.redis_lost] += [0.5, 12.25]
    violation = Violation(Invariant.alarm_is_call, "860001 sos", "event 9 on no call 30 s after its ack")
    summary.found.append(Found(violation, 1, FaultKind.redis_lost))
    table = render(summary)
    assert "redis_lost                  1             4     12.25 s     12.25 s           1" in table
    assert "acknowledged alarm is a call                       1  (under redis_lost 1)" in table
    assert "cycle 1 (redis_lost): 860001 sos: event 9 on no call 30 s after its ack" in table
    assert table.endswith("result: 1 violation(s)")


# ---------------------------------------------------------------- the invariant SQL


@pytest.fixture
async def pg_engine(pg_schema: str) -> AsyncIterator[AsyncEngine]:
    settings = pg_settings(pg_schema)
    await _empty_all_tables(settings)
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _call(elder_id: int, state: str, since: float, *, open_: bool = False) -> Call:
    """A device-alarm call in `state` since `since` seconds after T0."""
    return Call(
        elder_id=elder_id,
        elder_name="老人",
        open_elder_id=elder_id if open_ else None,
        source=CallSource.device_alarm,
        priority=1,
        category=CallCategory.sos,
        state=CallState(state),
        opened_at=_at(0),
        state_since=_at(since),
        updated_at=_at(since),
    )


def _job(elder_id: int, state: JobState, *, call: Call | None = None, order: ServiceOrder | None = None,
         service_type: str = "emergency_rescue", updated: float = 0) -> Job:  # fmt: skip
    return Job(
        call_id=call.id if call else None,
        order_id=order.id if order else None,
        elder_id=elder_id,
        service_type=ServiceType(service_type),
        lon=119.3,
        lat=26.08,
        address="测试路1号",
        window="立即",
        parallel=2,
        timeout_seconds=120,
        state=state,
        created_by="test",
        created_at=_at(0),
        updated_at=_at(updated),
    )


def _order(elder_id: int, state: OrderState, history: list[dict[str, Any]] | None = None) -> ServiceOrder:
    return ServiceOrder(
        elder_id=elder_id,
        elder_name="老人",
        service_type=ServiceType.meal_assistance,
        source=OrderSource.phone,
        state=state,
        window_start=_at(3600),
        window_end=_at(7200),
        address="测试路1号",
        lon=119.3,
        lat=26.08,
        payment_method=PaymentMethod.self_pay,
        history=history or [],
        created_by="test",
        created_at=_at(0),
        updated_at=_at(0),
    )


def _sms(status: SmsStatus, *, at: float = 0, purpose: SmsPurpose = SmsPurpose.contact_alert,
         error_code: str | None = None, offer: Offer | None = None) -> SmsMessage:  # fmt: skip
    return SmsMessage(
        direction=SmsDirection.outbound,
        to_number="+8613900000001",
        body="…",
        purpose=purpose,
        status=status,
        error_code=error_code,
        offer_id=offer.id if offer else None,
        created_at=_at(at),
        updated_at=_at(at),
    )


def _event(device_id: int, elder_id: int, kind: str, device_time: datetime) -> DeviceEvent:
    return DeviceEvent(
        device_id=device_id,
        elder_id=elder_id,
        type=EventType(kind),
        device_time=device_time,
        received_at=device_time,
        data={},
        dedupe_key=f"key-{next(_keys)}",
    )


async def _add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def _dataset(session: AsyncSession) -> dict[str, Any]:
    """Rows breaking each invariant once, next to rows that keep it; returns the ids the keys name."""
    elders, providers = generate_city(seed=5, elder_count=6, now=T0)
    await _add(session, *elders, *providers)
    e = [elder.id for elder in elders]
    provider = providers[0]
    # Two open calls for elder 0 (one open call each for the others is fine).
    twice_a, twice_b, fine = (
        _call(e[0], "new", 0, open_=True),
        _call(e[0], "acknowledged", 0),
        _call(e[1], "new", 0, open_=True),
    )
    # A call with two live rescue jobs; a call with one live job and an old completed one.
    double, single = _call(e[2], "dispatched", 0, open_=True), _call(e[3], "dispatched", 0, open_=True)
    # Closed long ago with a job still assigned; closed a moment ago (still within the grace) with one.
    ended, just_ended = _call(e[4], "closed", 10), _call(e[5], "closed", 590)
    await _add(session, twice_a, twice_b, fine, double, single, ended, just_ended)
    cancelled_order = _order(e[1], OrderState.cancelled, [{"at": _at(100).isoformat(), "kind": "cancelled"}])
    double_order, fine_order = _order(e[2], OrderState.scheduled), _order(e[3], OrderState.scheduled)
    await _add(session, cancelled_order, double_order, fine_order)
    await _add(
        session,
        _job(e[2], JobState.offering, call=double),
        _job(e[2], JobState.assigned, call=double),
        _job(e[3], JobState.assigned, call=single),
        _job(e[3], JobState.completed, call=single),
        _job(e[3], JobState.offering, call=single, service_type="nursing"),
        _job(e[2], JobState.offering, order=double_order, service_type="meal_assistance"),
        _job(e[2], JobState.assigned, order=double_order, service_type="meal_assistance"),
        _job(e[3], JobState.assigned, order=fine_order, service_type="meal_assistance"),
    )
    late_job, early_job = (
        _job(e[4], JobState.assigned, call=ended),
        _job(e[5], JobState.assigned, call=just_ended),
    )
    order_job = _job(e[1], JobState.assigned, order=cancelled_order, service_type="meal_assistance")
    cancelled_job = _job(e[3], JobState.cancelled, call=single, service_type="repair", updated=200)
    await _add(session, late_job, early_job, order_job, cancelled_job)
    await _add(
        session,
        CallEntry(
            call_id=ended.id,
            at=_at(10),
            kind="state",
            username="agent1",
            detail={"from": "resolved", "to": "closed"},
        ),
        CallEntry(
            call_id=just_ended.id, at=_at(590), kind="state", username="agent1", detail={"to": "closed"}
        ),
        CallEntry(call_id=single.id, at=_at(5), kind="state", username="agent1", detail={"to": "dispatched"}),
    )
    offers = [
        Offer(job_id=job.id, provider_id=provider.id, provider_name=provider.name, provider_phone=provider.phone,
              rank=0, distance_m=100, code="1234", state=OfferState.accepted, offered_at=_at(0), updated_at=_at(0))
        for job in (late_job, early_job, order_job, cancelled_job)
    ]  # fmt: skip
    await _add(session, *offers)
    late_call_sms = _sms(SmsStatus.delivered, at=20, purpose=SmsPurpose.confirm, offer=offers[0])
    await _add(
        session,
        late_call_sms,  # confirmation 10 s after its call closed: a leak
        _sms(SmsStatus.delivered, at=5, purpose=SmsPurpose.confirm, offer=offers[0]),  # before: fine
        _sms(SmsStatus.delivered, at=0, purpose=SmsPurpose.confirm, offer=offers[1]),  # its call still open
        late_order_sms := _sms(SmsStatus.delivered, at=150, purpose=SmsPurpose.confirm, offer=offers[2]),
        late_job_sms := _sms(SmsStatus.delivered, at=201, purpose=SmsPurpose.confirm, offer=offers[3]),
        _sms(SmsStatus.delivered, at=199, purpose=SmsPurpose.confirm, offer=offers[3]),  # before the cancel
        stuck := _sms(SmsStatus.sent),  # never got a final status
        no_reason := _sms(SmsStatus.failed),  # failed without saying why
        _sms(SmsStatus.failed, error_code="30003"),
        _sms(SmsStatus.undelivered, error_code="30005"),
        _sms(SmsStatus.queued, at=595),  # young: still has time
    )
    device = elders[0].devices[0]
    await _add(
        session,
        _event(device.id, e[0], "sos", _at(1)),
        _event(device.id, e[0], "sos", _at(1)),  # the same alarm stored twice
        _event(device.id, e[0], "fall", _at(1)),  # another kind in the same frame: fine
        _event(device.id, e[0], "sos", _at(2)),
    )
    return {
        "elder": e[0], "double": double.id, "double_order": double_order.id, "ended_job": late_job.id,
        "order_job": order_job.id, "late_call_sms": late_call_sms.id, "late_order_sms": late_order_sms.id,
        "late_job_sms": late_job_sms.id, "stuck": stuck.id, "no_reason": no_reason.id,
        "imei": device.imei,
    }  # fmt: skip


async def test_the_invariant_sql_flags_each_violation_and_nothing_else(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        # The schema now refuses two live jobs of one call or order; the harness still checks, so the
        # dataset is made without those indexes, in a transaction that is rolled back.
        await connection.execute(text("DROP INDEX uq_job_live_call_service"))
        await connection.execute(text("DROP INDEX uq_job_live_order"))
        session = AsyncSession(bind=connection, expire_on_commit=False)
        ids = await _dataset(session)
        await session.flush()
        found = await invariants.database_violations(connection, cutoff=_at(300))
        await connection.rollback()
    assert sorted((v.invariant, v.key) for v in found) == sorted(
        [
            (Invariant.one_open_call, f"elder {ids['elder']}"),
            (Invariant.one_live_job, f"call {ids['double']} emergency_rescue"),
            (Invariant.one_live_job, f"order {ids['double_order']}"),
            (Invariant.job_outlives, f"job {ids['ended_job']}"),
            (Invariant.job_outlives, f"job {ids['order_job']}"),
            (Invariant.late_details, f"sms {ids['late_call_sms']}"),
            (Invariant.late_details, f"sms {ids['late_order_sms']}"),
            (Invariant.late_details, f"sms {ids['late_job_sms']}"),
            (Invariant.sms_final, f"sms {ids['stuck']}"),
            (Invariant.sms_final, f"sms {ids['no_reason']}"),
            (Invariant.duplicate_event, f"{ids['imei']} sos {_at(1).isoformat()}"),
        ]
    )
    late = next(v for v in found if v.key == f"sms {ids['late_call_sms']}")
    assert late.detail.endswith("details 10.0 s after it ended")


async def test_alarm_rows_tell_which_event_reached_a_call_and_when(pg_engine: AsyncEngine) -> None:
    async with create_session_factory(pg_engine)() as session:
        elders, _ = generate_city(seed=6, elder_count=1, now=T0)
        await _add(session, *elders)
        elder, device = elders[0], elders[0].devices[0]
        on_call, off_call = (
            _event(device.id, elder.id, "sos", _at(1)),
            _event(device.id, elder.id, "fall", _at(2)),
        )
        call = _call(elder.id, "new", 0, open_=True)
        await _add(session, on_call, off_call, call)
        await _add(
            session,
            CallEntry(
                call_id=call.id, at=_at(3), kind="alarm", username="system", device_event_id=on_call.id
            ),
        )
        await session.commit()
    async with pg_engine.connect() as connection:
        rows = await invariants.alarm_rows(connection)
    assert rows == {
        (device.imei, "sos", _at(1)): [AlarmRow(on_call.id, _at(3))],
        (device.imei, "fall", _at(2)): [AlarmRow(off_call.id, None)],
    }


# ---------------------------------------------------------------- the proxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _dropped(reader: asyncio.StreamReader) -> bool:
    """The connection ends (closed or reset) without another byte."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


async def test_the_proxy_forwards_stalls_and_cuts() -> None:
    upstream = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    proxy = Proxy("echo", lambda: [("127.0.0.1", port)])
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", await proxy.start())
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"

        proxy.stall(60)
        writer.write(b"held")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(4), 0.3)

        proxy.cut(60)  # drops the connection, and refuses new ones
        assert await _dropped(reader)
        again, _ = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await _dropped(again)
    finally:
        await proxy.stop()
        upstream.close()
        await upstream.wait_closed()


async def test_an_sms_held_up_by_a_fault_it_met_is_not_flagged_before_its_time(
    pg_engine: AsyncEngine,
) -> None:
    """A text queued at 250 s that met a carrier fault ending at 290 s has until 330 s (settle 40 s)."""
    windows = [FaultWindow("twilio_429", _at(260).timestamp(), _at(290).timestamp())]

    def due_at(now: float) -> Callable[[datetime], bool]:
        return lambda created: (
            invariants.alarm_deadline(created.timestamp(), windows, 40.0) <= _at(now).timestamp()
        )

    async with pg_engine.connect() as connection:
        session = AsyncSession(bind=connection, expire_on_commit=False)
        await _add(session, _sms(SmsStatus.pending, at=250))
        await session.flush()
        cutoff = _at(300)
        early = await invariants.database_violations(connection, cutoff=cutoff, sms_due=due_at(320.0))
        late = await invariants.database_violations(connection, cutoff=cutoff, sms_due=due_at(331.0))
        await connection.rollback()
    assert [v.invariant for v in early] == []
    assert [v.invariant for v in late] == [Invariant.sms_final]
