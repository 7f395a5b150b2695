"""Claiming transactions on SQLite behave as on PostgreSQL: a savepoint is undone with its transaction, and
claiming sessions take the write lock when they begin, so two of them never act on the same reading."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.db.session import create_session_factory
from dispatch.settings import Settings


async def test_a_released_savepoint_is_undone_by_rolling_back_its_claiming_transaction(
    engine: AsyncEngine,
) -> None:
    async with create_session_factory(engine)() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS word (w TEXT)"))
        await session.execute(text("DELETE FROM word"))  # PostgreSQL keeps the schema between tests
        await session.commit()
    async with create_session_factory(engine, claiming=True)() as session:
        async with session.begin_nested():  # the transaction's first statement
            await session.execute(text("INSERT INTO word VALUES ('undone')"))
        await session.rollback()
    async with create_session_factory(engine)() as session:
        assert list(await session.scalars(text("SELECT w FROM word"))) == []


async def test_claiming_sessions_never_act_on_the_same_reading(
    engine: AsyncEngine, db_settings: Settings
) -> None:
    """Each session reads a counter and writes it back plus one: both increments must survive."""
    async with create_session_factory(engine)() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS counter (n INTEGER)"))
        await session.execute(text("DELETE FROM counter"))
        await session.execute(text("INSERT INTO counter VALUES (0)"))
        await session.commit()
    claiming = create_session_factory(engine, claiming=True)
    first_read = asyncio.Event()

    async def increment(wait_for_other: bool) -> None:
        async with claiming() as session:
            read = "SELECT n FROM counter" if db_settings.is_sqlite else "SELECT n FROM counter FOR UPDATE"
            n = await session.scalar(text(read))
            first_read.set()
            if wait_for_other:
                await asyncio.sleep(0.2)  # give the other session every chance to read the same value
            await session.execute(text("UPDATE counter SET n = :n"), {"n": (n or 0) + 1})
            await session.commit()

    async def second() -> None:
        await first_read.wait()
        await increment(False)

    await asyncio.gather(increment(True), second())
    async with create_session_factory(engine)() as session:
        assert await session.scalar(text("SELECT n FROM counter")) == 2
