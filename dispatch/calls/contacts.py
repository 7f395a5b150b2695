"""Telling an elder's relatives and community worker about a P1 call by SMS, one at a time in call order:
each next contact is told once the previous message is delivered or has failed, or when no final status
came within the step's time (`DISPATCH_CONTACT_STEP_SECONDS`, a deadline stored on the message), so an
unreachable number or a carrier without delivery reports never holds the others up. Whichever comes first
takes the step, once across processes; a call closed, cancelled or found a false alarm ends the chain.
Without a gateway (the outbox) there are no delivery reports: all are queued at once, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.calls import service as calls_service
from dispatch.calls.models import Call, CallEntry
from dispatch.calls.states import CallState
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
CONTACT_PURPOSES = frozenset({SmsPurpose.contact_alert, SmsPurpose.contact_notice})
CHAIN_ENDS = frozenset({CallState.closed, CallState.cancelled, CallState.false_alarm})
SHANGHAI = ZoneInfo("Asia/Shanghai")
WHAT = {
    "zh": {"sos": "SOS求救", "fall": "跌倒", "vitals": "体征异常", "geofence_exit": "离开安全区域"},
    "en": {"sos": "SOS", "fall": "fall", "vitals": "abnormal vitals", "geofence_exit": "left safe area"},
}


def what_happened(category: str, language: str) -> str:
    words = WHAT.get(language, WHAT["en"])
    return words.get(category, category.replace("_", " "))


async def alert_contacts(
    *,
    session: AsyncSession,
    clock: Clock,
    call: Call,
    options: SmsOptions,
    contacts: Sequence[Contact] | None = None,
) -> None:
    """Start telling the contacts about a P1 call, first in call order (`contacts`: the elder's contacts if
    already read, e.g. for a whole batch of alarms)."""
    await _alert_after(session, clock, call, after_priority=-1, options=options, known=contacts)


async def contacts_of(*, session: AsyncSession, elder_ids: set[int]) -> dict[int, list[Contact]]:
    """The contacts alerted about these elders' P1 calls, in call order, by elder (one query)."""
    found: dict[int, list[Contact]] = {elder_id: [] for elder_id in elder_ids}
    rows = await session.scalars(
        select(Contact)
        .where(Contact.elder_id.in_(elder_ids), Contact.kind.in_(ALERTED_KINDS))
        .order_by(Contact.elder_id, Contact.priority)
    )
    for contact in rows:
        found[contact.elder_id].append(contact)
    return found


async def contact_sms_final(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """A text to a contact was delivered or failed: note it and, for a step of the chain that has not
    moved on already (the step's time ran out first), tell the next contact."""
    found = await _alert_of(session, message)
    if found is None:
        return
    call, contact = found
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
    is_step = message.purpose == SmsPurpose.contact_alert
    if is_step and await sms.settle_report(session=session, sms_id=message.id):
        await _next_step(session, clock, call, contact, options)


async def contact_report_overdue(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """No final status for a contact's alert within the step's time (the caller took the step over from
    the report with `settle_report`): note it and tell the next contact."""
    found = await _alert_of(session, message)
    if found is None:
        return
    call, contact = found
    await calls_service.record(
        session=session,
        clock=clock,
        actor=calls_service.SYSTEM,
        call_id=call.id,
        kind="contact_no_report",
        contact_id=contact.id,
        name=contact.name,
        status=message.status.value,
    )
    await _next_step(session, clock, call, contact, options)


async def _alert_of(session: AsyncSession, message: SmsMessage) -> tuple[Call, Contact] | None:
    """The call and contact a text to a contact was about (None for any other message)."""
    if message.purpose not in CONTACT_PURPOSES or message.call_id is None or message.contact_id is None:
        return None
    contact = await session.get(Contact, message.contact_id)
    call = await session.get(Call, message.call_id)
    return None if contact is None or call is None else (call, contact)


async def _next_step(
    session: AsyncSession, clock: Clock, call: Call, previous: Contact, options: SmsOptions
) -> None:
    """Tell the contact after `previous`, unless the call has ended the chain (its state as of now)."""
    await session.refresh(call, ["state"])
    if call.state in CHAIN_ENDS:
        await calls_service.record(
            session=session,
            clock=clock,
            actor=calls_service.SYSTEM,
            call_id=call.id,
            kind="contacts_stopped",
            state=call.state.value,
            after=previous.name,
        )
        return
    await _alert_after(session, clock, call, after_priority=previous.priority, options=options)


async def _alert_after(
    session: AsyncSession,
    clock: Clock,
    call: Call,
    *,
    after_priority: int,
    options: SmsOptions,
    known: Sequence[Contact] | None = None,
) -> None:
    elder = await session.get(Elder, call.elder_id)
    if elder is None:
        return
    everyone = (
        known if known is not None else (await contacts_of(session=session, elder_ids={elder.id}))[elder.id]
    )
    for contact in [c for c in everyone if c.priority > after_priority]:
        await _alert(session, clock, call, elder, contact, options)
        if options.through_gateway:  # the delivery report moves on to the next one
            return


async def _alert(
    session: AsyncSession, clock: Clock, call: Call, elder: Elder, contact: Contact, options: SmsOptions
) -> None:
    await _text_contact(
        session,
        clock,
        call,
        elder,
        contact,
        options,
        actor=calls_service.SYSTEM,
        purpose=SmsPurpose.contact_alert,
    )


async def _text_contact(
    session: AsyncSession,
    clock: Clock,
    call: Call,
    elder: Elder,
    contact: Contact,
    options: SmsOptions,
    *,
    actor: Actor,
    purpose: SmsPurpose,
) -> CallEntry:
    """Text the contact the alert and put it on the timeline: a step of the chain (`contact_alert`, which
    waits for its report) or an agent's notice (`notify`)."""
    message = await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=contact.phone,
        body=_alert_text(call, elder, options),
        purpose=purpose,
        call_id=call.id,
        contact_id=contact.id,
        report_within=options.contact_step if purpose == SmsPurpose.contact_alert else None,
    )
    detail: dict[str, Any] = {
        "contact_id": contact.id,
        "name": contact.name,
        "relation": contact.relation,
        "phone": mask_phone(contact.phone),
    }
    step = purpose == SmsPurpose.contact_alert
    if not step:
        await session.flush()  # the notice's id, for the timeline (a chain's batch is not held up for it)
        detail["sms_id"] = message.id
    kind = "contact_alert" if step else "notify"
    return await calls_service.record(
        session=session, clock=clock, actor=actor, call_id=call.id, kind=kind, **detail
    )


def _alert_text(call: Call, elder: Elder, options: SmsOptions) -> str:
    lon, lat = calls_service.where(call, elder)
    return render(
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


async def notify_contact(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, contact_id: int, options: SmsOptions
) -> CallEntry:
    """An agent tells one of the elder's contacts (any kind) about the call: the alert text goes out now,
    outside the automatic chain (its delivery moves no chain on), and the timeline says who asked."""
    call = await calls_service.get(session=session, call_id=call_id)
    contact = await session.get(Contact, contact_id)
    elder = await session.get(Elder, call.elder_id)
    if contact is None or elder is None or contact.elder_id != call.elder_id:
        raise NotFound(f"contact {contact_id} is not one of this elder's contacts")
    entry = await _text_contact(
        session, clock, call, elder, contact, options, actor=actor, purpose=SmsPurpose.contact_notice
    )
    await session.flush()
    return entry


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
        await session.flush()  # the timeline refers to the text by its id
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
