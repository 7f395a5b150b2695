"""Operators: authentication, login sessions and account management."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import ConsoleTicket, Operator, OperatorSession, Role
from dispatch.auth.passwords import hash_password, needs_rehash, verify_password
from dispatch.bus.outbox import announce
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.errors import Conflict, NotFound, Unauthenticated


def token_digest(token: str, secret_key: str) -> str:
    """The keyed hash under which a session token is stored."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


async def get_by_username(*, session: AsyncSession, username: str) -> Operator | None:
    """The operator with this username, if any."""
    return await session.scalar(select(Operator).where(Operator.username == username))


async def get(*, session: AsyncSession, operator_id: int) -> Operator:
    """The operator with this id, or NotFound."""
    operator = await session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    return operator


async def authenticate(*, session: AsyncSession, username: str, password: str) -> Operator:
    """The active operator whose password matches, or Unauthenticated (same time either way)."""
    operator = await get_by_username(session=session, username=username)
    valid = await verify_password(password, operator.password_hash if operator else None)
    if operator is None or not valid or not operator.active:
        raise Unauthenticated("wrong username or password")
    if needs_rehash(operator.password_hash):
        operator.password_hash = await hash_password(password)
    return operator


async def start_session(
    *,
    session: AsyncSession,
    clock: Clock,
    operator: Operator,
    secret_key: str,
    ttl_seconds: int,
    ip: str | None,
) -> tuple[str, OperatorSession]:
    """A new login session; returns the bearer token (shown once) and the stored session."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    login = OperatorSession(
        token_hash=token_digest(token, secret_key),
        operator_id=operator.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        ip=ip,
    )
    operator.last_login_at = now
    session.add(login)
    await session.flush()
    return token, login


SESSION_REVOKED = "session_revoked"  # console-channel message: close the live feeds of these sessions


async def _live_login(
    session: AsyncSession, clock: Clock, condition: ColumnElement[bool]
) -> tuple[OperatorSession, Operator]:
    row = await session.execute(
        select(OperatorSession, Operator)
        .join(Operator, Operator.id == OperatorSession.operator_id)
        .where(condition)
    )
    found = row.first()
    if found is None:
        raise Unauthenticated("invalid session")
    login, operator = found
    if not session_is_live(login, clock.now()) or not operator.active:
        raise Unauthenticated("session expired or revoked")
    return login, operator


async def resolve_session(
    *, session: AsyncSession, clock: Clock, token: str, secret_key: str
) -> tuple[OperatorSession, Operator]:
    """The live session a token opens and its operator, or Unauthenticated."""
    return await _live_login(session, clock, OperatorSession.token_hash == token_digest(token, secret_key))


async def resolve_token(*, session: AsyncSession, clock: Clock, token: str, secret_key: str) -> Operator:
    """The operator a live session token belongs to, or Unauthenticated."""
    _, operator = await resolve_session(session=session, clock=clock, token=token, secret_key=secret_key)
    return operator


async def session_still_live(*, session: AsyncSession, clock: Clock, session_id: int) -> bool:
    """Whether a session still grants access (not revoked, not expired, its operator active)."""
    try:
        await _live_login(session, clock, OperatorSession.id == session_id)
    except Unauthenticated:
        return False
    return True


async def issue_console_ticket(
    *, session: AsyncSession, clock: Clock, session_id: int, secret_key: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """A one-time ticket opening the console's live feed for this session within `ttl_seconds`."""
    now = clock.now()
    await session.execute(delete(ConsoleTicket).where(ConsoleTicket.expires_at < now))
    ticket = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(
        ConsoleTicket(
            ticket_hash=token_digest(ticket, secret_key),
            session_id=session_id,
            expires_at=expires_at,
            used_at=None,
        )
    )
    await session.flush()
    return ticket, expires_at


async def redeem_console_ticket(
    *, session: AsyncSession, clock: Clock, ticket: str, secret_key: str
) -> tuple[OperatorSession, Operator]:
    """The live session a ticket was issued for; the ticket is spent (once, across processes)."""
    now = clock.now()
    spent = await session.execute(
        update(ConsoleTicket)
        .where(
            ConsoleTicket.ticket_hash == token_digest(ticket, secret_key),
            ConsoleTicket.used_at.is_(None),
            ConsoleTicket.expires_at > now,
        )
        .values(used_at=now)
        .returning(ConsoleTicket.session_id)
    )
    session_id = spent.scalar_one_or_none()
    if session_id is None:
        raise Unauthenticated("invalid, used or expired ticket")
    return await _live_login(session, clock, OperatorSession.id == session_id)


