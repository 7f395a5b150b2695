"""`GET /api/v1/settings`: the server's configuration as it runs, read-only, secrets hidden."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter
from pydantic import BaseModel

from dispatch.api.deps import AdminActor, SettingsDep
from dispatch.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["administration"])

SECRET_NAME = re.compile(r"secret|token|password|_keys?$")


class SettingRead(BaseModel):
    name: str  # the environment variable, e.g. DISPATCH_P1_ACK_SECONDS
    value: str  # "" when unset; "••••••" for a secret that is set
    secret: bool


class SettingsRead(BaseModel):
    items: list[SettingRead]


def shown(name: str, value: Any) -> tuple[str, bool]:
    """A setting's value as an administrator may see it: secrets masked, a URL's password removed."""
    text = "" if value is None else str(getattr(value, "value", value))
    if SECRET_NAME.search(name):
        return ("••••••" if text else ""), True
    if "://" in text:
        parts = urlsplit(text)
        if parts.password:
            netloc = f"{parts.username}:••••••@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc)), True
    return text, False


def settings_items(settings: Settings) -> list[SettingRead]:
    items = []
    for name in sorted(Settings.model_fields):
        value, secret = shown(name, getattr(settings, name))
        items.append(SettingRead(name=f"DISPATCH_{name.upper()}", value=value, secret=secret))
    return items


@router.get("/settings", response_model=SettingsRead)
async def read_settings(settings: SettingsDep, actor: AdminActor) -> SettingsRead:
    """Every DISPATCH_* setting as this process runs with it (admin only); secrets are never shown."""
    return SettingsRead(items=settings_items(settings))
