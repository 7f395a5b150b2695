"""One page of a query and the total it would return: what every `{items, total}` list endpoint needs."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def fetch_page(
    session: AsyncSession, query: Select[T], *order_by: Any, limit: int, offset: int
) -> tuple[list[T], int]:
    """The rows of `query` in `order_by` order from `offset`, at most `limit` of them, and the total count."""
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return list(rows), int(total or 0)
