"""Alembic environment: async engine from our settings, batch mode so SQLite can alter tables."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text

from dispatch.db.models import metadata
from dispatch.db.session import create_engine
from dispatch.settings import Settings, get_settings


def _settings() -> Settings:
    settings = context.config.attributes.get("settings")
    return settings if isinstance(settings, Settings) else get_settings()


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    settings = _settings()
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if settings.is_sqlite:
                # Batch mode recreates tables; with foreign keys on, dropping the old copy would cascade.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            elif settings.database_schema:
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.database_schema}"'))
            await connection.commit()
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
asyncio.run(_run_async())
