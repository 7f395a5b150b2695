"""Reading providers' SMS replies (pure): an action and a job code, in Chinese or English."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyAction(StrEnum):
    accept = "accept"
    decline = "decline"
    arrived = "arrived"
    done = "done"


KEYWORDS: dict[str, ReplyAction] = {
    "接": ReplyAction.accept,
    "接单": ReplyAction.accept,
    "Y": ReplyAction.accept,
    "YES": ReplyAction.accept,
    "ACCEPT": ReplyAction.accept,
    "拒": ReplyAction.decline,
    "拒绝": ReplyAction.decline,
    "N": ReplyAction.decline,
    "NO": ReplyAction.decline,
    "DECLINE": ReplyAction.decline,
    "到": ReplyAction.arrived,
    "到达": ReplyAction.arrived,
    "已到": ReplyAction.arrived,
    "A": ReplyAction.arrived,
    "ARRIVED": ReplyAction.arrived,
    "完成": ReplyAction.done,
    "完": ReplyAction.done,
    "已完成": ReplyAction.done,
    "D": ReplyAction.done,
    "DONE": ReplyAction.done,
}

_REPLY = re.compile(r"^\s*(?P<word>[^\d\s]+?)\s*(?P<code>\d{4,6})\s*[.!。！]?\s*$")


@dataclass(frozen=True, slots=True)
class Reply:
    action: ReplyAction
    code: str


def parse_reply(text: str) -> Reply | None:
    """`接 4821`, `Y4821`, `完成 4821` (full-width characters too) → Reply; anything else → None."""
    normalised = unicodedata.normalize("NFKC", text).upper()
    match = _REPLY.match(normalised)
    if match is None:
        return None
    action = KEYWORDS.get(match["word"])
    return None if action is None else Reply(action, match["code"])
