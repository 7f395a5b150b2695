"""Engine and session factories; built by the app's lifespan or the CLI, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dispatch.settings import Settings


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# An execution option: on SQLite the transaction takes the write lock when it begins.
IMMEDIATE = "sqlite_begin_immediate"


def _sqlite_begin(connection: Connection) -> None:
    """Claiming transactions BEGIN IMMEDIATE themselves (the driver's own BEGIN would come late, and would
    break SAVEPOINT: SQLAlchemy's documented recipe): they hold the write lock from their first read, as
    SQLite ignores FOR UPDATE. Other transactions keep the driver's way: reads outside a transaction,
    BEGIN just before the first write, so a reader that then writes (an audit line) waits for the lock
    instead of failing on a snapshot another writer has moved past."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    driver = connection.connection.dbapi_connection
    if options.get(IMMEDIATE):
        driver.isolation_level = None  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        driver.isolation_level = ""  # type: ignore[union-attr]


def create_engine(settings: Settings, *, pre_ping: bool = True, pool_size: int = 5) -> AsyncEngine:
    """An async engine for the configured database (SQLite file by default).

    `pre_ping` tests each pooled connection before use (one round trip) so a database restart costs no
    failed request; the ingest path turns it off and retries instead, as every round trip delays acks.
    """
    url = settings.effective_database_url
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    elif settings.database_schema:
        connect_args["server_settings"] = {"search_path": settings.database_schema}
    options: dict[str, Any] = (
        {}
        if url.startswith("sqlite")
        else {
            "pool_pre_ping": pre_ping,
            "pool_size": pool_size,
            "pool_timeout": settings.database_pool_timeout_seconds,
        }
    )
    engine = create_async_engine(url, connect_args=connect_args, **options)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def create_session_factory(
    engine: AsyncEngine, *, claiming: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit. `claiming` sessions read what they then
    change (state moves, claims): on SQLite they hold the write lock from their first statement, so two
    of them never act on the same reading (PostgreSQL uses row locks and conditional UPDATEs for that)."""
    options = {IMMEDIATE: True} if claiming else {}
    return async_sessionmaker(engine, expire_on_commit=False, execution_options=options)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
