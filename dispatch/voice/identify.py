"""Who is calling, by number: an elder's own phone, a device's SIM (its elder), a contact (their elder),
a provider or one of its staff, one of our operators; else unknown. Numbers are compared normalised: the
same number with or without +86, 86 or the trunk prefix 0 is one number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.models import Operator
from dispatch.elders.models import Contact, Device, Elder
from dispatch.providers.models import Provider, ProviderStaff
from dispatch.voice.models import CallerKind

__all__ = ["Caller", "identify", "national_digits", "number_variants"]


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    elder_id: int | None = None
    device_id: int | None = None
    contact_id: int | None = None
    provider_id: int | None = None
    operator_id: int | None = None


UNKNOWN = Caller(CallerKind.unknown)


def national_digits(number: str) -> str:
    """The number's digits without the country code 86 or the trunk 0 (a mainland number as dialled at
    home without the 0: 13905910001, 59112345678); other countries' numbers keep their code."""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+"):
        return digits[2:] if digits.startswith("86") else digits
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and len(digits) >= 12:
        return digits[2:]
    return digits.removeprefix("0")


def number_variants(number: str) -> list[str]:
    """The spellings a stored number may have for this caller (stored numbers are mostly E.164)."""
    core = national_digits(number)
    if not core:
        return []
    return sorted({core, "0" + core, "86" + core, "+86" + core, number.strip()})


async def identify(*, session: AsyncSession, number: str) -> Caller:
    """The caller behind `number`, in the order: elder, device, contact, provider, provider staff, operator."""
    variants = number_variants(number)
    if not variants:
        return UNKNOWN
    elder_id = await session.scalar(
        select(Elder.id).where(Elder.phone.in_(variants)).order_by(Elder.id).limit(1)
    )
    if elder_id is not None:
        return Caller(CallerKind.elder, elder_id=elder_id)
    device = (
        await session.execute(
            select(Device.id, Device.elder_id).where(Device.phone.in_(variants)).order_by(Device.id).limit(1)
        )
    ).first()
    if device is not None:
        return Caller(CallerKind.device, elder_id=device.elder_id, device_id=device.id)
    contact = (
        await session.execute(
            select(Contact.id, Contact.elder_id)
            .where(Contact.phone.in_(variants))
            .order_by(Contact.priority, Contact.id)
            .limit(1)
        )
    ).first()
    if contact is not None:
        return Caller(CallerKind.contact, elder_id=contact.elder_id, contact_id=contact.id)
    return await _professional(session, variants)


async def _professional(session: AsyncSession, variants: list[str]) -> Caller:
    """A provider, a provider's worker or one of our operators."""
    provider_id = await session.scalar(
        select(Provider.id).where(Provider.phone.in_(variants)).order_by(Provider.id).limit(1)
    )
    if provider_id is not None:
        return Caller(CallerKind.provider, provider_id=provider_id)
    staff_provider = await session.scalar(
        select(ProviderStaff.provider_id).where(ProviderStaff.phone.in_(variants)).limit(1)
    )
    if staff_provider is not None:
        return Caller(CallerKind.staff, provider_id=staff_provider)
    operator_id = await session.scalar(select(Operator.id).where(Operator.phone.in_(variants)).limit(1))
    if operator_id is not None:
        return Caller(CallerKind.staff, operator_id=operator_id)
    return UNKNOWN
