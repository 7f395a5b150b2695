"""Resident identity card numbers (GB 11643-1999): checksum, birth date and sex."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str) -> tuple[str, date, bool]:
    """Normalised number, birth date and whether the holder is male; ValueError if it is not valid."""
    number = value.strip().upper()
    if not _PATTERN.match(number):
        raise ValueError("an ID-card number has 17 digits and a final digit or X")
    if check_digit(number[:17]) != number[17]:
        raise ValueError("ID-card number checksum does not match")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValueError("ID-card number carries an impossible birth date") from exc
    return number, birth, int(number[16]) % 2 == 1


def make_id_number(region: str, birth: date, sequence: int, male: bool) -> str:
    """A well-formed number (for demo data): region, birth date, a sequence code (0-499) and the sex digit."""
    code = sequence % 500
    body = f"{region}{birth:%Y%m%d}{code // 5:02d}{(code % 5) * 2 + (1 if male else 0)}"
    return body + check_digit(body)
