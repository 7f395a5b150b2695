"""The invariants, checked from the database (SQL on PostgreSQL) and the simulators' record of what was
acknowledged. Each violation has a key naming the rows at fault, so one fault is counted once however
many checks see it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BindParameter, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.calls.states import OPEN_STATES
from dispatch.offers.models import JobState
from dispatch.orders.models import OPEN_ORDER_STATES
from simulators.chaos.traffic import AckedAlarm


class Invariant(StrEnum):
    """What must hold whatever failed."""

    alarm_is_call = "acknowledged alarm is a call"
    one_open_call = "one open call per elder"
    one_live_job = "one live job per call and type, per order"
    job_outlives = "no live job of an ended call or order"
    late_details = "no elder's details for an ended job"
    sms_final = "SMS delivered, or failed with a reason"
    duplicate_event = "no duplicate event rows"
    server_exit = "servers stay up"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: `key` identifies the rows (stable across checks), `detail` says what is wrong."""

    invariant: Invariant
    key: str
    detail: str
    # An SMS's Twilio SID (None when never stored), number and body: to ask the carrier (the fake) about it.
    sms: tuple[str | None, str, str] | None = None


# The state lists, bound as expanding parameters (taken from the code, so they follow its changes).
STATE_LISTS: tuple[BindParameter[list[str]], ...] = (
    bindparam("open_calls", value=sorted(s.value for s in OPEN_STATES), expanding=True),
    bindparam("open_orders", value=sorted(s.value for s in OPEN_ORDER_STATES), expanding=True),
    bindparam("live_jobs", value=[JobState.offering.value, JobState.assigned.value], expanding=True),
    bindparam("alarms", value=["sos", "fall"], expanding=True),
)


def _sql(statement: str) -> TextClause:
    """A statement using some of the state lists."""
    return text(statement).bindparams(*(p for p in STATE_LISTS if f":{p.key}" in statement))


TWO_OPEN_CALLS = _sql(
    "SELECT elder_id, string_agg(id::text, ',' ORDER BY id) FROM call WHERE state IN :open_calls "
    "GROUP BY elder_id HAVING count(*) > 1"
)
TWO_LIVE_JOBS_OF_CALL = _sql(
    "SELECT call_id, service_type, string_agg(id::text, ',' ORDER BY id) FROM job "
    "WHERE call_id IS NOT NULL AND state IN :live_jobs GROUP BY call_id, service_type HAVING count(*) > 1"
)
TWO_LIVE_JOBS_OF_ORDER = _sql(
    "SELECT order_id, string_agg(id::text, ',' ORDER BY id) FROM job "
    "WHERE order_id IS NOT NULL AND state IN :live_jobs GROUP BY order_id HAVING count(*) > 1"
)
# A live job whose call or order ended before the cutoff (the server had the grace time to cancel it).
LIVE_JOB_OF_ENDED = _sql(
    """
    SELECT j.id, j.state, c.id, c.state, o.id, o.state
    FROM job j
    LEFT JOIN call c ON c.id = j.call_id
    LEFT JOIN service_order o ON o.id = j.order_id
    WHERE j.state IN :live_jobs AND (
        (c.id IS NOT NULL AND c.state NOT IN :open_calls AND c.state_since < :cutoff)
        OR (o.id IS NOT NULL AND o.state NOT IN :open_orders AND o.updated_at < :cutoff))
    """
)
# When a job stopped being live. A cancelled job: when it was cancelled (the server cancels a job in the
# transaction that ends its call or order, after taking the job's lock, so a confirmation committed before
# that is no leak even if the call's own clock reading is a moment earlier). Any other job: when its call
# left the open states or its order was cancelled or failed; a confirmation after that is a leak.
LATE_CONFIRMATIONS = _sql(
    """
    WITH job_end AS (
        SELECT j.id AS job_id, CASE WHEN j.state = 'cancelled' THEN j.updated_at ELSE LEAST(
            (SELECT min(e.at) FROM call_entry e
             WHERE e.call_id = j.call_id AND e.kind = 'state' AND e.detail->>'to' NOT IN :open_calls),
            (SELECT min((h->>'at')::timestamptz) FROM service_order so
             CROSS JOIN LATERAL jsonb_array_elements(so.history) h
             WHERE so.id = j.order_id AND h->>'kind' IN ('cancelled', 'failed'))
        ) END AS ended_at
        FROM job j
    )
    SELECT s.id, o.job_id, s.created_at, job_end.ended_at
    FROM sms_message s
    JOIN offer o ON o.id = s.offer_id
    JOIN job_end ON job_end.job_id = o.job_id
    WHERE s.purpose = 'confirm' AND job_end.ended_at < s.created_at
    """
)
UNSETTLED_SMS = _sql(
    """
    SELECT id, purpose, status, error_code, sid, to_number, body, created_at FROM sms_message
    WHERE direction = 'outbound' AND created_at < :cutoff
      AND NOT (status = 'delivered'
               OR (status IN ('failed', 'undelivered') AND coalesce(error_code, '') <> ''))
    """
)
DUPLICATE_ALARMS = _sql(
    """
    SELECT d.imei, e.type, e.device_time, count(*) FROM device_event e JOIN device d ON d.id = e.device_id
    WHERE e.type IN :alarms AND e.device_time IS NOT NULL
    GROUP BY d.imei, e.type, e.device_time HAVING count(*) > 1
    """
)
ALARM_EVENTS = _sql(
    """
    SELECT d.imei, e.type, e.device_time, e.id, min(ce.at)
    FROM device_event e
    JOIN device d ON d.id = e.device_id
    LEFT JOIN call_entry ce ON ce.device_event_id = e.id
    WHERE e.type IN :alarms
    GROUP BY d.imei, e.type, e.device_time, e.id
    """
)


