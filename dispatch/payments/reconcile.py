"""Daily reconciliation (对账): the platform's trade bill for a day matched line by line against what the
ledger holds for that day: online payments by trade number and amount, refunds by refund number and
amount. Each day is checked once (its row is the claim); mismatches are stored with both sides and the
supervisors alerted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.alerts import service as alerts
from dispatch.clock import Clock
from dispatch.db.base import Base, JSONType
from dispatch.localtime import at_local, local_date
from dispatch.payments.models import Channel, Payment, PaymentState, Refund, RefundState
from dispatch.payments.platform import BillRow, PaymentPlatform


class Reconciliation(Base):
    __tablename__ = "reconciliation"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    checked_at: Mapped[datetime]
    lines: Mapped[int]
    mismatches: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


@dataclass(frozen=True)
class Ours:
    payments: dict[str, int]  # out_trade_no -> fen paid that day
    refunds: dict[str, int]  # out_refund_no -> fen refunded that day


def compare(bill: list[BillRow], ours: Ours) -> list[dict[str, Any]]:
    """Pure: every line on one side without its twin (or with another amount), both sides shown."""
    theirs_paid = {r.out_trade_no: r.amount_fen for r in bill if r.out_refund_no is None}
    theirs_refunded = {r.out_refund_no: r.refund_fen for r in bill if r.out_refund_no is not None}
    return [
        *_differences("payment", theirs_paid, ours.payments),
        *_differences("refund", theirs_refunded, ours.refunds),
    ]


def _differences(kind: str, theirs: dict[str, int], ours: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "number": number, "platform_fen": theirs.get(number), "ledger_fen": ours.get(number)}
        for number in sorted(set(theirs) | set(ours))
        if theirs.get(number) != ours.get(number)
    ]


async def ours_on(session: AsyncSession, day: date) -> Ours:
    start, end = at_local(day, "00:00"), at_local(day + timedelta(days=1), "00:00")
    paid = await session.execute(
        select(Payment.out_trade_no, Payment.amount_fen).where(
            Payment.channel == Channel.wechat,
            Payment.state == PaymentState.paid,
            Payment.paid_at >= start,
            Payment.paid_at < end,
        )
    )
    refunded = await session.execute(
        select(Refund.out_refund_no, Refund.amount_fen)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Payment.channel == Channel.wechat,
            Refund.state == RefundState.succeeded,
            Refund.succeeded_at >= start,
            Refund.succeeded_at < end,
        )
    )
    return Ours(payments={no: fen for no, fen in paid}, refunds={no: fen for no, fen in refunded})


async def run_day(
    session: AsyncSession, clock: Clock, platform: PaymentPlatform, day: date
) -> Reconciliation | None:
    """Check `day` once (None: it was checked already)."""
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    claimed = await session.scalar(
        insert(Reconciliation)
        .values(day=day, platform=Channel.wechat.value, checked_at=clock.now(), lines=0, mismatches=[])
        .on_conflict_do_nothing()
        .returning(Reconciliation.day)
    )
    if claimed is None:
        return None
    bill = await platform.trade_bill(day)
    mismatches = compare(bill, await ours_on(session, day))
    row = await session.get(Reconciliation, (day, Channel.wechat.value), populate_existing=True)
    assert row is not None  # noqa: S101 - inserted just above in this transaction
    row.lines, row.mismatches = len(bill), mismatches
    if mismatches:
        await alerts.raise_alert(
            session=session,
            clock=clock,
            kind="reconciliation_mismatch",
            key=f"reconcile:{day.isoformat()}",
            text=f"{day.isoformat()} 微信支付对账不符 {len(mismatches)} 笔，请核查",
            detail={"day": day.isoformat(), "mismatches": mismatches[:20]},
        )
    return row


async def yesterday(*, session: AsyncSession, clock: Clock, platform: PaymentPlatform | None) -> int:
    """The desk's step: yesterday's bill (ready the next morning) checked once; the mismatches found."""
    if platform is None:
        return 0
    row = await run_day(session, clock, platform, local_date(clock.now()) - timedelta(days=1))
    return len(row.mismatches) if row else 0


async def list_days(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[Reconciliation], int]:
    """The days checked, newest first (then by platform), and how many there are."""
    total = await session.scalar(select(func.count()).select_from(Reconciliation))
    rows = await session.scalars(
        select(Reconciliation)
        .order_by(Reconciliation.day.desc(), Reconciliation.platform)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
