"""NUL characters: PostgreSQL cannot store them in text, so a request carrying one in its path, query, JSON or
form is refused with a 422 before any route sees it, on either database (SQLite would take it)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.responses import JSONResponse

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


async def refuse_nul(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware: a 422 for a request with a NUL in it; others pass untouched."""
    found = NUL in request.url.path or any(
        NUL in key + value for key, value in request.query_params.multi_items()
    )
    if not found and request.method in ("POST", "PUT", "PATCH"):
        found = body_has_nul(await request.body(), request.headers.get("content-type", ""))
    if found:
        return JSONResponse(
            error_body("validation_error", "NUL characters are not accepted", None), status_code=422
        )
    return await call_next(request)
