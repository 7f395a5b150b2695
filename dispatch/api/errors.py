"""Every error leaves the API in one JSON shape: {"code", "message", "detail"}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.errors import (
    Conflict,
    DomainError,
    Gone,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    UpstreamFailed,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (Gone, 410),
    (RateLimited, 429),
    (PayloadTooLarge, 413),
    (UpstreamFailed, 502),
]


class ErrorBody(BaseModel):
    """The one JSON shape of every error answer."""

    code: str = Field(description="stable machine-readable reason, e.g. not_found, invalid_transition")
    message: str = Field(description="in English, for API readers and the log")
    detail: Any = Field(default=None, description="validation errors (loc, msg, type) or the domain's detail")
    reason: str | None = Field(default=None, description="the specific case as a code, e.g. window_over")
    params: dict[str, Any] = Field(default_factory=dict, description="the values the reason's text names")


ERROR_DESCRIPTIONS = {
    400: "Malformed request body, or a request the service refuses",
    401: "Not logged in, or the session has ended",
    403: "The operator's role (or claim on the call) does not allow this",
    404: "The thing asked for, or one it refers to, does not exist",
    409: "Clashes with the current state: a duplicate or a refused state change",
    410: "The link has expired",
    422: "Invalid input",
    429: "Too many attempts",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses answer the one error shape."""
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def status_for(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def error_body(
    code: str,
    message: str,
    detail: object = None,
    *,
    reason: str | None = None,
    params: dict[str, object] | None = None,
) -> dict[str, object]:
    return {"code": code, "message": message, "detail": detail, "reason": reason, "params": params or {}}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    status = status_for(exc)
    if status in (401, 403, 429):
        logger.info("%s %s refused: %s", request.method, request.url.path, exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited) and isinstance(exc.detail, dict) and "retry_after" in exc.detail:
        headers = {"Retry-After": str(exc.detail["retry_after"])}
    return JSONResponse(
        error_body(
            exc.code,
            exc.message,
            jsonable_encoder(exc.detail),
            reason=exc.reason,
            params=jsonable_encoder(exc.params),
        ),
        status_code=status,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return JSONResponse(
        error_body("validation_error", summary or "invalid request", jsonable_encoder(errors)),
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(exc.status_code, "error")
    return JSONResponse(
        error_body(code, str(exc.detail), None), status_code=exc.status_code, headers=exc.headers
    )


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database or Redis cannot be reached right now (a restart, a cut, no pooled connection free in
    time): 503, try again shortly."""
    unreachable = not isinstance(exc, DBAPIError) or (
        isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    )
    if not unreachable:
        logger.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)
    logger.warning("%s %s: a backing service is unreachable: %r", request.method, request.url.path, exc)
    return JSONResponse(
        error_body("unavailable", "a backing service is unreachable; try again shortly"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


def errors_of(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer by its shape: input, login, ids in the path, writes."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    by_id = any(parameter["in"] == "path" for parameter in parameters)
    operator = bool(operation.get("security"))
    write = method != "get"
    statuses = set()
    if parameters or has_body:
        statuses.add(422)
    if has_body:
        statuses.add(400)  # a body that is not JSON
    if operator:
        statuses |= {401, 403}
    if by_id or (operator and write and has_body):
        statuses.add(404)  # the row in the path, or one the body names
    if write and (by_id or (operator and has_body)):
        statuses.add(409)  # the change meets the rows' current state
    return sorted(statuses)


def _document_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorBody", ErrorBody.model_json_schema(mode="serialization"))
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, which we never send
        components.pop(name, None)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path in schema["paths"].values():
        for method, operation in path.items():
            responses = operation["responses"]
            for status in errors_of(method, operation):
                documented = responses.get(str(status))
                if documented is None or "HTTPValidationError" in str(documented):
                    responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": error}


def document_errors(app: FastAPI) -> None:
    """Every route's OpenAPI entry lists the errors it can answer, in the one shape."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_errors(generate())
        assert app.openapi_schema is not None  # noqa: S101 - `generate` stored it
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, validation and HTTP errors to the one JSON shape; an unreachable database or Redis
    to 503."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
    app.add_exception_handler(RedisConnectionError, _unavailable)
    app.add_exception_handler(ConnectionError, _unavailable)  # refused before the driver wraps it
