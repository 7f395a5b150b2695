"""Service levels of the hotline, computed in the database: calls offered, answered, abandoned, answered
within 20 / 60 / 180 s of joining the queue (the UK telecare code asks 97.5 % within 60 s and 99 % within
180 s), callers waiting now and for how long, average handle time, agents by state; and the same figures
as Prometheus gauges, refreshed when /metrics is scraped."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.localtime import at_local, local_date
from dispatch.voice.models import (
    AgentPresence,
    AgentState,
    Direction,
    PhoneCall,
    PhoneCallState,
    PhoneOutcome,
    Recording,
    RecordingState,
)

logger = logging.getLogger(__name__)

ANSWER_TARGETS_S = (20, 60, 180)
WAITING_STATES = (PhoneCallState.queued, PhoneCallState.ringing)


def today_window(now: datetime) -> tuple[datetime, datetime]:
    """Today in Asia/Shanghai as [since, until) in UTC."""
    today = local_date(now)
    return at_local(today, "00:00"), at_local(today + timedelta(days=1), "00:00")


def local_day_window(day: date) -> tuple[datetime, datetime]:
    return at_local(day, "00:00"), at_local(day + timedelta(days=1), "00:00")


def _seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[Any]:
    """`later - earlier` in seconds, in this database's SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, one decimal; None when there is no whole."""
    return round(100.0 * part / whole, 1) if whole else None


async def _window_counts(session: AsyncSession, since: datetime, until: datetime) -> dict[str, Any]:
    """One aggregate query over the inbound calls queued in the window."""
    answered = PhoneCall.answered_at.is_not(None)
    # A hundredth of a second of slack: SQLite's julianday arithmetic is not exact to the microsecond.
    waited = _seconds_between(session, PhoneCall.answered_at, PhoneCall.queued_at)
    columns: dict[str, ColumnElement[Any]] = {
        "offered": func.count(PhoneCall.id),
        "answered": _count(answered),
        "abandoned": _count(PhoneCall.outcome == PhoneOutcome.abandoned),
        **{f"within_{s}": _count(and_(answered, waited <= s + 0.01)) for s in ANSWER_TARGETS_S},
        "average_talk": func.avg(case((answered, PhoneCall.talk_seconds), else_=None)),
        "handled": _count(and_(answered, PhoneCall.talk_seconds.is_not(None))),
    }
    row = (
        await session.execute(
            select(*(column.label(name) for name, column in columns.items())).where(
                PhoneCall.direction == Direction.inbound,
                PhoneCall.queued_at.is_not(None),
                PhoneCall.queued_at >= since,
                PhoneCall.queued_at < until,
            )
        )
    ).one()
    return dict(row._mapping)


async def _waiting(session: AsyncSession) -> tuple[int, datetime | None]:
    """Callers waiting for an agent now, and since when the longest has."""
    row = (
        await session.execute(
            select(func.count(PhoneCall.id), func.min(PhoneCall.queued_at)).where(
                PhoneCall.direction == Direction.inbound,
                PhoneCall.state.in_(WAITING_STATES),
                PhoneCall.answered_at.is_(None),
                PhoneCall.queued_at.is_not(None),
            )
        )
    ).one()
    return int(row[0]), row[1]


async def agents_by_state(session: AsyncSession) -> dict[str, int]:
    """How many agents are in each state (every state listed, zeros included)."""
    rows = await session.execute(select(AgentPresence.state, func.count()).group_by(AgentPresence.state))
    counts = {state.value: 0 for state in AgentState}
    counts.update({AgentState(state).value: int(n) for state, n in rows})
    return counts


async def voice_stats(
    *, session: AsyncSession, clock: Clock, since: datetime, until: datetime, wrap_up_seconds: int
) -> dict[str, Any]:
    """The figures for [since, until); waiting now and the longest wait are as of the clock. Handle time is
    talk time plus the configured wrap-up (after-call work is not measured per call)."""
    counts = await _window_counts(session, since, until)
    waiting, oldest = await _waiting(session)
    offered = int(counts["offered"])
    average_talk = counts["average_talk"]
    figures: dict[str, Any] = {
        "since": since,
        "until": until,
        "offered": offered,
        "answered": int(counts["answered"]),
        "abandoned": int(counts["abandoned"]),
        "waiting_now": waiting,
        "longest_wait_s": max(0, int((clock.now() - oldest).total_seconds())) if oldest else 0,
        "average_handle_s": (
            round(float(average_talk) + wrap_up_seconds, 1) if average_talk is not None else None
        ),
        "wrap_up_s": wrap_up_seconds,
        "agents_by_state": await agents_by_state(session),
    }
    for target in ANSWER_TARGETS_S:
        within = int(counts[f"within_{target}"])
        figures[f"answered_within_{target}s"] = within
        figures[f"answered_within_{target}s_pct"] = percent(within, offered)
    return figures


async def recordings_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Recording.state, func.count()).group_by(Recording.state))
    counts = {state.value: 0 for state in RecordingState}
    counts.update({RecordingState(state).value: int(n) for state, n in rows})
    return counts


class VoiceMetrics:
    """Today's service levels as Prometheus gauges, recomputed at each scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls_today = Gauge(
            "dispatch_voice_calls_today", "Inbound calls queued today (Shanghai)", ["kind"], registry=registry
        )
        self.answered_within = Gauge(
            "dispatch_voice_answered_within_today",
            "Inbound calls answered within N seconds of queueing, today",
            ["seconds"],
            registry=registry,
        )
        self.waiting = Gauge(
            "dispatch_voice_calls_waiting", "Callers waiting for an agent", registry=registry
        )
        self.longest_wait = Gauge(
            "dispatch_voice_longest_wait_seconds",
            "How long the longest-waiting caller has waited",
            registry=registry,
        )
        self.handle = Gauge(
            "dispatch_voice_average_handle_seconds_today",
            "Average talk plus wrap-up time, today",
            registry=registry,
        )
        self.agents = Gauge("dispatch_voice_agents", "Agents by state", ["state"], registry=registry)
        self.recordings = Gauge(
            "dispatch_voice_recordings", "Call recordings by state", ["state"], registry=registry
        )

    async def refresh(self, *, session: AsyncSession, clock: Clock, wrap_up_seconds: int) -> None:
        since, until = today_window(clock.now())
        figures = await voice_stats(
            session=session, clock=clock, since=since, until=until, wrap_up_seconds=wrap_up_seconds
        )
        for kind in ("offered", "answered", "abandoned"):
            self.calls_today.labels(kind).set(figures[kind])
        for target in ANSWER_TARGETS_S:
            self.answered_within.labels(str(target)).set(figures[f"answered_within_{target}s"])
        self.waiting.set(figures["waiting_now"])
        self.longest_wait.set(figures["longest_wait_s"])
        self.handle.set(figures["average_handle_s"] or 0)
        for state, count in figures["agents_by_state"].items():
            self.agents.labels(state).set(count)
        for state, count in (await recordings_by_state(session)).items():
            self.recordings.labels(state).set(count)
