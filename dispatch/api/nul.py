"""NUL characters: PostgreSQL cannot store them in text, so a request carrying one in its path, query, JSON or
form is refused with a 422 before any route sees it, on either database (SQLite would take it)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.api.errors import error_body

NUL = "\x00"


def contains_nul(value: object) -> bool:
    """A NUL anywhere in a decoded JSON value: keys, strings, nested."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def body_has_nul(body: bytes, content_type: str) -> bool:
    """Decodes only a body that may hold one: a JSON `\\u0000` escape, a form's `%00` (files are not text)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        if b"%00" not in body and b"\x00" not in body:
            return False
        return any(
            NUL in key + value for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        )
    if (not content_type or "json" in content_type) and b"\\u0000" in body:
        try:
            return contains_nul(json.loads(body))
        except ValueError:
            return False  # not JSON: the route says so
    return False


class RefuseNul:
    """ASGI middleware: a 422 for a request with a NUL in it; others pass untouched (a plain ASGI layer,
    since Starlette's `BaseHTTPMiddleware` costs every request a task group and a stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        found = NUL in request.url.path or any(
            NUL in key + value for key, value in request.query_params.multi_items()
        )
        if not found and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # read once here, then handed on as it came
            found = body_has_nul(body, request.headers.get("content-type", ""))
            receive = _replaying(body, receive)
        if found:
            response = JSONResponse(
                error_body("validation_error", "NUL characters are not accepted", None), status_code=422
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever the client sends next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
