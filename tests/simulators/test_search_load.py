"""The search benchmark at a tiny size, against a real server on SQLite: every sampled elder is found by
each kind of query, and the generated registry is well-formed."""

from __future__ import annotations

import argparse

from dispatch.elders.idcard import parse_id_number
from simulators.load.search import KINDS, make_elders, run


def test_generated_elders_have_distinct_valid_id_numbers_and_phones() -> None:
    elders = make_elders(2000, seed=1)
    assert len({e["id_number"] for e in elders}) == 2000
    assert all(parse_id_number(e["id_number"])[1] == e["birth_date"] for e in elders[:200])
    assert all(e["phone"].startswith("+86139") and len(e["phone"]) == 14 for e in elders)


async def test_a_tiny_run_finds_every_sampled_elder() -> None:
    args = argparse.Namespace(elders=400, queries=8, only="sqlite", seed=3)
    [timings] = await run(args)
    assert {kind.name: len(timings.ms[kind.name]) for kind in KINDS} == {kind.name: 8 for kind in KINDS}
    assert timings.hits == {kind.name: 8 for kind in KINDS}
