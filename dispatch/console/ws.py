"""`/ws/console`: pushes every call change to logged-in operators, from whichever server process it
happened in (the bus's console channel, through the process's ConsoleHub). On (re)connect the console first gets a `resync` with the open
calls, then live messages, so nothing published while it was away is missed. The resync
carries the server's time, so countdowns agree with the server's deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dispatch.api.deps import SESSION_COOKIE
from dispatch.api.state import AppServices
from dispatch.auth import service as auth_service
from dispatch.calls import service as calls_service
from dispatch.calls.states import QUEUE_STATES
from dispatch.errors import Unauthenticated

logger = logging.getLogger(__name__)

router = APIRouter()

UNAUTHENTICATED = 4401  # WebSocket close code: log in first


async def _operator_name(websocket: WebSocket, services: AppServices) -> str | None:
    token = websocket.query_params.get("token") or websocket.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with services.sessions() as session:
        try:
            operator = await auth_service.resolve_token(
                session=session, clock=services.clock, token=token, secret_key=services.settings.secret_key
            )
        except Unauthenticated:
            return None
        return operator.username


async def _resync(websocket: WebSocket, services: AppServices) -> None:
    async with services.sessions() as session:
        calls, _ = await calls_service.list_calls(
            session=session, limit=500, offset=0, states=sorted(QUEUE_STATES)
        )
    now = services.clock.now()
    await websocket.send_json(
        {
            "type": "resync",
            "server_time": now.isoformat(),
            "calls": [calls_service.call_json(c, now) for c in calls],
        }
    )


RESYNC_NEEDED = 1013  # WebSocket close code "try again later": the console reconnects and resyncs


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    services: AppServices = websocket.app.state.services
    username = await _operator_name(websocket, services)
    if username is None:
        await websocket.close(code=UNAUTHENTICATED, reason="login required")
        return
    await websocket.accept()
    with services.console_hub.listen() as listener:  # before the resync, so nothing falls between
        await _resync(websocket, services)

        async def forward() -> None:
            while (text := await listener.queue.get()) is not None:
                await websocket.send_text(text)
            await websocket.close(code=RESYNC_NEEDED, reason="resync")

        forwarding = asyncio.create_task(forward())
        try:
            while True:  # the console may send pings; a disconnect ends the loop
                await websocket.receive_text()
        except WebSocketDisconnect:
            logger.debug("console of %s disconnected", username)
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await forwarding