async def database_violations(
    connection: AsyncConnection, *, cutoff: datetime, sms_due: Callable[[datetime], bool] = lambda _: True
) -> list[Violation]:
    """Every invariant the database alone can tell; time-dependent ones only for rows older than `cutoff`,
    and an SMS only once `sms_due(its created_at)` (a fault it met gives it more time)."""
    found: list[Violation] = []
    for elder_id, calls in await connection.execute(TWO_OPEN_CALLS):
        found.append(Violation(Invariant.one_open_call, f"elder {elder_id}", f"open calls {calls}"))
    for call_id, service_type, jobs in await connection.execute(TWO_LIVE_JOBS_OF_CALL):
        key = f"call {call_id} {service_type}"
        found.append(Violation(Invariant.one_live_job, key, f"live {service_type} jobs {jobs}"))
    for order_id, jobs in await connection.execute(TWO_LIVE_JOBS_OF_ORDER):
        found.append(Violation(Invariant.one_live_job, f"order {order_id}", f"live jobs {jobs}"))
    for job_id, job_state, call_id, call_state, order_id, order_state in await connection.execute(
        LIVE_JOB_OF_ENDED, {"cutoff": cutoff}
    ):
        owner = f"call {call_id} {call_state}" if call_id is not None else f"order {order_id} {order_state}"
        found.append(Violation(Invariant.job_outlives, f"job {job_id}", f"job {job_state}, {owner}"))
    for sms_id, job_id, sent_at, ended_at in await connection.execute(LATE_CONFIRMATIONS):
        late = (sent_at - ended_at).total_seconds()
        found.append(
            Violation(
                Invariant.late_details, f"sms {sms_id}", f"job {job_id}: details {late:.1f} s after it ended"
            )
        )
    unsettled = await connection.execute(UNSETTLED_SMS, {"cutoff": cutoff})
    for sms_id, purpose, status, error_code, sid, to, body, created_at in unsettled:
        if not sms_due(created_at):
            continue
        detail = f"{purpose} SMS {status}, error code {error_code}"
        found.append(Violation(Invariant.sms_final, f"sms {sms_id}", detail, (sid, to, body)))
    for imei, kind, device_time, count in await connection.execute(DUPLICATE_ALARMS):
        key = f"{imei} {kind} {device_time.isoformat()}"
        found.append(Violation(Invariant.duplicate_event, key, f"{count} rows"))
    return found


AlarmKey = tuple[str, str, datetime]


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """A stored alarm event and when it first reached a call (None: it has not)."""

    event_id: int
    entered_at: datetime | None


async def alarm_rows(connection: AsyncConnection) -> dict[AlarmKey, list[AlarmRow]]:
    """Every stored SOS and fall by (device, kind, device time)."""
    rows: dict[AlarmKey, list[AlarmRow]] = {}
    for imei, kind, device_time, event_id, entered_at in await connection.execute(ALARM_EVENTS):
        rows.setdefault((imei, kind, device_time), []).append(AlarmRow(event_id, entered_at))
    return rows


@dataclass
class AlarmOutcome:
    """The acknowledged alarms sorted out: how long each took to reach a call, which never did in time."""

    latencies: list[tuple[AckedAlarm, float]] = field(default_factory=list)
    violations: list[tuple[AckedAlarm, Violation]] = field(default_factory=list)
    pending: list[AckedAlarm] = field(default_factory=list)  # not a call yet, still within their time


def alarm_outcomes(
    acked: Iterable[AckedAlarm],
    rows: Mapping[AlarmKey, list[AlarmRow]],
    *,
    now: float,
    deadline: Callable[[AckedAlarm], float],
) -> AlarmOutcome:
    """Each acknowledged alarm is stored and on a call by its deadline (Unix seconds), else a violation."""
    outcome = AlarmOutcome()
    for alarm in acked:
        stored = rows.get((alarm.imei, alarm.kind, alarm.device_time), [])
        entered = [row.entered_at for row in stored if row.entered_at is not None]
        if entered:
            outcome.latencies.append((alarm, min(entered).timestamp() - alarm.acked_at))
        elif now < deadline(alarm):
            outcome.pending.append(alarm)
        else:
            what = "not stored" if not stored else f"event {stored[0].event_id} on no call"
            waited = now - alarm.acked_at
            key = f"{alarm.imei} {alarm.kind} {alarm.device_time.isoformat()}"
            outcome.violations.append(
                (alarm, Violation(Invariant.alarm_is_call, key, f"{what} {waited:.0f} s after its ack"))
            )
    return outcome


def sms_cutoff(now: datetime, grace_s: float) -> datetime:
    """SMS and ended calls younger than this are still given time."""
    return now - timedelta(seconds=grace_s)


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """When a cycle's fault began and when everything was ready again (Unix seconds)."""

    kind: str
    started_at: float
    healed_at: float


def alarm_deadline(acked_at: float, windows: Iterable[FaultWindow], grace_s: float) -> float:
    """By when an alarm must be on a call: `grace_s` after its ack, pushed to `grace_s` after the end of any
    fault that began before that time and was not over when the ack came."""
    deadline = acked_at + grace_s
    for window in sorted(windows, key=lambda w: w.started_at):
        if window.started_at <= deadline and window.healed_at >= acked_at:
            deadline = max(deadline, window.healed_at + grace_s)
    return deadline


def fault_met(acked_at: float, windows: Iterable[FaultWindow]) -> str | None:
    """The kind of the latest fault that had begun when the alarm was acknowledged (None: before any)."""
    begun = [w for w in windows if w.started_at <= acked_at]
    return max(begun, key=lambda w: w.started_at).kind if begun else None
