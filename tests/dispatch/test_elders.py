"""The elder registry over HTTP: validation, search, paging, masking, audited reads."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.factories import elder_payload, operator_headers


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


@pytest.fixture
async def admin(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.admin, "admin")


async def create(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/elders", json=elder_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_returns_the_full_record(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    payload = elder_payload(name="林玉兰")
    response = await client.post("/api/v1/elders", json=payload, headers=agent)
    assert response.status_code == 201
    elder = response.json()
    assert elder["name"] == "林玉兰"
    assert elder["id_number"] == payload["id_number"]
    assert elder["birth_date"] == "1940-05-17"  # taken from the ID-card number
    assert elder["age"] == 85  # on 2026-03-02, the fake clock's day
    assert elder["phone"] == "+86" + payload["phone"]
    assert elder["home_location"] == {"lon": 119.2985, "lat": 26.083}
    assert elder["health"]["allergies"] == ["青霉素"]
    assert elder["health"]["self_care_ability"] == 2
    assert elder["health"]["vitals_thresholds"]["spo2_min"] == 90
    assert [c["priority"] for c in elder["contacts"]] == [1, 2]
    assert [c["kind"] for c in elder["contacts"]] == ["relative", "community_worker"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"id_number": "350102194005170011"}, "id_number", "checksum"),
        ({"id_number": "35010219400517"}, "id_number", "17 digits"),
        ({"phone": "12345"}, "phone", "phone number"),
        ({"home_location": {"lon": 181.0, "lat": 26.0}}, "lon", "less than or equal to 180"),
        ({"home_location": {"lon": 119.0, "lat": -91.0}}, "lat", "greater than or equal to -90"),
        ({"sex": "unknown"}, "sex", "male"),
        ({"subsidy_categories": ["rich"]}, "subsidy_categories", "extreme_poverty"),
        ({"birth_date": "1941-01-01"}, "body", "does not match the ID-card number"),
        ({"safe_area": {"type": "Point", "coordinates": [119.0, 26.0]}}, "safe_area", "Polygon"),
        (
            {
                "safe_area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[119.0, 26.0], [119.1, 26.1], [119.1, 26.0], [119.0, 26.1], [119.0, 26.0]]
                    ],
                }
            },
            "safe_area",
            "Self-intersection",
        ),
        ({"contacts": [{"name": "x", "kind": "friend", "phone": "13800000000"}]}, "kind", "relative"),
        (
            {"health": {"vitals_thresholds": {"heart_rate_min": 130, "heart_rate_max": 120}}},
            "vitals_thresholds",
            "heart_rate_min must be below heart_rate_max",
        ),
    ],
)
async def test_invalid_input_gets_a_clear_422(
    client: httpx.AsyncClient, agent: dict[str, str], overrides: dict[str, Any], field: str, message: str
) -> None:
    response = await client.post("/api/v1/elders", json=elder_payload(**overrides), headers=agent)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert any(field in [str(p) for p in error["loc"]] for error in body["detail"]), body
    assert message in body["message"], body["message"]


async def test_invalid_json_gets_422(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/elders", content=b"{not json", headers={**agent, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_a_known_id_number_is_a_conflict(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    first = await create(client, agent)
    again = await client.post(
        "/api/v1/elders", json=elder_payload(id_number=first["id_number"]), headers=agent
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_list_masks_identity_and_carries_no_health_data(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    elder = await create(client, agent)
    response = await client.get("/api/v1/elders", headers=agent)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["id_number"] == elder["id_number"][:6] + "********" + elder["id_number"][-4:]
    assert item["phone"] == elder["phone"][3:6] + "****" + elder["phone"][-4:]
    assert not {"health", "home_location", "address", "safe_area", "contacts"} & item.keys()
    assert "青霉素" not in response.text
    assert "高血压" not in response.text


async def test_search_by_name_phone_id_number_district_and_community(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    lin = await create(client, agent, name="林玉兰", community="三坊社区")
    chen = await create(client, agent, name="陈建国", sex="male", community="屏山社区", phone="13905911234")
    await create(client, agent, name="黄美珠", district="台江区", community="苍霞社区")

    async def ids(**params: Any) -> list[int]:
        response = await client.get("/api/v1/elders", params=params, headers=agent)
        assert response.status_code == 200
        return [e["id"] for e in response.json()["items"]]

    assert await ids(q="玉兰") == [lin["id"]]
    assert await ids(q="0591-1234") == [chen["id"]]
    assert await ids(q=chen["id_number"]) == [chen["id"]]
    assert await ids(q=lin["id_number"][-6:]) == [lin["id"]]
    assert await ids(community="屏山社区") == [chen["id"]]
    assert len(await ids(district="鼓楼区")) == 2
    assert await ids(q="不存在") == []


async def test_paging(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    created = [(await create(client, agent))["id"] for _ in range(5)]
    first = (await client.get("/api/v1/elders?limit=2&offset=0", headers=agent)).json()
    third = (await client.get("/api/v1/elders?limit=2&offset=4", headers=agent)).json()
    assert first["total"] == third["total"] == 5
    assert [e["id"] for e in first["items"]] == created[:2]
    assert [e["id"] for e in third["items"]] == created[4:]
    too_many = await client.get("/api/v1/elders?limit=100000", headers=agent)
    assert too_many.status_code == 422


async def test_full_read_and_health_read_are_audited(
    client: httpx.AsyncClient, agent: dict[str, str], admin: dict[str, str]
) -> None:
    elder = await create(client, agent)
    assert (await client.get(f"/api/v1/elders/{elder['id']}", headers=agent)).status_code == 200
    health = await client.get(f"/api/v1/elders/{elder['id']}/health", headers=agent)
    assert health.status_code == 200
    assert health.json()["conditions"] == ["高血压"]
    log = await client.get(
        "/api/v1/audit", params={"entity_type": "elder", "entity_id": elder["id"]}, headers=admin
    )
    entries = log.json()["items"]
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["health_record.read", "elder.read"]
    assert "elder.create" in actions
    read = entries[0]
    assert read["username"] == "agent1"
    assert read["ip"] == "127.0.0.1"
    assert read["at"] == "2026-03-02T01:00:00Z"


async def test_an_elders_alarm_settings_override_the_defaults_and_are_checked(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    elder = await create(client, agent)
    assert elder["alarm_overrides"]["heart_rate"] is None
    url = f"/api/v1/elders/{elder['id']}"
    settings = {"heart_rate": {"raise_after_readings": 1, "clear_margin": 8}, "quiet_hours": "21:00-06:30"}
    changed = await client.patch(url, json={"alarm_overrides": settings}, headers=agent)
    assert changed.status_code == 200
    overrides = changed.json()["alarm_overrides"]
    assert overrides["heart_rate"]["raise_after_readings"] == 1
    assert overrides["heart_rate"]["clear_margin"] == 8
    assert overrides["quiet_hours"] == "21:00-06:30"
    for wrong in (
        {"quiet_hours": "25:00-07:00"},
        {"quiet_hours": "evenings"},
        {"heart_rate": {"raise_after_readings": 0}},
        {"pulse": {"raise_after_readings": 2}},
        {"geofence": {"clear_margin": -1}},
    ):
        refused = await client.patch(url, json={"alarm_overrides": wrong}, headers=agent)
        assert refused.status_code == 422, wrong


async def test_update_changes_fields_and_audits_their_names_only(
    client: httpx.AsyncClient, agent: dict[str, str], admin: dict[str, str]
) -> None:
    elder = await create(client, agent)
    response = await client.patch(
        f"/api/v1/elders/{elder['id']}",
        json={
            "address": "福州市鼓楼区新地址8号",
            "status": "moved_out",
            "home_location": {"lon": 119.3, "lat": 26.1},
        },
        headers=agent,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["address"] == "福州市鼓楼区新地址8号"
    assert updated["status"] == "moved_out"
    assert updated["home_location"] == {"lon": 119.3, "lat": 26.1}
    log = await client.get("/api/v1/audit", params={"action": "elder.update"}, headers=admin)
    entry = log.json()["items"][0]
    assert entry["detail"] == {"fields": ["address", "home_lat", "home_lon", "status"]}
    assert "新地址" not in log.text
    bad = await client.patch(f"/api/v1/elders/{elder['id']}", json={"phone": "not a phone"}, headers=agent)
    assert bad.status_code == 422


async def test_health_record_is_replaced(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    elder = await create(client, agent)
    response = await client.put(
        f"/api/v1/elders/{elder['id']}/health",
        json={
            "conditions": ["2型糖尿病"],
            "blood_type": "O",
            "self_care_ability": 3,
            "vitals_thresholds": {"spo2_min": 92},
        },
        headers=agent,
    )
    assert response.status_code == 200
    record = response.json()
    assert record["conditions"] == ["2型糖尿病"]
    assert record["allergies"] == []
    assert record["vitals_thresholds"]["spo2_min"] == 92
    assert record["vitals_thresholds"]["heart_rate_max"] == 120
    out_of_range = await client.put(
        f"/api/v1/elders/{elder['id']}/health", json={"self_care_ability": 7}, headers=agent
    )
    assert out_of_range.status_code == 422


async def test_contacts_are_kept_in_call_order(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    elder = await create(client, agent)
    new_order = [
        {"name": "家庭医生", "kind": "doctor", "phone": "059187000001"},
        {"name": "女儿", "kind": "relative", "relation": "女儿", "phone": "13800000009"},
    ]
    response = await client.put(f"/api/v1/elders/{elder['id']}/contacts", json=new_order, headers=agent)
    assert response.status_code == 200
    listed = (await client.get(f"/api/v1/elders/{elder['id']}/contacts", headers=agent)).json()
    assert [(c["priority"], c["name"], c["phone"]) for c in listed] == [
        (1, "家庭医生", "+8659187000001"),
        (2, "女儿", "+8613800000009"),
    ]


async def test_unknown_elder_is_404(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    for path in ("/api/v1/elders/999", "/api/v1/elders/999/health", "/api/v1/elders/999/contacts"):
        response = await client.get(path, headers=agent)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_null_clears_the_phone_but_is_refused_for_a_required_field(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    """Found by the fuzzer: `{"address": null}` reached the database's NOT NULL and answered 500."""
    elder = await create(client, agent)
    url = f"/api/v1/elders/{elder['id']}"
    for field in ("address", "name", "status", "living_alone", "subsidy_categories"):
        refused = await client.patch(url, json={field: None}, headers=agent)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), field
        assert field in refused.json()["message"]
    cleared = await client.patch(url, json={"phone": None, "safe_area": None}, headers=agent)
    assert cleared.status_code == 200
    assert (cleared.json()["phone"], cleared.json()["safe_area"]) == (None, None)
    assert cleared.json()["address"] == elder["address"]
