"""Each elder's monthly allowance in the ledger, and the split of a service's price by the policy in force
on its day. The allowance is granted the first time it is needed in a month (a charge, a payment, a
quote), in the same transaction, with the last month's remainder lapsing first when the policy says so:
no batch over every elder on the 1st. Callers hold the elder's row lock (`lock_elder`) so two processes
never grant one month twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dispatch.assessments.models import Assessment
from dispatch.assessments.workflow import Step
from dispatch.auth.actor import Actor
from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.elders.models import Elder
from dispatch.errors import NotFound
from dispatch.ledger import accounts, posting
from dispatch.ledger.models import LedgerEntry, LedgerTxn, TxnKind
from dispatch.localtime import local_date, month_period
from dispatch.orders.models import ServiceOrder
from dispatch.subsidies import policy as policies
from dispatch.subsidies.split import Entitlement, Split, entitlement, split


@dataclass(frozen=True)
class MonthState:
    month: str
    policy_id: str | None
    entitled: Entitlement
    carry_over: bool
    granted: bool  # this month's grant is in the ledger (else `left_fen` is what it will be)
    left_fen: int
    spent_fen: int  # subsidy charged this month


async def lock_elder(session: AsyncSession, elder_id: int) -> Elder:
    elder = await session.get(Elder, elder_id, with_for_update=True)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found", reason="elder_not_found")
    return elder


async def assessed_level(session: AsyncSession, elder_id: int) -> int | None:
    """The level of the elder's latest final assessment whose review proposed the allowance."""
    level = await session.scalar(
        select(Assessment.level)
        .where(
            Assessment.elder_id == elder_id,
            Assessment.step == Step.final,
            Assessment.subsidy_proposed.is_(True),
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    return int(level) if level is not None else None


async def entitled_on(
    session: AsyncSession, elder: Elder, day: date
) -> tuple[policies.Policy | None, Entitlement]:
    policy = policies.in_force(day)
    level = await assessed_level(session, elder.id)
    return policy, entitlement(policy, elder.subsidy_categories, level)


def _month_start(day: date) -> date:
    return day.replace(day=1)


async def ensure_month(session: AsyncSession, clock: Clock, actor: Actor, elder: Elder) -> None:
    """Grant this month's allowance once; first let the remainder lapse if the policy does not carry it."""
    today = local_date(clock.now())
    month = month_period(today)
    if await posting.find(session, f"grant:{elder.id}:{month}") is not None:
        return
    policy, entitled = await entitled_on(session, elder, today)
    account = accounts.allowance(elder.id)
    left = await posting.balance(session, account)
    if left and not (policy and policy.carry_over):
        await posting.post(
            session,
            clock,
            actor,
            posting.Posting(
                kind=TxnKind.expiry,
                key=f"expiry:{elder.id}:{month}",
                occurred_on=_month_start(today) - timedelta(days=1),
                legs=[(account, -left), (accounts.BUDGET, left)],
                memo="unspent allowance lapses at the month's end",
                refs={"elder_id": elder.id},
            ),
        )
    await posting.post(
        session,
        clock,
        actor,
        posting.Posting(
            kind=TxnKind.grant,
            key=f"grant:{elder.id}:{month}",
            occurred_on=_month_start(today),
            # a zero grant still marks the month as done (it has no legs, so nothing is written)
            legs=[(account, entitled.monthly_fen), (accounts.BUDGET, -entitled.monthly_fen)],
            memo=entitled.source,
            refs={"elder_id": elder.id},
        ),
    )


async def month_state(session: AsyncSession, clock: Clock, elder: Elder) -> MonthState:
    """This month's allowance as it stands, without writing anything."""
    today = local_date(clock.now())
    month = month_period(today)
    policy, entitled = await entitled_on(session, elder, today)
    left = await posting.balance(session, accounts.allowance(elder.id))
    granted = await posting.find(session, f"grant:{elder.id}:{month}") is not None
    if not granted:
        left = (left if policy and policy.carry_over else 0) + entitled.monthly_fen
    return MonthState(
        month=month,
        policy_id=policy.id if policy else None,
        entitled=entitled,
        carry_over=bool(policy and policy.carry_over),
        granted=granted,
        left_fen=left,
        spent_fen=await subsidised_since(session, elder.id, _month_start(today)),
    )


async def subsidised_since(
    session: AsyncSession, elder_id: int, since: date, service_type: ServiceType | None = None
) -> int:
    """Subsidy charged to the elder's allowance on services from `since` on (net of reversals)."""
    reversed_txn = aliased(LedgerTxn)
    query = (
        select(func.coalesce(func.sum(-LedgerEntry.amount_fen), 0))
        .join(LedgerTxn, LedgerTxn.id == LedgerEntry.txn_id)
        .outerjoin(reversed_txn, reversed_txn.id == LedgerTxn.reverses_id)
        .where(
            LedgerEntry.account == accounts.allowance(elder_id),
            or_(LedgerTxn.kind == TxnKind.charge, reversed_txn.kind == TxnKind.charge),
            LedgerTxn.occurred_on >= since,
        )
    )
    if service_type is not None:
        query = query.join(ServiceOrder, ServiceOrder.id == LedgerTxn.order_id).where(
            ServiceOrder.service_type == service_type
        )
    return int(await session.scalar(query) or 0)


async def quote(
    session: AsyncSession, clock: Clock, elder: Elder, service_type: ServiceType, price_fen: int, day: date
) -> Split:
    """How a price for a service on `day` splits now, given what is left of the month's allowance."""
    policy, entitled = await entitled_on(session, elder, day)
    state = await month_state(session, clock, elder)
    return split(
        price_fen=price_fen,
        policy=policy,
        entitled=entitled,
        service_type=service_type,
        allowance_left_fen=state.left_fen,
        subsidised_this_month_fen=await subsidised_since(
            session, elder.id, _month_start(day), service_type=service_type
        ),
    )
