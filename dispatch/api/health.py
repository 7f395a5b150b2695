"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.api.deps import ServicesDep

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database or Redis does not answer"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database (and Redis, when configured) answer."""
    checks: dict[str, str] = {}
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        logger.warning("readiness: database unreachable: %s", exc)
        checks["database"] = "unreachable"
    if services.settings.redis_url:
        try:
            checks["redis"] = "ok" if await services.bus.ping() else "unreachable"
        except Exception as exc:
            logger.warning("readiness: redis unreachable: %s", exc)
            checks["redis"] = "unreachable"
    else:
        checks["bus"] = "in-process"
    ready = all(value in ("ok", "in-process") for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition (the hotline's gauges recomputed first)."""
    if services.voice_metrics is not None:
        try:
            async with services.readers() as session:
                await services.voice_metrics.refresh(
                    session=session, clock=services.clock, wrap_up_seconds=services.settings.wrap_up_seconds
                )
        except Exception as exc:
            logger.warning("metrics: voice figures unavailable: %s", exc)
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Request counts and latencies by route template (not raw path, to keep cardinality bounded)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "dispatch_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "dispatch_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI layer that counts and times every HTTP request (a plain one: Starlette's
        `BaseHTTPMiddleware` costs every request a task group and a stream)."""

        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = HTTPStatus.INTERNAL_SERVER_ERROR.value

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                route = _route_template(scope)
                self.requests.labels(scope["method"], route, str(status)).inc()
                self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)

        return measured


def _route_template(scope: Scope) -> str:
    return str(getattr(scope.get("route"), "path", "unmatched"))
