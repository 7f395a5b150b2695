"""The hotline's service layer on each database, with the fake clock and the in-memory telephony (which
only records what it is asked: for the routing rules; the real client is tested against the fake Twilio)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.bus.memory import MemoryBus
from dispatch.clock import FakeClock
from dispatch.db.session import create_session_factory
from dispatch.elders import service as elders_service
from dispatch.elders.models import Device
from dispatch.elders.schemas import DeviceCreate, ElderCreate
from dispatch.ingest.secrets import box_for
from dispatch.settings import Settings
from dispatch.voice import agents, service
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import AgentState, PhoneCall
from dispatch.voice.telephony import MemoryTelephony
from tests.factories import elder_payload

HOTLINE = "+8659112349"
TEST = Actor.system("test")
_numbers = itertools.count(1)

VOICE = {
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": "test-auth-token",
    "voice_number": HOTLINE,
    "public_base_url": "https://dispatch.example.cn",
    "voice_tick_seconds": 3600.0,
}


@pytest.fixture
def voice_settings(db_settings: Settings) -> Settings:
    return db_settings.model_copy(update=VOICE)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine, claiming=True)


@pytest.fixture
async def desk(
    sessions: async_sessionmaker[AsyncSession], voice_settings: Settings, clock: FakeClock
) -> AsyncIterator[VoiceDesk]:
    bus = MemoryBus()
    the_desk = VoiceDesk(sessions, bus, clock, voice_settings, MemoryTelephony())
    yield the_desk
    await the_desk.stop()
    await bus.close()


def telephony(desk: VoiceDesk) -> MemoryTelephony:
    assert isinstance(desk.telephony, MemoryTelephony)
    return desk.telephony


async def make_agent(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, name: str, *, ready: bool = True
) -> Operator:
    """An agent with a desk phone (+86591000000N), ready for calls unless told otherwise."""
    async with sessions() as session:
        now = clock.now()
        operator = Operator(  # no password (nobody logs in here): hashing one would cost more than the test
            username=name,
            display_name=name,
            role=Role.agent,
            password_hash="!",
            phone=f"+865910000{next(_numbers):04d}",
            active=True,
            created_at=now,
            updated_at=now,
        )
        session.add(operator)
        await session.flush()
        if ready:
            await agents.set_state(
                session=session, clock=clock, operator_id=operator.id, state=AgentState.ready
            )
        await session.commit()
        return operator


async def make_elder(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, **overrides: object
) -> int:
    async with sessions() as session:
        created = await elders_service.create(
            session=session,
            clock=clock,
            actor=TEST,
            data=ElderCreate.model_validate(elder_payload(**overrides)),
        )
        await session.commit()
        return created.id


async def give_device(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FakeClock, elder_id: int, sim: str
) -> int:
    async with sessions() as session:
        registered = await elders_service.register_device(
            session=session,
            clock=clock,
            actor=TEST,
            data=DeviceCreate(imei=f"8612345{next(_numbers):08d}", elder_id=elder_id, kind="watch"),
            device_secrets=box_for(settings),
        )
        device = await session.get(Device, registered.device.id)
        assert device is not None
        device.phone = sim
        await session.commit()
        return registered.device.id


async def call_in(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    sid: str,
    number: str,
    digits: str | None = None,
) -> PhoneCall:
    """An incoming call taken in and, unless it skipped the menu, answered with `digits` (None: no key)."""
    async with sessions() as session:
        phone_call = await service.receive_inbound(
            session=session, clock=clock, call_sid=sid, from_number=number, to_number=HOTLINE
        )
        phone_call = await service.choose(
            session=session, clock=clock, phone_call_id=phone_call.id, digits=digits
        )
        await session.commit()
        return phone_call


async def reload(sessions: async_sessionmaker[AsyncSession], phone_call_id: int) -> PhoneCall:
    async with sessions() as session:
        return await service.get(session=session, phone_call_id=phone_call_id)


async def state_of(sessions: async_sessionmaker[AsyncSession], operator_id: int) -> AgentState:
    async with sessions() as session:
        presence = await agents.presence_of(session=session, operator_id=operator_id)
        return presence.state if presence else AgentState.offline


async def count(sessions: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    async with sessions() as session:
        return len((await session.scalars(select(model))).all())
