"""Request and response bodies of authentication and operator management."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.auth.models import Role

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{2,64}$"


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class OperatorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    phone: str | None = None
    created_at: datetime
    last_login_at: datetime | None


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime
    operator: OperatorRead


class OperatorCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=64)
    role: Role
    password: str = Field(min_length=8, max_length=256)


OPERATOR_PHONE_PATTERN = r"^(\+?[0-9][0-9 -]{4,22}|client:[A-Za-z0-9_.-]{1,50})?$"


class OperatorUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)
    phone: str | None = Field(
        default=None,
        pattern=OPERATOR_PHONE_PATTERN,
        description='where the hotline rings this operator: a number, or "client:<name>" (softphone); "" clears',
    )


class OperatorAdminRead(OperatorRead):
    """An account as administrators see it: whether it is logged in now."""

    signed_in: bool


class OperatorPage(BaseModel):
    items: list[OperatorAdminRead]
    total: int


class ConsoleTicketRead(BaseModel):
    """A one-time ticket to open `/ws/console?ticket=...` without the session cookie."""

    ticket: str
    expires_at: datetime
