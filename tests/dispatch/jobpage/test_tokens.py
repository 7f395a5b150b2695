"""The job page's link tokens: short, signed, naming one offer until a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.jobpage import tokens
from dispatch.jobpage.tokens import LinkExpired, LinkTampered

KEY = "a-test-secret-key"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=14)


def test_a_token_names_its_offer_and_expiry_and_is_short() -> None:
    token = tokens.make_token(KEY, 4821, LATER)
    link = tokens.read_token(KEY, token, NOW)
    assert link == tokens.JobLink(offer_id=4821, expires_at=LATER)
    assert len(token) <= 28
    assert tokens.job_url("https://j.example.cn/", token) == f"https://j.example.cn/p/{token}"


def test_the_expiry_is_rounded_up_to_the_minute() -> None:
    token = tokens.make_token(KEY, 1, LATER + timedelta(seconds=1))
    assert tokens.read_token(KEY, token, NOW).expires_at == LATER + timedelta(minutes=1)


@pytest.mark.parametrize("position", [0, 3, -1])
def test_a_changed_character_is_refused_as_tampered(position: int) -> None:
    token = tokens.make_token(KEY, 4821, LATER)
    swapped = "b" if token[position] != "b" else "c"
    changed = token[:position] + swapped + token[position + 1 :] if position >= 0 else token[:-1] + swapped
    with pytest.raises(LinkTampered):
        tokens.read_token(KEY, changed, NOW)


def test_another_offers_id_with_this_signature_is_refused() -> None:
    offer_part, expiry, signature = tokens.make_token(KEY, 4821, LATER).split(".")
    other = tokens.make_token(KEY, 4822, LATER).split(".")[0]
    assert other != offer_part
    with pytest.raises(LinkTampered):
        tokens.read_token(KEY, f"{other}.{expiry}.{signature}", NOW)


def test_a_later_expiry_with_this_signature_is_refused() -> None:
    offer_part, _, signature = tokens.make_token(KEY, 4821, NOW + timedelta(minutes=1)).split(".")
    later = tokens.make_token(KEY, 4821, LATER).split(".")[1]
    with pytest.raises(LinkTampered):
        tokens.read_token(KEY, f"{offer_part}.{later}.{signature}", NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(LinkTampered):
        tokens.read_token(KEY, tokens.make_token("another-key", 4821, LATER), NOW)


@pytest.mark.parametrize("garbage", ["", "1", "1.2", "1.2.3", "x" * 64, "1.2." + "!" * 16, "../etc/passwd"])
def test_garbage_is_refused_as_tampered(garbage: str) -> None:
    with pytest.raises(LinkTampered):
        tokens.read_token(KEY, garbage, NOW)


def test_a_genuine_token_past_its_time_is_expired_not_tampered() -> None:
    token = tokens.make_token(KEY, 4821, LATER)
    assert tokens.read_token(KEY, token, LATER - timedelta(seconds=1)).offer_id == 4821
    with pytest.raises(LinkExpired):
        tokens.read_token(KEY, token, LATER)


def test_an_orders_link_lives_past_its_window_and_an_emergencys_past_its_deadline() -> None:
    grace = timedelta(hours=12)
    window_end, deadline = NOW + timedelta(days=1), NOW + timedelta(minutes=2)
    assert (
        tokens.link_expiry(window_end=window_end, offer_deadline=deadline, grace=grace) == window_end + grace
    )
    assert tokens.link_expiry(window_end=None, offer_deadline=deadline, grace=grace) == deadline + grace