async def end_session(*, session: AsyncSession, clock: Clock, token: str, secret_key: str) -> None:
    """Revoke the session behind a token (logging out twice is harmless); its live feeds close."""
    revoked = await session.execute(
        update(OperatorSession)
        .where(OperatorSession.token_hash == token_digest(token, secret_key))
        .where(OperatorSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .returning(OperatorSession.id)
    )
    session_ids = list(revoked.scalars())
    if session_ids:
        announce(session, CONSOLE_CHANNEL, {"type": SESSION_REVOKED, "session_ids": session_ids})


async def revoke_all_sessions(*, session: AsyncSession, clock: Clock, operator_id: int) -> None:
    """End every live session of an operator (deactivation, password change); their live feeds close."""
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id)
        .where(OperatorSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    announce(session, CONSOLE_CHANNEL, {"type": SESSION_REVOKED, "operator_id": operator_id})


async def create_operator(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    username: str,
    display_name: str,
    role: Role,
    password: str,
) -> Operator:
    """A new operator account; Conflict if the username is taken."""
    if await get_by_username(session=session, username=username) is not None:
        raise Conflict(f"username {username!r} is taken")
    now = clock.now()
    operator = Operator(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=await hash_password(password),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(operator)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="operator.create",
        entity_type="operator",
        entity_id=operator.id,
        detail={"username": username, "role": role.value},
    )
    return operator


async def update_operator(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    operator_id: int,
    display_name: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    password: str | None = None,
    phone: str | None = None,
) -> Operator:
    """Change an operator; deactivating or resetting the password ends their sessions. `phone` is where
    the hotline rings them ("" clears it)."""
    operator = await get(session=session, operator_id=operator_id)
    wanted = {"display_name": display_name, "role": role, "active": active}
    changes = audit.apply_changes(
        operator, {key: value for key, value in wanted.items() if value is not None}
    )
    if phone is not None:
        changes |= audit.apply_changes(operator, {"phone": phone.replace(" ", "").replace("-", "") or None})
    if password is not None:
        changes |= audit.apply_changes(operator, {"password_hash": await hash_password(password)})
    operator.updated_at = clock.now()
    if active is False or password is not None:
        await revoke_all_sessions(session=session, clock=clock, operator_id=operator.id)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="operator.update",
        entity_type="operator",
        entity_id=operator.id,
        detail=changes,
    )
    await session.flush()
    return operator


async def list_operators(*, session: AsyncSession, limit: int, offset: int) -> tuple[list[Operator], int]:
    """Operators by username, with the total count."""
    return await fetch_page(session, select(Operator), Operator.username, limit=limit, offset=offset)


async def signed_in(*, session: AsyncSession, now: datetime, operator_ids: list[int]) -> set[int]:
    """Which of these operators hold a live session (logged in, not logged out, not expired)."""
    rows = await session.scalars(
        select(OperatorSession.operator_id)
        .where(
            OperatorSession.operator_id.in_(operator_ids),
            OperatorSession.revoked_at.is_(None),
            OperatorSession.expires_at > now,
        )
        .distinct()
    )
    return set(rows)


async def sign_out(*, session: AsyncSession, clock: Clock, actor: Actor, operator_id: int) -> Operator:
    """End every session of an operator (a lost badge, a shared screen); audited."""
    operator = await get(session=session, operator_id=operator_id)
    await revoke_all_sessions(session=session, clock=clock, operator_id=operator_id)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="operator.sign_out",
        entity_type="operator",
        entity_id=operator_id,
    )
    return operator


async def count_operators(*, session: AsyncSession) -> int:
    """How many operator accounts exist."""
    return int(await session.scalar(select(func.count()).select_from(Operator)) or 0)


def session_is_live(login: OperatorSession, now: datetime) -> bool:
    """Whether a stored session still grants access."""
    return login.revoked_at is None and login.expires_at > now
