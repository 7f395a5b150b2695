"""Request helpers shared by the fake's REST and control endpoints."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class BadControlRequest(Exception):
    """A `/_fake` control request whose body is not a JSON object."""


async def form_fields(request: Request) -> dict[str, str]:
    """The request's url-encoded form (what the twilio client posts), first value of each field."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


async def json_object(request: Request) -> dict[str, object]:
    """The request's JSON object body (BadControlRequest otherwise; an empty body is `{}`)."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadControlRequest(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadControlRequest("expected a JSON object")
    return data


def optional_str(value: object) -> str | None:
    """A non-empty string or None."""
    return value if isinstance(value, str) and value else None


def bad_request(message: str) -> JSONResponse:
    """A 400 for the `/_fake` controls."""
    return JSONResponse({"message": message}, status_code=400)


async def bad_control_request(_request: Request, exc: Exception) -> Response:
    """Exception handler for BadControlRequest."""
    return bad_request(str(exc))
