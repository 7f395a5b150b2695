"""Statements from the ledger: one aggregate query over the month's charges, reversals and refunds per
provider (the database does the sums, so a month of 100,000 services is one scan), the quality bands and
upheld complaints applied, drafts kept until a supervisor approves; approving posts the deductions,
paying posts the payout. Each move is one conditional UPDATE, so two supervisors cannot both do it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint
from dispatch.errors import InvalidTransition, NotFound, ValidationFailed
from dispatch.ledger import accounts, posting
from dispatch.ledger.models import LedgerEntry, LedgerTxn, TxnKind
from dispatch.localtime import at_local, local_date
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from dispatch.settlement import rules
from dispatch.settlement.models import Settlement, SettlementState


@dataclass(frozen=True)
class ProviderMonth:
    provider_id: int
    services: int
    gross_fen: int
    subsidy_fen: int
    self_pay_fen: int
    refunds_fen: int


def month_bounds(month: str) -> tuple[date, date]:
    """ "2026-07" -> (2026-07-01, 2026-08-01)."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as error:
        raise ValidationFailed("a month is written YYYY-MM", reason="bad_month") from error
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def _sum_if(
    condition: ColumnElement[bool], amount: ColumnElement[int] | InstrumentedAttribute[int] | int
) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


def provider_months_query(first: date, following: date) -> Select[int | None, int, int, int, int, int]:
    """Per provider: services, and fen earned, from the subsidy, from self-pay, and refunded by it."""
    reversed_txn = aliased(LedgerTxn)
    charge_leg = or_(LedgerTxn.kind == TxnKind.charge, reversed_txn.kind == TxnKind.charge)
    payable = LedgerEntry.account.startswith("payable:")
    one_service = case((LedgerTxn.kind == TxnKind.charge, 1), else_=-1)
    return (
        select(
            LedgerTxn.provider_id,
            _sum_if(and_(charge_leg, payable), one_service),
            _sum_if(and_(charge_leg, payable), -LedgerEntry.amount_fen),
            _sum_if(and_(charge_leg, LedgerEntry.account.startswith("receivable:")), LedgerEntry.amount_fen),
            _sum_if(and_(charge_leg, LedgerEntry.account.startswith("prepaid:")), LedgerEntry.amount_fen),
            _sum_if(and_(LedgerTxn.kind == TxnKind.refund, payable), LedgerEntry.amount_fen),
        )
        .join(LedgerTxn, LedgerTxn.id == LedgerEntry.txn_id)
        .outerjoin(reversed_txn, reversed_txn.id == LedgerTxn.reverses_id)
        .where(
            LedgerTxn.provider_id.is_not(None),
            LedgerTxn.occurred_on >= first,
            LedgerTxn.occurred_on < following,
        )
        .group_by(LedgerTxn.provider_id)
    )


async def provider_months(session: AsyncSession, month: str) -> list[ProviderMonth]:
    first, following = month_bounds(month)
    rows = await session.execute(provider_months_query(first, following))
    return [
        ProviderMonth(int(pid), int(n), int(gross), int(subsidy), int(self_pay), int(refunds))
        for pid, n, gross, subsidy, self_pay, refunds in rows
        if pid is not None
    ]


async def upheld_complaints(session: AsyncSession, month: str) -> dict[int, int]:
    """Upheld complaints about each provider, by the (Shanghai) month they were resolved in."""
    first, following = month_bounds(month)
    rows = await session.execute(
        select(Complaint.provider_id, func.count())
        .where(
            Complaint.upheld.is_(True),
            Complaint.provider_id.is_not(None),
            Complaint.resolved_at >= at_local(first, "00:00"),
            Complaint.resolved_at < at_local(following, "00:00"),
        )
        .group_by(Complaint.provider_id)
    )
    return {int(pid): int(n) for pid, n in rows if pid is not None}


async def compute(session: AsyncSession, clock: Clock, *, month: str, settings: Settings) -> list[Settlement]:
    """Draft (or redraft) every provider's statement for the month; approved and paid ones stay as they are."""
    bands = rules.parse_bands(settings.settlement_deduction_bands)
    earned = {m.provider_id: m for m in await provider_months(session, month)}
    complaints = await upheld_complaints(session, month)
    existing = {
        s.provider_id: s
        for s in await session.scalars(select(Settlement).where(Settlement.month == month).with_for_update())
    }
    providers = {
        p.id: p
        for p in await session.scalars(select(Provider).where(Provider.id.in_(set(earned) | set(complaints))))
    }
    drafts = []
    for provider_id, provider in sorted(providers.items()):
        statement = existing.get(provider_id)
        if statement is not None and statement.state != SettlementState.draft:
            continue
        figures = earned.get(provider_id) or ProviderMonth(provider_id, 0, 0, 0, 0, 0)
        drafts.append(
            _draft(
                statement,
                provider,
                month,
                figures,
                complaints.get(provider_id, 0),
                bands,
                settings,
                clock.now(),
            )
        )
    session.add_all(drafts)
    await session.flush()
    return drafts


