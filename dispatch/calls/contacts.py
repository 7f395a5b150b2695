"""Telling an elder's relatives and community worker about a P1 call by SMS, one at a time in call order:
each next contact is told once the previous message is delivered or has failed, so an unreachable number
never holds the others up. Without a gateway (the outbox) there are no delivery reports: all are queued
at once, in order."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.calls import service as calls_service
from dispatch.calls.models import Call
from dispatch.clock import Clock
from dispatch.elders import service as elders_service
from dispatch.elders.models import Contact, ContactKind, Elder, HealthRecord
from dispatch.errors import NotFound
from dispatch.geo import map_link
from dispatch.notify import service as sms
from dispatch.notify.models import FAILED_STATUSES, SmsMessage, SmsPurpose
from dispatch.notify.service import SmsOptions
from dispatch.notify.templates import render
from dispatch.schemas import mask_phone

ALERTED_KINDS = (ContactKind.relative, ContactKind.community_worker)
SHANGHAI = ZoneInfo("Asia/Shanghai")
WHAT = {
    "zh": {"sos": "SOS求救", "fall": "跌倒", "vitals": "体征异常", "geofence_exit": "离开安全区域"},
    "en": {"sos": "SOS", "fall": "fall", "vitals": "abnormal vitals", "geofence_exit": "left safe area"},
}


def what_happened(category: str, language: str) -> str:
    words = WHAT.get(language, WHAT["en"])
    return words.get(category, category.replace("_", " "))


async def alert_contacts(*, session: AsyncSession, clock: Clock, call: Call, options: SmsOptions) -> None:
    """Start telling the contacts about a P1 call, first in call order."""
    await _alert_after(session, clock, call, after_priority=-1, options=options)


async def contact_sms_final(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """A contact's alert was delivered or failed: note it and tell the next contact."""
    if message.purpose != SmsPurpose.contact_alert or message.call_id is None or message.contact_id is None:
        return
    contact = await session.get(Contact, message.contact_id)
    call = await session.get(Call, message.call_id)
    if contact is None or call is None:
        return
    failed = message.status in FAILED_STATUSES
    await calls_service.record(
        session=session,
        clock=clock,
        actor=calls_service.SYSTEM,
        call_id=call.id,
        kind="contact_failed" if failed else "contact_reached",
        contact_id=contact.id,
        name=contact.name,
        error=message.error_code,
    )
    await _alert_after(session, clock, call, after_priority=contact.priority, options=options)


async def _alert_after(
    session: AsyncSession, clock: Clock, call: Call, *, after_priority: int, options: SmsOptions
) -> None:
    elder = await session.get(Elder, call.elder_id)
    if elder is None:
        return
    contacts = await session.scalars(
        select(Contact)
        .where(
            Contact.elder_id == elder.id, Contact.kind.in_(ALERTED_KINDS), Contact.priority > after_priority
        )
        .order_by(Contact.priority)
    )
    for contact in contacts:
        await _alert(session, clock, call, elder, contact, options)
        if options.through_gateway:  # the delivery report moves on to the next one
            return


async def _alert(
    session: AsyncSession, clock: Clock, call: Call, elder: Elder, contact: Contact, options: SmsOptions
) -> None:
    lon, lat = calls_service.where(call, elder)
    body = render(
        "contact_alert",
        options.language,
        elder_name=elder.name,
        time=call.opened_at.astimezone(SHANGHAI).strftime("%H:%M"),
        what=what_happened(call.category, options.language),
        address=elder.address,
        lon=f"{lon:.6f}",
        lat=f"{lat:.6f}",
        map_link=map_link(lon, lat),
    )
    await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=contact.phone,
        body=body,
        purpose=SmsPurpose.contact_alert,
        call_id=call.id,
        contact_id=contact.id,
    )
    await calls_service.record(
        session=session,
        clock=clock,
        actor=calls_service.SYSTEM,
        call_id=call.id,
        kind="contact_alert",
        contact_id=contact.id,
        name=contact.name,
        relation=contact.relation,
        phone=mask_phone(contact.phone),
    )


async def handoff_to_120(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, options: SmsOptions, sms_to: str
) -> str:
    """Record that the call was handed to 120 and return the location summary to read out; it is also
    sent by SMS to `sms_to` (the 120 centre) when one is configured. The summary carries health data and a
    relative's phone: the timeline keeps a reference to the text message, never the text, and the
    disclosure is audited as a health-record read is."""
    call = await calls_service.get(session=session, call_id=call_id)
    elder = await session.get(Elder, call.elder_id)
    if elder is None:
        raise NotFound(f"elder {call.elder_id} not found")
    health = await session.get(HealthRecord, elder.id)
    first = await session.scalar(
        select(Contact).where(Contact.elder_id == elder.id).order_by(Contact.priority).limit(1)
    )
    lon, lat = calls_service.where(call, elder)
    zh = options.language == "zh"
    none = "无" if zh else "none"
    summary = render(
        "handoff",
        options.language,
        elder_name=elder.name,
        sex=("男" if elder.sex == "male" else "女") if zh else elder.sex,
        age=elders_service.age_on(elder.birth_date, clock.now().astimezone(SHANGHAI).date()),
        what=what_happened(call.category, options.language),
        address=elder.address,
        lon=f"{lon:.6f}",
        lat=f"{lat:.6f}",
        map_link=map_link(lon, lat),
        conditions="、".join(health.conditions) if health and health.conditions else none,
        allergies="、".join(health.allergies) if health and health.allergies else none,
        medications="、".join(m["name"] for m in health.medications)
        if health and health.medications
        else none,
        contact=f"{first.name} {first.phone}" if first else none,
    )
    message = None
    if sms_to:
        message = await sms.send(
            session=session,
            clock=clock,
            options=options,
            to=sms_to,
            body=summary,
            purpose=SmsPurpose.handoff,
            call_id=call.id,
        )
    await calls_service.record(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call.id,
        kind="handoff_120",
        sms_to=sms_to or None,
        sms_id=message.id if message else None,
    )
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="call.handoff_120",
        entity_type="call",
        entity_id=call.id,
        detail={"elder_id": elder.id, "includes": ["health", "contacts", "home"]},
    )
    return summary
