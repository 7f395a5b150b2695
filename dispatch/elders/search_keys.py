"""Search keys: what an agent types to find an elder, stored so one index range scan finds it.

Each elder has a few keys, each a kind letter and a value that the typed text is a prefix of:
    n:zsf           pinyin initials of the name (张三丰), one per reading of a name with heteronyms (曾 ceng/zeng)
    p:zhangsanfeng  the whole pinyin, likewise
    c:张三丰         the name itself (a surname typed is a prefix)
    t:0008310831    a phone number's digits reversed: a number's last digits are a prefix
    i:x7100715...   the ID-card number reversed, likewise (身份证后四位)
Elder and device phones both count. `refresh` rewrites an elder's keys whenever one of those changes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from pypinyin import Style, pinyin
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.elders.models import Device, Elder, ElderSearchKey

MAX_READINGS = 8  # heteronyms multiply: 单雄信 has 3 x 1 x 2 readings; keep the likeliest few
KEY_LENGTH = 64
_LETTERS = re.compile(r"[^a-z]")
_DIGITS = re.compile(r"[^0-9x]")


def readings(name: str) -> list[list[str]]:
    """The name's pinyin syllables, one list per reading, the usual reading first (at most MAX_READINGS)."""
    per_character = pinyin(name, style=Style.NORMAL, heteronym=True)
    options = [[_LETTERS.sub("", s.lower()) for s in choices] or [""] for choices in per_character]
    found: list[list[str]] = []
    for combination in itertools.product(*options):
        syllables = [s for s in combination if s]
        if syllables and syllables not in found:
            found.append(syllables)
        if len(found) == MAX_READINGS:
            break
    return found


def reversed_digits(number: str | None) -> str:
    """A phone or ID number's digits (and an ID's final X) reversed, for suffix search by prefix."""
    return _DIGITS.sub("", (number or "").lower())[::-1]


def keys_for(name: str, phones: Iterable[str | None], id_number: str) -> set[str]:
    """Every search key of an elder with this name, these phone numbers and this ID-card number."""
    keys = {f"c:{name.strip()}"}
    for syllables in readings(name):
        keys.add("n:" + "".join(s[0] for s in syllables))
        keys.add("p:" + "".join(syllables))
    keys |= {f"t:{digits}" for digits in map(reversed_digits, phones) if digits}
    if id_number:
        keys.add(f"i:{reversed_digits(id_number)}")
    return {key[:KEY_LENGTH] for key in keys if len(key) > 2}


def prefix_range(key: str) -> tuple[str, str]:
    """The bounds [low, high) of every key starting with `key`, for an index range scan on any database."""
    return key, key + "\U0010ffff"


async def refresh(session: AsyncSession, elder_ids: Sequence[int]) -> None:
    """Rewrite the search keys of these elders from their current name, phones and ID number."""
    ids = sorted(set(elder_ids))
    if not ids:
        return
    await session.flush()
    elders = (
        await session.execute(
            select(Elder.id, Elder.name, Elder.phone, Elder.id_number).where(Elder.id.in_(ids))
        )
    ).all()
    device_phones: dict[int, list[str | None]] = {}
    for elder_id, phone in await session.execute(
        select(Device.elder_id, Device.phone).where(Device.elder_id.in_(ids), Device.phone.is_not(None))
    ):
        device_phones.setdefault(elder_id, []).append(phone)
    await session.execute(delete(ElderSearchKey).where(ElderSearchKey.elder_id.in_(ids)))
    rows = [
        {"elder_id": elder_id, "key": key}
        for elder_id, name, phone, id_number in elders
        for key in sorted(keys_for(name, [phone, *device_phones.get(elder_id, [])], id_number))
    ]
    if rows:
        await session.execute(insert(ElderSearchKey), rows)