def _draft(
    statement: Settlement | None,
    provider: Provider,
    month: str,
    figures: ProviderMonth,
    complaints_upheld: int,
    bands: rules.Bands,
    settings: Settings,
    now: datetime,
) -> Settlement:
    score = rules.quality_score(provider.rating, provider.rating_count, settings.rating_prior)
    percent = rules.deduction_percent(score, bands)
    money = rules.amounts(
        gross_fen=figures.gross_fen,
        refunds_fen=figures.refunds_fen,
        percent=percent,
        complaints_upheld=complaints_upheld,
        per_complaint_fen=settings.settlement_complaint_deduction_fen,
    )
    statement = statement or Settlement(provider_id=provider.id, month=month, state=SettlementState.draft)
    statement.provider_name = provider.name
    statement.services, statement.gross_fen = figures.services, figures.gross_fen
    statement.subsidy_fen, statement.self_pay_fen = figures.subsidy_fen, figures.self_pay_fen
    statement.refunds_fen = figures.refunds_fen
    statement.quality_score, statement.quality_deduction_percent = score, percent
    statement.quality_deduction_fen = money.quality_deduction_fen
    statement.complaints_upheld, statement.complaint_deduction_fen = (
        complaints_upheld,
        money.complaint_deduction_fen,
    )
    statement.net_fen, statement.computed_at = money.net_fen, now
    return statement


async def get(session: AsyncSession, settlement_id: int) -> Settlement:
    statement = await session.get(Settlement, settlement_id, populate_existing=True)
    if statement is None:
        raise NotFound(f"settlement {settlement_id} not found", reason="settlement_not_found")
    return statement


async def _move(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    settlement_id: int,
    source: SettlementState,
    to: SettlementState,
) -> Settlement:
    now = clock.now()
    values = (
        {"approved_by": actor.username, "approved_at": now}
        if to == SettlementState.approved
        else {"paid_by": actor.username, "paid_at": now}
    )
    moved = await session.execute(
        update(Settlement)
        .where(Settlement.id == settlement_id, Settlement.state == source)
        .values(state=to, **values)
        .returning(Settlement.id)
    )
    won = moved.scalar() is not None
    statement = await get(session, settlement_id)
    if not won:
        raise InvalidTransition(
            f"settlement {settlement_id} is {statement.state.value}, not {source.value}",
            reason="settlement_state",
            params={"state": statement.state.value},
        )
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=f"settlement.{to.value}",
        entity_type="settlement",
        entity_id=settlement_id,
        detail={"provider_id": statement.provider_id, "month": statement.month, "net_fen": statement.net_fen},
    )
    return statement


async def approve(session: AsyncSession, clock: Clock, actor: Actor, settlement_id: int) -> Settlement:
    """draft -> approved; the quality and complaint deductions leave the provider's payable."""
    statement = await _move(
        session, clock, actor, settlement_id, SettlementState.draft, SettlementState.approved
    )
    withheld = statement.quality_deduction_fen + statement.complaint_deduction_fen
    await _post(session, clock, actor, statement, TxnKind.deduction, withheld, accounts.DEDUCTIONS)
    return statement


async def mark_paid(session: AsyncSession, clock: Clock, actor: Actor, settlement_id: int) -> Settlement:
    """approved -> paid; the net amount leaves the bank account."""
    statement = await _move(
        session, clock, actor, settlement_id, SettlementState.approved, SettlementState.paid
    )
    await _post(session, clock, actor, statement, TxnKind.settlement, statement.net_fen, accounts.BANK)
    return statement


async def _post(
    session: AsyncSession, clock: Clock, actor: Actor, statement: Settlement, kind: TxnKind, fen: int, to: str
) -> None:
    await posting.post(
        session,
        clock,
        actor,
        posting.Posting(
            kind=kind,
            key=f"{kind.value}:settlement:{statement.id}",
            occurred_on=local_date(clock.now()),
            legs=[(accounts.payable(statement.provider_id), fen), (to, -fen)],
            memo=statement.month,
            refs={"provider_id": statement.provider_id},
        ),
    )


async def list_month(session: AsyncSession, month: str) -> list[Settlement]:
    month_bounds(month)
    return list(
        await session.scalars(
            select(Settlement).where(Settlement.month == month).order_by(Settlement.provider_name)
        )
    )


async def draft_last_month(*, session: AsyncSession, clock: Clock, settings: Settings) -> int:
    """The desk's step: last month's statements drafted (and redrafted until approved) without anyone asking."""
    first_of_this_month = local_date(clock.now()).replace(day=1)
    last_month = (first_of_this_month - timedelta(days=1)).strftime("%Y-%m")
    return len(await compute(session, clock, month=last_month, settings=settings))
