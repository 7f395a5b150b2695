"""The evidence's rules (pure): how far is far, what a photo is by its bytes, the elder's one-time code and
its keyed hash, the items done as priced lines of the provider's list, and when evidence is complete."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from dispatch.catalog import ServiceType
from dispatch.evidence.models import CheckinFlag
from dispatch.geo import distance_m

CODE_DIGITS = 6
MAX_QUANTITY = 99
MAX_LINES = 20
_CODE_PURPOSE = b"dispatch.evidence.code.v1"

# Magic bytes → (content type, file suffix)
_IMAGE_MAGIC: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"WEBP", 8, "image/webp", ".webp"),  # RIFF....WEBP
)


@dataclass(frozen=True, slots=True)
class Checkin:
    """Where the provider checked in, as measured against the home."""

    distance_m: int | None
    flag: CheckinFlag | None


def judge_checkin(
    *, home: tuple[float, float], position: tuple[float, float] | None, far_meters: int
) -> Checkin:
    """The distance to the home; flagged when further than `far_meters`, or when there is no position
    (never refused: a provider in a lift has no fix)."""
    if position is None:
        return Checkin(distance_m=None, flag=CheckinFlag.no_position)
    metres = round(distance_m(position[0], position[1], home[0], home[1]))
    return Checkin(distance_m=metres, flag=CheckinFlag.far if metres > far_meters else None)


def image_kind(data: bytes) -> tuple[str, str] | None:
    """(content type, suffix) of a JPEG, PNG or WebP by its magic bytes; None for anything else."""
    for magic, offset, content_type, suffix in _IMAGE_MAGIC:
        if data[offset : offset + len(magic)] == magic and (offset == 0 or data[:4] == b"RIFF"):
            return content_type, suffix
    return None


def new_code() -> str:
    """A random 6-digit code (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret_key: str, order_id: int, code: str) -> str:
    """The code as stored: keyed with the server's secret and bound to the order, so the table alone does
    not give the codes away (a bare hash of six digits would)."""
    key = hmac.new(secret_key.encode(), _CODE_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, f"{order_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(secret_key: str, order_id: int, code: str, stored: str) -> bool:
    return hmac.compare_digest(code_hash(secret_key, order_id, code), stored)


class ItemRefused(ValueError):
    """An item not on the provider's list for the service, or a quantity out of range."""


def priced_items(
    *, price_list: list[dict[str, Any]], service_type: ServiceType, chosen: list[tuple[str, int]]
) -> list[dict[str, Any]]:
    """The chosen (item name, quantity) pairs as lines of the provider's price list for this service type,
    each with its unit price in fen; the same item twice is one line."""
    listed = {str(i["item"]): i for i in price_list if i.get("service_type") == service_type.value}
    quantities: dict[str, int] = {}
    for name, quantity in chosen:
        if name not in listed:
            raise ItemRefused(f"{name!r} is not on the provider's price list for {service_type.value}")
        quantities[name] = quantities.get(name, 0) + quantity
        if not 1 <= quantities[name] <= MAX_QUANTITY:
            raise ItemRefused(f"quantity of {name!r} must be 1 to {MAX_QUANTITY}")
    if len(quantities) > MAX_LINES:
        raise ItemRefused(f"at most {MAX_LINES} items")
    return [
        {
            "item": name,
            "unit": str(listed[name].get("unit", "")),
            "unit_price_fen": int(listed[name]["price_cents"]),
            "quantity": quantity,
        }
        for name, quantity in quantities.items()
    ]


def offered_items(price_list: list[dict[str, Any]], service_type: ServiceType) -> list[dict[str, Any]]:
    """The provider's listed items for a service type, as the page offers them."""
    return [
        {"item": str(i["item"]), "unit": str(i.get("unit", "")), "unit_price_fen": int(i["price_cents"])}
        for i in price_list
        if i.get("service_type") == service_type.value
    ]


def items_total(items: list[dict[str, Any]]) -> int | None:
    """What the items done come to at their listed prices (None when none were listed: the order's price)."""
    if not items:
        return None
    return sum(int(i["unit_price_fen"]) * int(i["quantity"]) for i in items)
