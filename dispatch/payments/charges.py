"""Charges for evidenced services (filled in with the ledger)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.clock import Clock


async def on_evidenced(*, session: AsyncSession, clock: Clock, order_id: int, actor: Actor) -> None:
    """An order has just become evidenced (called once, in the transaction that evidenced it)."""
