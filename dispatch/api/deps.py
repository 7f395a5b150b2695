"""Request dependencies: the database session (unit of work), the clock, and the one place a token
becomes an operator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.api.state import AppServices
from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import STAFF_ROLES, Role
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.clock import Clock
from dispatch.errors import PermissionDenied, Unauthenticated
from dispatch.schemas import MAX_ROW_ID
from dispatch.settings import Settings

SESSION_COOKIE = "dispatch_session"

_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]


def get_clock(services: ServicesDep) -> Clock:
    return services.clock


def get_app_settings(services: ServicesDep) -> Settings:
    return services.settings


ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request, services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.
    Requests that change things get a claiming session (on SQLite: the write lock from the start)."""
    factory = services.readers if request.method in READING_METHODS else services.sessions
    async with factory() as session:
        try:
            yield session
            await commit_and_publish(session, services.bus)
        except BaseException:
            discard_announced(session)
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, never after.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def get_request_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    """The bearer token from the Authorization header, else from the console's session cookie."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


RequestToken = Annotated[str | None, Depends(get_request_token)]


async def get_signed_in_actor(
    request: Request, session: SessionDep, services: ServicesDep, token: RequestToken
) -> Actor:
    """The logged-in operator behind this request (of any role), or 401."""
    if not token:
        raise Unauthenticated("login required")
    operator = await auth_service.resolve_token(
        session=session, clock=services.clock, token=token, secret_key=services.settings.secret_key
    )
    return Actor(
        operator_id=operator.id, username=operator.username, role=operator.role, ip=client_ip(request)
    )


SignedInActor = Annotated[Actor, Depends(get_signed_in_actor)]


def require_role(*roles: Role) -> Callable[[Actor], Coroutine[Any, Any, Actor]]:
    """A dependency admitting only operators with one of these roles (403 otherwise)."""

    async def check(actor: SignedInActor) -> Actor:
        if actor.role not in roles:
            raise PermissionDenied(f"role {actor.role.value} may not do this")
        return actor

    return check


# The hotline's staff (agents, supervisors, admins): every route of the console's work; assessors, who
# log in too, reach only what is theirs.
CurrentActor = Annotated[Actor, Depends(require_role(*STAFF_ROLES))]
AdminActor = Annotated[Actor, Depends(require_role(Role.admin))]
ManagerActor = Annotated[Actor, Depends(require_role(Role.supervisor, Role.admin))]


class Paging:
    """`?limit=&offset=` of every list endpoint."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PagingDep = Annotated[Paging, Depends()]
