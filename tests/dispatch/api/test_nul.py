"""NUL characters: PostgreSQL cannot store them in text, so the API refuses them in every request with a 422,
on either database, instead of failing at the commit with a 500 (found by fuzzing on PostgreSQL)."""

from __future__ import annotations

import httpx

from tests.factories import elder_payload


async def test_a_nul_anywhere_in_a_request_is_a_422(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    requests = [
        client.build_request(
            "POST", "/api/v1/elders", json=elder_payload(notes="独居\x00老人"), headers=supervisor
        ),
        client.build_request("POST", "/api/v1/elders", json={"x\x00": 1}, headers=supervisor),
        client.build_request("GET", "/api/v1/elders", params={"q": "林\x00"}, headers=supervisor),
        client.build_request("GET", "/api/v1/elders/1%00", headers=supervisor),
        client.build_request("POST", "/webhooks/twilio/sms", data={"Body": "接\x00 1234"}),
    ]
    for request in requests:
        response = await client.send(request)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), request.url
    listed = await client.get("/api/v1/elders", headers=supervisor)
    assert listed.json()["total"] == 0


async def test_text_that_only_looks_like_a_nul_is_kept(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/elders", json=elder_payload(notes="路径 C:\\u0000 不是空字符"), headers=supervisor
    )
    assert response.status_code == 201
    assert response.json()["notes"] == "路径 C:\\u0000 不是空字符"
