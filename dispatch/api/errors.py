"""Every error leaves the API in one JSON shape: {"code", "message", "detail"}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (RateLimited, 429),
    (PayloadTooLarge, 413),
]


def status_for(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def error_body(code: str, message: str, detail: object = None) -> dict[str, object]:
    return {"code": code, "message": message, "detail": detail}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    status = status_for(exc)
    if status in (401, 403, 429):
        logger.info("%s %s refused: %s", request.method, request.url.path, exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited) and isinstance(exc.detail, dict) and "retry_after" in exc.detail:
        headers = {"Retry-After": str(exc.detail["retry_after"])}
    return JSONResponse(
        error_body(exc.code, exc.message, jsonable_encoder(exc.detail)), status_code=status, headers=headers
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
    """The database or Redis cannot be reached right now (a restart, a cut): 503, try again shortly."""
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


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, validation and HTTP errors to the one JSON shape; an unreachable database or Redis
    to 503."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(RedisConnectionError, _unavailable)
    app.add_exception_handler(ConnectionError, _unavailable)  # refused before the driver wraps it
