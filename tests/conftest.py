"""Fixtures for the real services: SQLite files, the PostgreSQL `test` database, Redis, and the app."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.db import migrate
from dispatch.db.models import metadata
from dispatch.db.session import create_engine, create_session_factory
from dispatch.settings import Settings

PG_URL = os.environ.get("DISPATCH_TEST_PG_URL", "postgresql+asyncpg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgresql"]
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai on a Monday
DESK_IDLE = 24 * 3600.0  # tests run the service desk's timer by hand (services.desk.run_once)


def sqlite_settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url="",
        redis_url="",
        watch_port=0,
        desk_tick_seconds=DESK_IDLE,
        _env_file=None,
    )


def pg_settings(schema: str, data_dir: Path | None = None) -> Settings:
    return Settings(
        database_url=PG_URL,
        database_schema=schema,
        redis_url="",
        watch_port=0,
        desk_tick_seconds=DESK_IDLE,
        _env_file=None,
        data_dir=data_dir or Path("./var"),
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    migrate.upgrade(sqlite_settings(directory))
    return directory / "dispatch.sqlite3"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A migrated schema of its own in the `test` database, so parallel runs do not collide."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    migrate.upgrade(pg_settings(schema))
    yield schema

    async def drop() -> None:
        engine = create_engine(pg_settings(schema))
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()

    asyncio.run(drop())


# Every sequence of the schema back to 1 (ids are as after a fresh migration), in one statement.
RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


APPEND_ONLY = frozenset({"audit_entry"})  # a trigger refuses DELETE; TRUNCATE fires no row trigger


async def _empty_all_tables(settings: Settings) -> None:
    """Empty every table. DELETE, children first, rather than TRUNCATE: on tables this small it is four
    times faster (TRUNCATE makes new files for every table and index), and it runs before every test."""
    engine = create_engine(settings)
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if table.name in APPEND_ONLY:
                await connection.execute(text(f'TRUNCATE "{table.name}"'))
            else:
                await connection.execute(table.delete())
        await connection.execute(RESTART_SEQUENCES)
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def db_settings(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_schema: str
) -> Settings:
    """Settings for an empty, migrated database: a fresh SQLite file, or the truncated PostgreSQL schema."""
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "dispatch.sqlite3")
        return sqlite_settings(tmp_path)
    settings = pg_settings(pg_schema, tmp_path)
    await _empty_all_tables(settings)
    return settings


@pytest.fixture
async def pg_db_settings(tmp_path: Path, pg_schema: str) -> Settings:
    """Settings for the empty PostgreSQL schema alone: for races that need two writers at once."""
    settings = pg_settings(pg_schema, tmp_path)
    await _empty_all_tables(settings)
    return settings


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed only when the test commits it."""
    async with create_session_factory(engine)() as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def app(db_settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """A running application (lifespan entered) on the test database and the fake clock."""
    application = create_app(db_settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def app_services(app: FastAPI) -> AppServices:
    services: AppServices = app.state.services
    return services


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process through its ASGI interface."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c
