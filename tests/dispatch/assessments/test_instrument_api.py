"""`GET /api/v1/assessment-instrument`: the form as the console and the assessors' tablets read it."""

from __future__ import annotations

import httpx


async def test_the_instrument_lists_indicators_items_options_and_levels(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get("/api/v1/assessment-instrument", headers=agent)
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["max_total"]) == ("GB/T 42195-2022", 90)
    assert [(i["code"], i["max"], len(i["items"])) for i in body["indicators"]] == [
        ("self_care", 32, 8),
        ("motor", 15, 4),
        ("mental", 28, 9),
        ("perception_social", 15, 5),
    ]
    stairs = body["indicators"][1]["items"][3]
    assert (stairs["code"], stairs["name"], stairs["max"]) == ("B.2.4", {"zh": "上下楼梯", "en": "Stairs"}, 3)
    assert [(o["code"], o["score"]) for o in stairs["options"]] == [("3", 3), ("2", 2), ("1", 1), ("0", 0)]
    assert [(level["level"], level["min"], level["max"]) for level in body["levels"]] == [
        (0, 90, 90),
        (1, 66, 89),
        (2, 46, 65),
        (3, 30, 45),
        (4, 0, 29),
    ]
    assert [(rule["code"], rule["effect"]) for rule in body["rules"]] == [
        ("coma", "set"),
        ("diagnosis", "raise"),
        ("risk_events", "raise"),
    ]
