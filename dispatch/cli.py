"""The `dispatch` command: serve, demo, database migrations, demo data and operator accounts."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import SystemClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.logging_setup import configure_logging
from dispatch.settings import Settings, get_settings

app = typer.Typer(help="Elder emergency-call and home-service dispatch server.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

logger = logging.getLogger("dispatch.cli")

DEFAULT_DEMO_SEED = 12349
DEFAULT_DEMO_ELDERS = 2000


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level)
    return settings


def _uvicorn(settings: Settings, host: str, port: int) -> tuple[uvicorn.Server, FastAPI]:
    from dispatch.api.app import create_app

    app_ = create_app(settings)
    config = uvicorn.Config(
        app_,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # Console messages are small and go to every console: compressing each one per console costs more
        # CPU than the LAN bandwidth it saves.
        ws_per_message_deflate=False,
    )
    return uvicorn.Server(config), app_


def _run_server(
    settings: Settings,
    host: str | None,
    port: int | None,
    *,
    simulators: bool = False,
    time_scale: float = 0.0,
) -> None:
    migrate.upgrade(settings)
    host, port = host or settings.http_host, port or settings.http_port

    async def run() -> None:
        if not simulators:
            await _uvicorn(settings, host, port)[0].serve()
            return
        from simulators.demo import (
            fake_payment_platform,
            fake_sms_gateway,
            run_demo_devices,
            run_demo_families,
            run_demo_providers,
        )
        from simulators.hotline_callers import run_demo_hotline_callers

        url = f"http://127.0.0.1:{port}"
        async with (
            fake_sms_gateway(settings, url) as (sms_settings, fake),
            fake_payment_platform(sms_settings) as (demo_settings, payments),
        ):
            server, app_ = _uvicorn(demo_settings, host, port)
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no event
                await asyncio.sleep(0.1)
            helpers = []
            if server.started:
                watch_port = app_.state.services.watch_port
                helpers.append(
                    asyncio.create_task(
                        run_demo_devices(settings, http_url=url, watch_port=watch_port, time_scale=time_scale)
                    )
                )
                if payments is not None:
                    helpers.append(asyncio.create_task(run_demo_families(payments)))
                if fake is not None:
                    helpers.append(asyncio.create_task(run_demo_providers(settings, fake)))
                    helpers.append(asyncio.create_task(run_demo_hotline_callers(settings, fake)))
            await serving
            for helper in helpers:
                helper.cancel()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed (it is, with uvicorn[standard]), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="overrides DISPATCH_HTTP_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="overrides DISPATCH_HTTP_PORT")] = None,
) -> None:
    """Apply pending migrations and run the server (never creates accounts)."""
    _run_server(_settings(), host, port)


DEFAULT_TIME_SCALE = 4.0  # 2,000 elders at 24 alarms per elder-year make 5.5 an hour; x4: one every 3 minutes


@app.command()
def demo(
    no_simulators: Annotated[
        bool, typer.Option("--no-simulators", help="leave out simulated devices")
    ] = False,
    seed: Annotated[int, typer.Option(help="random seed of the demo city")] = DEFAULT_DEMO_SEED,
    elders: Annotated[int, typer.Option(min=1, help="how many elders to generate")] = DEFAULT_DEMO_ELDERS,
    host: Annotated[str | None, typer.Option(help="overrides DISPATCH_HTTP_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="overrides DISPATCH_HTTP_PORT")] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            min=0, help="the demo watches' alarms run this many times faster than real life (0: none)"
        ),
    ] = DEFAULT_TIME_SCALE,
) -> None:
    """Migrate, seed the demo city into an empty database, and serve it with simulated devices."""
    settings = _settings()
    migrate.upgrade(settings)
    _seed(settings, seed=seed, elders=elders)
    typer.echo(
        f"Demo city ready. API http://{host or settings.http_host}:{port or settings.http_port}/docs — "
        "log in as admin, supervisor, agent1 or agent2 with the password 'demo'."
    )
    _run_server(settings, host, port, simulators=not no_simulators, time_scale=time_scale)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to a revision (default: the newest)."""
    settings = _settings()
    migrate.upgrade(settings, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, or 'base'")]) -> None:
    """Revert migrations down to a revision."""
    settings = _settings()
    migrate.downgrade(settings, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one in the code."""
    settings = _settings()
    typer.echo(f"database: {migrate.current_revision(settings)}  code: {migrate.head_revision(settings)}")


def _seed(settings: Settings, *, seed: int, elders: int) -> bool:
    from dispatch.demo.seed import seed_demo_city
    from dispatch.ingest.secrets import box_for

    async def run() -> bool:
        engine = create_engine(settings)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                return await seed_demo_city(
                    session=session,
                    clock=SystemClock(),
                    seed=seed,
                    elder_count=elders,
                    device_secrets=box_for(settings),
                )
        finally:
            await engine.dispose()

    seeded = asyncio.run(run())
    if seeded:
        typer.echo(f"seeded the demo city: {elders} elders (seed {seed})")
    else:
        typer.echo("the database already holds data; demo data not added")
    return seeded


@app.command("seed-demo")
def seed_demo(
    seed: Annotated[int, typer.Option(help="random seed of the demo city")] = DEFAULT_DEMO_SEED,
    elders: Annotated[int, typer.Option(min=1, help="how many elders to generate")] = DEFAULT_DEMO_ELDERS,
) -> None:
    """Fill an empty database with the demo city and the demo accounts (password 'demo')."""
    settings = _settings()
    migrate.upgrade(settings)
    _seed(settings, seed=seed, elders=elders)


@app.command("create-operator")
def create_operator(
    username: Annotated[str, typer.Argument()],
    role: Annotated[Role, typer.Option(help="agent, supervisor or admin")] = Role.agent,
    display_name: Annotated[str | None, typer.Option(help="defaults to the username")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create an operator account; the password is prompted for (or read from stdin)."""
    from dispatch.auth import service as auth_service
    from dispatch.errors import Conflict

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("the password must have at least 8 characters", err=True)
        raise typer.Exit(2)
    migrate.upgrade(settings)

    async def run() -> None:
        engine = create_engine(settings)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                await auth_service.create_operator(
                    session=session,
                    clock=SystemClock(),
                    actor=Actor.system("cli"),
                    username=username,
                    display_name=display_name or username,
                    role=role,
                    password=password,
                )
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except Conflict as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {role.value} {username}")


async def rotate_secrets(settings: Settings) -> int:
    """Reseal every device secret with the newest key; returns how many were resealed."""
    from dispatch.elders import service as elders_service
    from dispatch.ingest.secrets import box_for

    engine = create_engine(settings)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            return await elders_service.reseal_device_secrets(
                session=session, device_secrets=box_for(settings)
            )
    finally:
        await engine.dispose()


@app.command("rotate-device-secrets")
def rotate_device_secrets() -> None:
    """Seal every device secret with the first key of DISPATCH_DEVICE_SECRET_KEYS (after adding a key in
    front); then the old key may be dropped."""
    from dispatch.ingest.secrets import UnreadableSecret

    settings = _settings()
    migrate.upgrade(settings)
    try:
        count = asyncio.run(rotate_secrets(settings))
    except UnreadableSecret as exc:
        typer.echo(
            f"{exc}: keep every old key in DISPATCH_DEVICE_SECRET_KEYS until all are resealed", err=True
        )
        raise typer.Exit(1) from exc
    typer.echo(f"resealed {count} device secrets with the newest key")
