"""Serves the operator console at `/console/`: our own files from `console_ui/static`, and the npm
packages the build hook installed into `console_ui/node_modules` (nothing comes from a CDN)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

import console_ui
from dispatch.api.deps import CurrentActor, SettingsDep
from dispatch.calls.conditions import DEFAULT_POLICIES
from dispatch.calls.states import STATE_SLA_SECONDS
from dispatch.catalog import ServiceType

logger = logging.getLogger(__name__)

CONSOLE_DIR = Path(console_ui.__file__).parent
NODE_MODULES = CONSOLE_DIR / "node_modules"
# URL under /console/vendor/ → directory inside node_modules
VENDOR_DIRS = {
    "leaflet": "leaflet/dist",
    "htm": "htm",
    "noto-sans-sc": "@fontsource/noto-sans-sc",
    "qrcode-generator": "qrcode-generator/dist",
}

router = APIRouter(tags=["console"])


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/api/v1/console/config")
async def console_config(settings: SettingsDep, actor: CurrentActor) -> dict[str, Any]:
    """What the console needs to know about this deployment."""
    return {
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "p1_ack_seconds": settings.p1_ack_seconds,
        "state_sla_seconds": {state.value: seconds for state, seconds in STATE_SLA_SECONDS.items()},
        "service_types": [t.value for t in ServiceType],
        "wrap_up_seconds": settings.wrap_up_seconds,
        "operator": {"username": actor.username, "role": actor.role},
        # What an elder's alarm overrides start from (the elder page's alarm settings).
        "alarm_defaults": {condition.value: asdict(policy) for condition, policy in DEFAULT_POLICIES.items()},
        "quiet_hours": settings.quiet_hours,
    }


def mount_console(app: FastAPI) -> None:
    """Add the console's routes and static files to the app."""
    app.include_router(router)
    for name, relative in VENDOR_DIRS.items():
        directory = NODE_MODULES / relative
        if not directory.is_dir():
            logger.warning(
                "console asset %s is missing (%s): reinstall the project to run npm ci", name, directory
            )
        app.mount(
            f"/console/vendor/{name}",
            StaticFiles(directory=directory, check_dir=False),
            name=f"vendor-{name}",
        )
    app.mount("/console", StaticFiles(directory=CONSOLE_DIR / "static", html=True), name="console")
