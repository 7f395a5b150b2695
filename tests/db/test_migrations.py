"""Migrations upgrade an empty SQLite and PostgreSQL database and downgrade cleanly; the audit log is
append-only in the database itself."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, insert, inspect, text
from sqlalchemy.exc import DBAPIError, StatementError

from dispatch.assessments.models import Assessment
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Operator
from dispatch.db import migrate
from dispatch.db.models import metadata
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Elder
from dispatch.settings import Settings
from simulators.load.common import elder_row
from tests.conftest import pg_settings, sqlite_settings

EXPECTED_TABLES = {table.name for table in metadata.sorted_tables}


def _tables(settings: Settings) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:

                def names(sync: Connection) -> set[str]:
                    return set(inspect(sync).get_table_names())

                return await connection.run_sync(names)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _roundtrip(settings: Settings) -> None:
    assert migrate.current_revision(settings) is None
    migrate.upgrade(settings)
    assert migrate.current_revision(settings) == migrate.head_revision(settings)
    assert _tables(settings) == EXPECTED_TABLES | {"alembic_version"}
    migrate.downgrade(settings, "base")
    assert migrate.current_revision(settings) is None
    assert _tables(settings) == {"alembic_version"}
    migrate.upgrade(settings)
    assert _tables(settings) == EXPECTED_TABLES | {"alembic_version"}


def test_sqlite_upgrades_from_empty_and_downgrades(tmp_path: Path) -> None:
    _roundtrip(sqlite_settings(tmp_path))


def test_postgresql_upgrades_from_empty_and_downgrades() -> None:
    schema = f"t_mig_{uuid.uuid4().hex[:8]}"
    settings = pg_settings(schema)
    try:
        _roundtrip(settings)
    finally:

        async def drop() -> None:
            engine = create_engine(settings)
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await engine.dispose()

        asyncio.run(drop())


async def test_audit_log_refuses_update_and_delete(engine) -> None:  # type: ignore[no-untyped-def]
    factory = create_session_factory(engine)
    async with factory() as session:
        session.add(AuditEntry(at=datetime.now(UTC), username="x", action="a", entity_type="t", detail={}))
        await session.commit()
    for statement in ("UPDATE audit_entry SET action = 'forged'", "DELETE FROM audit_entry"):
        async with factory() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()
    async with factory() as session:
        assert await session.scalar(text("SELECT action FROM audit_entry")) == "a"


async def test_timestamps_come_back_aware_utc(engine) -> None:  # type: ignore[no-untyped-def]
    shanghai = timezone(timedelta(hours=8))
    factory = create_session_factory(engine)
    async with factory() as session:
        session.add(
            AuditEntry(
                at=datetime(2026, 5, 1, 9, 30, tzinfo=shanghai),
                username="x",
                action="a",
                entity_type="t",
                detail={},
            )
        )
        await session.commit()
    async with factory() as session:
        stored = await session.scalar(text("SELECT 1"))
        assert stored == 1
        entry = (await session.execute(AuditEntry.__table__.select())).one()
        assert entry.at == datetime(2026, 5, 1, 1, 30, tzinfo=UTC)
        assert entry.at.utcoffset() == timedelta(0)


async def test_naive_timestamps_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    async with create_session_factory(engine)() as session:
        session.add(
            AuditEntry(at=datetime(2026, 5, 1, 9, 30), username="x", action="a", entity_type="t", detail={})
        )
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()


def test_the_search_keys_migration_indexes_the_elders_already_there(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)

    async def run(statement: Any, rows: list[dict[str, Any]] | None = None) -> list[Any]:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(statement, rows)
                return list(result.scalars()) if result.returns_rows else []
        finally:
            await engine.dispose()

    migrate.upgrade(settings, "0011")
    zeng = elder_row(1, "曾国藩", (119.3, 26.08), datetime.now(UTC)) | {"phone": "+8613905917788"}
    asyncio.run(run(insert(Elder), [zeng]))
    migrate.upgrade(settings)
    keys = set(asyncio.run(run(text("SELECT key FROM elder_search_key"))))
    assert {"n:cgf", "n:zgf", "p:zengguofan", "t:8877195093168"} <= keys


def test_the_one_open_assessment_migration_withdraws_the_later_duplicates(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)

    async def run(statement: Any, rows: list[dict[str, Any]] | None = None) -> list[Any]:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(statement, rows)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    migrate.upgrade(settings, "0013")
    now = datetime.now(UTC)
    operator = {"id": 1, "username": "a", "display_name": "a", "role": "agent", "password_hash": "x"}
    asyncio.run(run(insert(Operator), [operator | {"active": True, "created_at": now, "updated_at": now}]))
    asyncio.run(run(insert(Elder), [elder_row(1, "曾国藩", (119.3, 26.08), now)]))
    rows = [assessment_row(n, step, now) for n, step in ((1, "final"), (2, "accepted"), (3, "organised"))]
    asyncio.run(run(insert(Assessment), rows))
    migrate.upgrade(settings)
    steps = asyncio.run(run(text("SELECT id, step, decision_note <> '' FROM assessment ORDER BY id")))
    assert [tuple(row) for row in steps] == [(1, "final", 0), (2, "accepted", 0), (3, "withdrawn", 1)]


def assessment_row(n: int, step: str, now: datetime) -> dict[str, Any]:
    return {
        "id": n,
        "elder_id": 1,
        "elder_name": "曾国藩",
        "procedure": "standard",
        "step": step,
        "instrument": "gbt-42195-2022",
        "applicant": "elder",
        "applicant_name": "",
        "applicant_phone": "",
        "materials": [],
        "missing": [],
        "step_entered_at": now,
        "due_provisional": False,
        "answers": {},
        "findings": {},
        "needs": {},
        "indicator_scores": {},
        "applied_rules": [],
        "decision_note": "",
        "created_by": 1,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
