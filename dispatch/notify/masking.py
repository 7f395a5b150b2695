"""What a list of text messages shows of each one (pure): texts that carry an elder's or a complainant's
details show only their tag (e.g. 【12349转120】…); the others show whole, long numbers masked. The whole
text is one audited read away (`GET /api/v1/sms/{id}`)."""

from __future__ import annotations

import re

from dispatch.notify.models import SmsPurpose
from dispatch.schemas import mask_phone

# Texts with nothing about a person in them: the job code, the keyword help, a provider's reply.
SHOWN_WHOLE = frozenset({SmsPurpose.withdraw, SmsPurpose.help, SmsPurpose.reply})

_TAG = re.compile(r"^【[^】]{1,16}】")
_LONG_NUMBER = re.compile(r"\+?\d{7,}")
ELLIPSIS = "…"


def mask_numbers(text: str) -> str:
    """Every run of seven or more digits (phones, ID numbers) with its middle hidden."""
    return _LONG_NUMBER.sub(lambda match: mask_phone(match.group(0)) or "", text)


def list_body(purpose: SmsPurpose, body: str) -> str:
    """The text as a list shows it."""
    if purpose in SHOWN_WHOLE:
        return mask_numbers(body)
    tag = _TAG.match(body)
    return (tag.group(0) if tag else "") + ELLIPSIS
