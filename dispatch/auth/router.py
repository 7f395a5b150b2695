"""Login, logout and the operator's own profile; operator management for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dispatch.api.deps import (
    SESSION_COOKIE,
    AdminActor,
    CurrentActor,
    PagingDep,
    RequestToken,
    ServicesDep,
    SessionDep,
    SignedInActor,
    client_ip,
)
from dispatch.api.errors import error_responses
from dispatch.audit import service as audit
from dispatch.auth import service
from dispatch.auth.actor import Actor
from dispatch.auth.schemas import (
    ConsoleTicketRead,
    LoginRequest,
    LoginResponse,
    OperatorAdminRead,
    OperatorCreate,
    OperatorPage,
    OperatorRead,
    OperatorUpdate,
)
from dispatch.errors import Unauthenticated
from dispatch.schemas import RowId
from dispatch.voice import agents as voice_agents

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=LoginResponse, responses=error_responses(401, 429))
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, services: ServicesDep
) -> LoginResponse:
    """Exchange username and password for a bearer token and an httpOnly session cookie. After repeated
    failures from one address for one username, 429 with Retry-After until the (growing) wait is over."""
    ip = client_ip(request)
    throttle = services.login_throttle
    await throttle.check(body.username, ip)
    try:
        operator = await service.authenticate(session=session, username=body.username, password=body.password)
    except Unauthenticated:
        await throttle.record_failure(body.username, ip)
        raise
    await throttle.record_success(body.username, ip)
    token, login_session = await service.start_session(
        session=session,
        clock=services.clock,
        operator=operator,
        secret_key=services.settings.secret_key,
        ttl_seconds=services.settings.session_ttl_seconds,
        ip=ip,
    )
    actor = Actor(operator_id=operator.id, username=operator.username, role=operator.role, ip=ip)
    await audit.record(
        session=session,
        clock=services.clock,
        actor=actor,
        action="auth.login",
        entity_type="operator",
        entity_id=operator.id,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.session_ttl_seconds,
        httponly=True,
        samesite="strict",
        secure=services.settings.cookie_secure,
        path="/",
    )
    return LoginResponse(
        access_token=token,
        expires_at=login_session.expires_at,
        operator=OperatorRead.model_validate(operator),
    )


@router.post("/auth/logout", status_code=204)
async def logout(
    response: Response, session: SessionDep, services: ServicesDep, actor: SignedInActor, token: RequestToken
) -> Response:
    """End this session; the token and cookie stop working at once."""
    if token:
        await service.end_session(
            session=session, clock=services.clock, token=token, secret_key=services.settings.secret_key
        )
    if actor.operator_id is not None:  # the seat goes offline: no call is offered to a logged-out agent
        await voice_agents.log_out(session=session, clock=services.clock, operator_id=actor.operator_id)
    await audit.record(
        session=session,
        clock=services.clock,
        actor=actor,
        action="auth.logout",
        entity_type="operator",
        entity_id=actor.operator_id,
    )
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/auth/ws-ticket", response_model=ConsoleTicketRead, status_code=201)
async def console_ticket(
    session: SessionDep, services: ServicesDep, actor: CurrentActor, token: RequestToken
) -> ConsoleTicketRead:
    """A ticket for `/ws/console?ticket=...`: valid once, for `DISPATCH_CONSOLE_TICKET_SECONDS`, for clients
    that cannot send the session cookie (the socket then lives as long as this session)."""
    assert token is not None  # noqa: S101 - CurrentActor has resolved it
    login, _ = await service.resolve_session(
        session=session, clock=services.clock, token=token, secret_key=services.settings.secret_key
    )
    ticket, expires_at = await service.issue_console_ticket(
        session=session,
        clock=services.clock,
        session_id=login.id,
        secret_key=services.settings.secret_key,
        ttl_seconds=services.settings.console_ticket_seconds,
    )
    return ConsoleTicketRead(ticket=ticket, expires_at=expires_at)


@router.get("/auth/me", response_model=OperatorRead)
async def me(session: SessionDep, actor: SignedInActor) -> OperatorRead:
    """The logged-in operator."""
    assert actor.operator_id is not None  # noqa: S101 - requests always carry an operator
    return OperatorRead.model_validate(await service.get(session=session, operator_id=actor.operator_id))


@router.get("/operators", response_model=OperatorPage, tags=["operators"])
async def list_operators(
    session: SessionDep, services: ServicesDep, actor: AdminActor, paging: PagingDep
) -> OperatorPage:
    """All operator accounts and who is logged in now (admin only)."""
    items, total = await service.list_operators(session=session, limit=paging.limit, offset=paging.offset)
    online = await service.signed_in(
        session=session, now=services.clock.now(), operator_ids=[o.id for o in items]
    )
    return OperatorPage(
        items=[
            OperatorAdminRead.model_validate(
                {**OperatorRead.model_validate(o).model_dump(), "signed_in": o.id in online}
            )
            for o in items
        ],
        total=total,
    )


@router.post("/operators/{operator_id}/sign-out", response_model=OperatorRead, tags=["operators"])
async def sign_out_operator(
    operator_id: RowId, session: SessionDep, services: ServicesDep, actor: AdminActor
) -> OperatorRead:
    """End every session of an operator (admin only)."""
    operator = await service.sign_out(
        session=session, clock=services.clock, actor=actor, operator_id=operator_id
    )
    return OperatorRead.model_validate(operator)


@router.post("/operators", response_model=OperatorRead, status_code=201, tags=["operators"])
async def create_operator(
    body: OperatorCreate, session: SessionDep, services: ServicesDep, actor: AdminActor
) -> OperatorRead:
    """Create an operator account (admin only)."""
    operator = await service.create_operator(
        session=session,
        clock=services.clock,
        actor=actor,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
    )
    return OperatorRead.model_validate(operator)


@router.patch("/operators/{operator_id}", response_model=OperatorRead, tags=["operators"])
async def update_operator(
    operator_id: RowId, body: OperatorUpdate, session: SessionDep, services: ServicesDep, actor: AdminActor
) -> OperatorRead:
    """Change an operator's name, role, password or active flag (admin only)."""
    operator = await service.update_operator(
        session=session,
        clock=services.clock,
        actor=actor,
        operator_id=operator_id,
        **body.model_dump(exclude_unset=True),
    )
    return OperatorRead.model_validate(operator)
