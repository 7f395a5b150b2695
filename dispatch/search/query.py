"""What a typed search text asks for: a pure reading of its shape."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dispatch.elders.search_keys import reversed_digits

MAX_RECORD_NUMBER = 2**31 - 1
_SEPARATORS = re.compile(r"[\s\-+#()]")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Key prefixes to look up, with what each one matches; a record number; a text for names and
    addresses containing it."""

    key_prefixes: tuple[tuple[str, str], ...] = ()  # (prefix, matched) e.g. ("n:zsf", "initials")
    record_number: int | None = None
    contains: str | None = None


def parse(text: str) -> SearchQuery:
    """`zsf`: pinyin initials or the start of the whole pinyin; digits: a phone's or ID number's last digits
    (3 or more) and a call, order or complaint number; Chinese: a name's start, or text in a name or address."""
    compact = _SEPARATORS.sub("", text.strip().lower())
    if not compact:
        return SearchQuery()
    if re.fullmatch(r"[a-z]+", compact):
        if len(compact) < 2:
            return SearchQuery()
        return SearchQuery((("n:" + compact, "initials"), ("p:" + compact, "pinyin")))
    if re.fullmatch(r"\d+x?", compact):
        number = int(compact) if compact.isdigit() and int(compact) <= MAX_RECORD_NUMBER else None
        if len(compact) < 3:
            return SearchQuery(record_number=number)
        digits = reversed_digits(compact)
        return SearchQuery((("t:" + digits, "phone"), ("i:" + digits, "id_number")), number)
    if _HAN.search(compact):
        name = text.strip()
        return SearchQuery((("c:" + name, "name"),), contains=name)
    return SearchQuery()
