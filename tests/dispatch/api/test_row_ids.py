"""Ids at the API's edge: one too big for the database's integer is a 422, never a 500 (found by the fuzzer)."""

from __future__ import annotations

from typing import Any

import httpx

TOO_BIG = [2**31, 2**63]  # past PostgreSQL's integer; past SQLite's too
REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/elders/{id}", None),
    ("PUT", "/api/v1/elders/{id}/health", {}),
    ("POST", "/api/v1/calls/{id}/notes", {"text": "回访"}),
    ("POST", "/api/v1/service-orders/{id}/cancel", {"reason": "不需要了"}),
    ("POST", "/api/v1/complaints/{id}/notes", {"text": "已联系"}),
    ("GET", "/api/v1/calls?elder_id={id}", None),
    ("POST", "/api/v1/calls", {"elder_id": "{id}", "category": "enquiry"}),
]


async def test_an_id_too_big_for_the_database_is_refused_as_invalid(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    answers = {}
    for row_id in TOO_BIG:
        for method, path, body in REQUESTS:
            json = {key: row_id if value == "{id}" else value for key, value in (body or {}).items()}
            url = path.format(id=row_id)
            response = await client.request(
                method, url, json=json if body is not None else None, headers=supervisor
            )
            answers[f"{method} {url} {json}"] = (response.status_code, response.json().get("code"))
    assert answers == dict.fromkeys(answers, (422, "validation_error"))
