"""Operator accounts and their login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, enum_type


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"
    assessor = "assessor"  # an assessment agency's assessor: assessments only, never the hotline's console


STAFF_ROLES = (Role.agent, Role.supervisor, Role.admin)  # the hotline's own staff


class Operator(Base):
    """A console user (坐席): agent, supervisor or admin."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Where the hotline rings this agent: a desk or mobile number, or a `client:` identity (softphone).
    phone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class OperatorSession(Base):
    """A login: the token is kept only as a keyed hash, so a leaked table grants nothing."""

    __tablename__ = "operator_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))


class ConsoleTicket(Base):
    """A one-time, short-lived ticket to open the console's WebSocket without the session cookie (kept as a
    keyed hash, like session tokens); the socket then lives as long as the session behind it."""

    __tablename__ = "console_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("operator_session.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
