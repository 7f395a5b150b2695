"""The console's pure modules run under Node.js (which the install needs for `npm ci` anyway): money typed in
yuan is read into fen by its digits (never through floating point), amounts are shown in yuan, the
Chinese and English dictionaries have the same keys, and the month before a day is found across a year."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS = Path(__file__).resolve().parents[2] / "console_ui" / "static" / "js"
NODE = shutil.which("node")


def in_node(script: str) -> Any:
    """Run an ES-module script that prints one JSON value; the value."""
    assert NODE is not None, "Node.js is needed: the project's install runs npm ci"
    done = subprocess.run(
        [NODE, "--no-warnings", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# Typed yuan -> fen; "0.29" and "1.13" are where `Math.floor(x * 100)` is a fen short.
TYPED = {
    "40": 4000,
    "40.5": 4050,
    "40.05": 4005,
    "0.29": 29,
    "1.13": 113,
    " 12 ": 1200,
    "9999999.99": 999_999_999,
    "1.005": None,
    "-1": None,
    "1,000": None,
    "40.": None,
    ".5": None,
    "４０": None,
    "": None,
}


def test_yuan_typed_by_an_agent_is_read_into_fen_exactly() -> None:
    read = in_node(
        f"""const {{ fenFromYuan }} = await import({json.dumps((JS / "money.js").as_uri())});
        console.log(JSON.stringify({json.dumps(list(TYPED))}.map(fenFromYuan)));"""
    )
    assert dict(zip(TYPED, read, strict=True)) == TYPED


def test_fen_is_shown_in_yuan_with_two_decimals() -> None:
    amounts = [4000, -4005, 5, 0, 123_456, None]
    shown = in_node(
        f"""const {{ yuan }} = await import({json.dumps((JS / "money.js").as_uri())});
        console.log(JSON.stringify({json.dumps(amounts)}.map(yuan)));"""
    )
    assert shown == ["¥40.00", "-¥40.05", "¥0.05", "¥0.00", "¥1234.56", "—"]


def test_the_chinese_and_english_dictionaries_have_the_same_keys() -> None:
    keys = in_node(
        f"""const {{ dictionary }} = await import({json.dumps((JS / "i18n.js").as_uri())});
        const keys = (node, prefix = '') => Object.entries(node).flatMap(([key, value]) =>
          value && typeof value === 'object' ? keys(value, `${{prefix}}${{key}}.`) : [`${{prefix}}${{key}}`]);
        console.log(JSON.stringify({{ zh: keys(dictionary('zh-CN')), en: keys(dictionary('en')) }}));"""
    )
    assert len(keys["zh"]) > 1000
    assert sorted(set(keys["zh"]) - set(keys["en"])) == []
    assert sorted(set(keys["en"]) - set(keys["zh"])) == []


def test_an_amount_in_a_refusal_is_said_in_yuan() -> None:
    said = in_node(
        f"""const {{ errorText, translator }} = await import({json.dumps((JS / "i18n.js").as_uri())});
        const refusal = {{ status: 403, code: 'forbidden', reason: 'refund_needs_supervisor', params: {{ limit_fen: 5000 }} }};
        console.log(JSON.stringify([errorText(refusal, translator('zh-CN')), errorText(refusal, translator('en'))]));"""
    )
    assert said == ["退款金额超过 ¥50.00，需由主管办理", "A refund above ¥50.00 needs a supervisor"]


def test_the_month_before_a_day_crosses_the_year_in_january() -> None:
    days = ["2026-12-05", "2026-01-15", "2026-03-31", "2026-10-01"]
    months = in_node(
        f"""const {{ previousMonth }} = await import({json.dumps((JS / "i18n.js").as_uri())});
        console.log(JSON.stringify({json.dumps(days)}.map((d) => previousMonth(d))));"""
    )
    assert months == ["2026-11", "2025-12", "2026-02", "2026-09"]
