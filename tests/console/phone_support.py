"""What the phone console tests share: a real `dispatch serve` on the Redis bus (so a test can announce a
console message the way the telephony does), phone-call rows written into its database, and the checks
that a component speaks one language only."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.models import Operator
from dispatch.bus.redis import RedisBus
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Elder, HealthRecord
from dispatch.settings import Settings
from dispatch.voice.models import (
    CallerKind,
    Direction,
    PhoneCall,
    PhoneCallState,
    PhoneCategory,
    PhoneOutcome,
)

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]")
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# Data, not interface text: names, numbers and notes are what they are in either language.
DATA_SELECTORS = ".elder-name, .agent-name, .agent-column li, .note, .number, .entry-who, [data-testid=caller-name], [data-data]"


@dataclass(frozen=True)
class PhoneSite:
    base: str
    data_dir: Path
    redis_url: str


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    phone: str


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: CONSOLE_SCREENSHOTS (e.g. console_ui/screenshots) when set, else the test's tmp."""
    configured = os.environ.get("CONSOLE_SCREENSHOTS")
    return Path(configured) if configured else tmp_path


@asynccontextmanager
async def database(site: PhoneSite) -> AsyncIterator[AsyncSession]:
    engine = create_engine(Settings(data_dir=site.data_dir))
    try:
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def operator(site: PhoneSite, username: str) -> Person:
    async with database(site) as session:
        row = await session.scalar(select(Operator).where(Operator.username == username))
        assert row is not None
        return Person(row.id, row.display_name, row.phone or "")


async def elders_with_phones(site: PhoneSite) -> list[Person]:
    async with database(site) as session:
        rows = await session.scalars(select(Elder).where(Elder.phone.is_not(None)).order_by(Elder.id))
        return [Person(e.id, e.name, e.phone or "") for e in rows]


async def the_most_ailing_elder(site: PhoneSite) -> Person:
    """The elder with a phone and the most conditions and allergies: the fullest card."""
    async with database(site) as session:
        rows = await session.execute(
            select(Elder, HealthRecord)
            .join(HealthRecord, HealthRecord.elder_id == Elder.id)
            .where(Elder.phone.is_not(None))
        )
        elder, _ = max(
            rows.all(), key=lambda row: (len(row[1].conditions) + len(row[1].allergies), -row[0].id)
        )
        return Person(elder.id, elder.name, elder.phone or "")


async def add_phone_call(site: PhoneSite, **fields: Any) -> int:
    """A phone call row as the telephony writes it (inbound, offered to nobody yet unless said)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "direction": Direction.inbound,
        "state": PhoneCallState.ringing,
        "category": PhoneCategory.emergency,
        "from_number": "+8613900000000",
        "to_number": "12349",
        "caller_kind": CallerKind.unknown,
        "queued_at": now,
        "offered_at": now,
        "created_by": "telephony",
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    async with database(site) as session:
        phone_call = PhoneCall(**values)
        session.add(phone_call)
        await session.commit()
        return phone_call.id


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


async def phone_call_json(site: PhoneSite, phone_call_id: int) -> dict[str, Any]:
    """The phone call as the console messages carry it (the contract's keys)."""
    async with database(site) as session:
        pc = await session.get(PhoneCall, phone_call_id)
        assert pc is not None
        return {
            "id": pc.id,
            "direction": pc.direction.value,
            "from": pc.from_number,
            "to": pc.to_number,
            "elder_id": pc.elder_id,
            "agent": pc.agent_name,
            "agent_id": pc.agent_id,
            "state": pc.state.value,
            "outcome": pc.outcome.value if pc.outcome else None,
            "category": pc.category.value if pc.category else None,
            "caller_kind": pc.caller_kind.value,
            "queued_at": _iso(pc.queued_at),
            "offered_at": _iso(pc.offered_at),
            "answered_at": _iso(pc.answered_at),
            "ended_at": _iso(pc.ended_at),
            "talk_seconds": pc.talk_seconds,
            "recording": None,
            "call_id": pc.call_id,
            "order_id": pc.order_id,
            "follow_up_id": pc.follow_up_id,
            "care_call_id": pc.care_call_id,
            "complaint_id": pc.complaint_id,
            "contact_id": pc.contact_id,
            "provider_id": pc.provider_id,
            "by_hand": pc.by_hand,
            "note": pc.note,
        }


async def announce(site: PhoneSite, message: dict[str, Any]) -> None:
    """Publish a console message on the shared bus, as the server's telephony does after its commit."""
    bus = RedisBus.from_url(site.redis_url)
    await bus.publish(CONSOLE_CHANNEL, message)


async def offer(site: PhoneSite, phone_call_id: int, operator_id: int) -> None:
    """The screen-pop trigger: the call is offered to this operator."""
    message = await phone_call_json(site, phone_call_id)
    await announce(
        site, {"type": "phone", "change": "offered", "phone_call": message, "for_operator_id": operator_id}
    )


@asynccontextmanager
async def rest(site: PhoneSite, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
        assert login.status_code == 200, login.text
        yield http


async def interface_text(component: Locator) -> str:
    """A component's visible text without its data (names, numbers, notes)."""
    text: str = await component.evaluate(
        """(node, selectors) => {
            const copy = node.cloneNode(true);
            copy.querySelectorAll(selectors).forEach((n) => n.remove());
            copy.querySelectorAll('select').forEach((s) => {
              [...s.options].forEach((o) => { if (!o.selected) o.remove(); });
            });
            document.body.appendChild(copy);
            const text = copy.innerText;
            copy.remove();
            return text;
        }""",
        DATA_SELECTORS,
    )
    return text


def answered(**extra: Any) -> dict[str, Any]:
    return {"state": PhoneCallState.ended, "outcome": PhoneOutcome.answered, **extra}
