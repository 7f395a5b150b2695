"""Search keys of an elder and the reading of a typed search text: pure functions."""

from __future__ import annotations

import pytest

from dispatch.elders.search_keys import keys_for, prefix_range, readings
from dispatch.search.query import SearchQuery, parse


def test_a_name_gives_its_initials_and_pinyin_for_every_reading_usual_first() -> None:
    assert readings("张三丰") == [["zhang", "san", "feng"]]
    assert readings("曾国藩")[:2] == [["ceng", "guo", "fan"], ["zeng", "guo", "fan"]]
    keys = keys_for("曾国藩", [], "")
    assert {"n:cgf", "n:zgf", "p:zengguofan", "c:曾国藩"} <= keys


def test_heteronyms_are_capped() -> None:
    assert len(readings("单乐长行")) == 8


def test_phones_and_the_id_number_are_stored_reversed_for_suffix_search() -> None:
    keys = keys_for("林玉兰", ["+8613905911234", None, "0591-8765 4321"], "35010219400517001X")
    assert {"t:4321195093168", "t:123456781950", "i:x10071500491201053"} <= keys
    assert not any(key.startswith("t:") and len(key) == 2 for key in keys)


def test_a_latin_name_still_has_keys_and_digits_are_dropped_from_pinyin() -> None:
    assert keys_for("压测12", [], "") == {"c:压测12", "n:yc", "p:yace"}


def test_the_prefix_range_holds_every_longer_key_and_nothing_after() -> None:
    low, high = prefix_range("n:zs")
    inside = [key for key in ("n:z", "n:zs", "n:zsf", "n:zs龘", "n:zt") if low <= key < high]
    assert inside == ["n:zs", "n:zsf", "n:zs龘"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zsf", SearchQuery((("n:zsf", "initials"), ("p:zsf", "pinyin")))),
        (" ZhangSan ", SearchQuery((("n:zhangsan", "initials"), ("p:zhangsan", "pinyin")))),
        ("z", SearchQuery()),
        ("1234", SearchQuery((("t:4321", "phone"), ("i:4321", "id_number")), 1234)),
        ("#12", SearchQuery(record_number=12)),
        ("001X", SearchQuery((("t:x100", "phone"), ("i:x100", "id_number")), None)),
        ("139 0591-1234", SearchQuery((("t:43211950931", "phone"), ("i:43211950931", "id_number")), None)),
        ("张三", SearchQuery((("c:张三", "name"),), contains="张三")),
        ("", SearchQuery()),
        ("!?", SearchQuery()),
    ],
)
def test_the_shape_of_the_text_says_what_is_searched(text: str, expected: SearchQuery) -> None:
    assert parse(text) == expected
