"""Providers' SMS replies, in Chinese and English."""

from __future__ import annotations

import pytest

from dispatch.offers.replies import Reply, ReplyAction, parse_reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("接 4821", Reply(ReplyAction.accept, "4821")),
        ("接4821", Reply(ReplyAction.accept, "4821")),
        ("接单 4821。", Reply(ReplyAction.accept, "4821")),
        ("y 4821", Reply(ReplyAction.accept, "4821")),
        ("YES4821", Reply(ReplyAction.accept, "4821")),
        (" 拒 4821 ", Reply(ReplyAction.decline, "4821")),
        ("N 4821", Reply(ReplyAction.decline, "4821")),
        ("到 ４８２１", Reply(ReplyAction.arrived, "4821")),  # full-width digits from a Chinese keyboard
        ("Ａ 4821", Reply(ReplyAction.arrived, "4821")),
        ("完成 4821", Reply(ReplyAction.done, "4821")),
        ("接 48211", Reply(ReplyAction.accept, "48211")),  # longer codes once most 4-digit ones are live
        ("完成 482110", Reply(ReplyAction.done, "482110")),
        ("done 4821!", Reply(ReplyAction.done, "4821")),
    ],
)
def test_replies_are_read(text: str, expected: Reply) -> None:
    assert parse_reply(text) == expected


@pytest.mark.parametrize(
    "text", ["", "接", "4821", "好的 4821", "接 482", "接 4821100", "Y 4821 thanks", "接 4821 4822"]
)
def test_anything_else_is_not_a_reply(text: str) -> None:
    assert parse_reply(text) is None
