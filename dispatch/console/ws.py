"""`/ws/console`: pushes every call change to logged-in operators, from whichever server process it
happened in (the bus's console channel, through the process's ConsoleHub). On (re)connect the console first
gets a `resync` with the open calls, then live messages, so nothing published while it was away is missed.
The resync carries the server's time, so countdowns agree with the server's deadlines.

Who may connect: a browser page of this server (or of `DISPATCH_PUBLIC_BASE_URL`) by `Origin` (else
closed with 1008, policy violation), with the session cookie, or any client with a one-time ticket from
`POST /api/v1/auth/ws-ticket` (`?ticket=`, also accepted as `?token=`). A bearer token in the URL is not
accepted: URLs end up in logs. The socket lives as long as its session: a logout or a deactivated operator
closes it (4401) at once, in every process, and it is re-checked every
`DISPATCH_CONSOLE_SESSION_CHECK_SECONDS` (expiry, or a revocation the bus did not carry)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dispatch.api.deps import SESSION_COOKIE
from dispatch.api.state import AppServices
from dispatch.auth import service as auth_service
from dispatch.auth.models import STAFF_ROLES, Role
from dispatch.bus.outbox import commit_and_publish
from dispatch.calls import service as calls_service
from dispatch.calls.states import QUEUE_STATES
from dispatch.console.hub import ConsoleListener
from dispatch.console.origin import origin_allowed
from dispatch.errors import Unauthenticated

logger = logging.getLogger(__name__)

router = APIRouter()

UNAUTHENTICATED = 4401  # WebSocket close code: log in first (or again)
FORBIDDEN = 4403  # WebSocket close code: this operator's role may not have it
POLICY_VIOLATION = 1008  # WebSocket close code: a page of another site
RESYNC_NEEDED = 1013  # WebSocket close code "try again later": the console reconnects and resyncs


@dataclass(frozen=True, slots=True)
class ConsoleLogin:
    """Whose console this is, and the login session it lives on."""

    operator_id: int
    username: str
    role: Role
    session_id: int


async def _login(websocket: WebSocket, services: AppServices) -> ConsoleLogin | None:
    """The session behind the cookie or the one-time ticket, or None."""
    ticket = websocket.query_params.get("ticket") or websocket.query_params.get("token")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    secret_key, clock = services.settings.secret_key, services.clock
    async with services.sessions() as session:
        try:
            if ticket:
                login, operator = await auth_service.redeem_console_ticket(
                    session=session, clock=clock, ticket=ticket, secret_key=secret_key
                )
                await commit_and_publish(session, services.bus)
            elif cookie:
                login, operator = await auth_service.resolve_session(
                    session=session, clock=clock, token=cookie, secret_key=secret_key
                )
            else:
                return None
        except Unauthenticated:
            return None
        return ConsoleLogin(
            operator_id=operator.id, username=operator.username, role=operator.role, session_id=login.id
        )


async def _resync(websocket: WebSocket, services: AppServices) -> None:
    async with services.sessions() as session:
        calls, _ = await calls_service.list_calls(
            session=session, limit=500, offset=0, where=calls_service.CallFilter(states=sorted(QUEUE_STATES))
        )
    now = services.clock.now()
    await websocket.send_json(
        {
            "type": "resync",
            "server_time": now.isoformat(),
            "calls": [calls_service.call_json(c, now) for c in calls],
        }
    )


async def _watch_session(services: AppServices, login: ConsoleLogin, listener: ConsoleListener) -> None:
    """Close the console once its session no longer grants access."""
    while True:
        await asyncio.sleep(services.settings.console_session_check_seconds)
        async with services.sessions() as session:
            live = await auth_service.session_still_live(
                session=session, clock=services.clock, session_id=login.session_id
            )
        if not live:
            listener.revoke()
            return


async def _forward(websocket: WebSocket, listener: ConsoleListener) -> None:
    while (text := await listener.queue.get()) is not None:
        await websocket.send_text(text)
    if listener.revoked:
        await websocket.close(code=UNAUTHENTICATED, reason="session ended")
    else:
        await websocket.close(code=RESYNC_NEEDED, reason="resync")


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    services: AppServices = websocket.app.state.services
    origin = websocket.headers.get("origin")
    if not origin_allowed(
        origin, host=websocket.headers.get("host"), public_base_url=services.settings.public_base_url
    ):
        logger.warning("console socket from origin %r refused", origin)
        await websocket.close(code=POLICY_VIOLATION, reason="origin not allowed")
        return
    login = await _login(websocket, services)
    if login is None:
        await websocket.close(code=UNAUTHENTICATED, reason="login required")
        return
    if login.role not in STAFF_ROLES:
        await websocket.close(code=FORBIDDEN, reason="the console's live feed is for the hotline's staff")
        return
    await websocket.accept()
    hub = services.console_hub
    # Listen before the resync, so nothing falls between.
    with hub.listen(operator_id=login.operator_id, session_id=login.session_id) as listener:
        await _resync(websocket, services)
        tasks = [
            asyncio.create_task(_forward(websocket, listener)),
            asyncio.create_task(_watch_session(services, login, listener)),
        ]
        try:
            while True:  # the console may send pings; a disconnect ends the loop
                await websocket.receive_text()
        except WebSocketDisconnect:
            logger.debug("console of %s disconnected", login.username)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
