"""Providers over HTTP: validation of areas, coordinates and service types; roles; status changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.factories import operator_headers, provider_payload


@pytest.fixture
async def supervisor(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.supervisor, "supervisor")


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


async def create(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/providers", json=provider_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_supervisor_admits_a_provider_as_pending(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    provider = await create(client, supervisor, name="榕安助餐服务有限公司")
    assert provider["status"] == "pending"
    assert provider["phone"] == "+8613900000000"
    assert provider["base_location"] == {"lon": 119.29, "lat": 26.08}
    assert provider["service_area"]["type"] == "Polygon"
    assert provider["rating"] == 0.0
    assert provider["price_list"][0]["price_cents"] == 1500
    assert provider["staff"] == []
    assert provider["admission"]["legal_registration"]["checked_by"] == "supervisor"
    assert (provider["admission_missing"], provider["review_flag"], provider["flagged_at"]) == ([], "", None)


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[119.0, 26.0], [119.1, 26.1], [119.1, 26.0], [119.0, 26.1], [119.0, 26.0]]],
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"service_area": BOWTIE}, "Self-intersection"),
        (
            {
                "service_area": {
                    "type": "Polygon",
                    "coordinates": [[[119.0, 26.0], [119.1, 26.1], [119.0, 26.0]]],
                }
            },
            "Too few points",
        ),
        (
            {
                "service_area": {
                    "type": "Polygon",
                    "coordinates": [[[190.0, 26.0], [191.0, 26.0], [191.0, 27.0], [190.0, 26.0]]],
                }
            },
            "longitude 190.0 is outside",
        ),
        (
            {"service_area": {"type": "LineString", "coordinates": [[119.0, 26.0], [119.1, 26.1]]}},
            "Polygon or MultiPolygon",
        ),
        ({"service_area": {"type": "Polygon", "coordinates": "nonsense"}}, "nested arrays"),
        ({"base_location": {"lon": 119.0, "lat": 95.0}}, "less than or equal to 90"),
        ({"service_types": ["teleportation"]}, "emergency_rescue"),
        ({"service_types": []}, "at least 1 item"),
        (
            {"price_list": [{"service_type": "bathing", "item": "助浴", "unit": "次", "price_cents": 100}]},
            "bathing, which is not among service_types",
        ),
        (
            {"working_hours": [{"weekdays": [1], "start": "18:00", "end": "08:00"}]},
            "start must be before end",
        ),
        ({"working_hours": [{"weekdays": [8], "start": "08:00", "end": "18:00"}]}, "less than or equal to 7"),
        ({"registration_number": "abc"}, "pattern"),
    ],
)
async def test_invalid_provider_gets_a_clear_422(
    client: httpx.AsyncClient, supervisor: dict[str, str], overrides: dict[str, Any], message: str
) -> None:
    response = await client.post("/api/v1/providers", json=provider_payload(**overrides), headers=supervisor)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert message in response.json()["message"]


async def test_multipolygon_service_area_is_accepted(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    area = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[119.28, 26.07], [119.29, 26.07], [119.29, 26.08], [119.28, 26.07]]],
            [[[119.30, 26.07], [119.31, 26.07], [119.31, 26.08], [119.30, 26.07]]],
        ],
    }
    assert (await create(client, supervisor, service_area=area))["service_area"] == area


async def test_agents_read_providers_but_cannot_change_them(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    provider = await create(client, supervisor)
    assert (await client.get(f"/api/v1/providers/{provider['id']}", headers=agent)).status_code == 200
    status = await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "active", "reason": "checked"},
        headers=agent,
    )
    assert status.status_code == 403
    assert status.json()["code"] == "forbidden"
    assert (
        await client.patch(f"/api/v1/providers/{provider['id']}", json={"capacity": 9}, headers=agent)
    ).status_code == 403
    assert (await client.post("/api/v1/providers", json=provider_payload(), headers=agent)).status_code == 403
    unchanged = await client.get(f"/api/v1/providers/{provider['id']}", headers=agent)
    assert unchanged.json()["status"] == "pending"


async def test_status_lifecycle_and_audit(
    client: httpx.AsyncClient, supervisor: dict[str, str], app_services: AppServices
) -> None:
    provider = await create(client, supervisor)
    url = f"/api/v1/providers/{provider['id']}/status"
    for status in ("active", "suspended", "active", "exited"):
        response = await client.post(
            url, json={"status": status, "reason": f"to {status}"}, headers=supervisor
        )
        assert response.status_code == 200
        assert response.json()["status"] == status
        assert response.json()["status_reason"] == f"to {status}"
    after_exit = await client.post(url, json={"status": "active", "reason": "back"}, headers=supervisor)
    assert after_exit.status_code == 409
    assert after_exit.json()["code"] == "invalid_transition"
    no_reason = await client.post(url, json={"status": "active"}, headers=supervisor)
    assert no_reason.status_code == 422
    admin = await operator_headers(app_services, client, Role.admin)
    log = (await client.get("/api/v1/audit", params={"action": "provider.status"}, headers=admin)).json()
    assert [e["detail"]["to"] for e in log["items"]] == ["exited", "active", "suspended", "active"]
    assert log["items"][-1]["detail"] == {"from": "pending", "to": "active", "reason": "to active"}
    assert log["items"][0]["username"] == "supervisor"


async def test_pending_cannot_be_suspended(client: httpx.AsyncClient, supervisor: dict[str, str]) -> None:
    provider = await create(client, supervisor)
    response = await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "suspended", "reason": "x"},
        headers=supervisor,
    )
    assert response.status_code == 409


async def test_update_keeps_price_list_consistent(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    provider = await create(client, supervisor)
    url = f"/api/v1/providers/{provider['id']}"
    dropped = await client.patch(url, json={"service_types": ["cleaning"]}, headers=supervisor)
    assert dropped.status_code == 422
    assert "meal_assistance" in dropped.json()["message"]
    ok = await client.patch(
        url,
        json={
            "service_types": ["meal_assistance", "cleaning"],
            "capacity": 8,
            "base_location": {"lon": 119.291, "lat": 26.081},
        },
        headers=supervisor,
    )
    assert ok.status_code == 200
    assert ok.json()["capacity"] == 8
    assert ok.json()["service_types"] == ["meal_assistance", "cleaning"]
    assert ok.json()["base_location"] == {"lon": 119.291, "lat": 26.081}


async def test_search_and_filters(client: httpx.AsyncClient, supervisor: dict[str, str]) -> None:
    meal = await create(client, supervisor, name="闽康助餐")
    bath = await create(client, supervisor, name="福寿助浴", service_types=["bathing"], price_list=[])
    await client.post(
        f"/api/v1/providers/{bath['id']}/status",
        json={"status": "active", "reason": "ok"},
        headers=supervisor,
    )

    async def ids(**params: Any) -> list[int]:
        return [
            p["id"]
            for p in (await client.get("/api/v1/providers", params=params, headers=supervisor)).json()[
                "items"
            ]
        ]

    assert await ids(service_type="bathing") == [bath["id"]]
    assert await ids(service_type="meal_assistance") == [meal["id"]]
    assert await ids(status="active") == [bath["id"]]
    assert await ids(q="闽康") == [meal["id"]]
    assert await ids(q=bath["registration_number"]) == [bath["id"]]
    listed = (await client.get("/api/v1/providers", headers=supervisor)).json()["items"]
    assert [p["review_flag"] for p in listed] == ["", ""]
    assert (await client.get("/api/v1/providers?service_type=flying", headers=supervisor)).status_code == 422


async def test_staff(client: httpx.AsyncClient, supervisor: dict[str, str]) -> None:
    provider = await create(client, supervisor)
    staff = await client.post(
        f"/api/v1/providers/{provider['id']}/staff",
        headers=supervisor,
        json={
            "name": "王师傅",
            "phone": "13700000001",
            "qualifications": ["健康证"],
            "service_types": ["meal_assistance"],
        },
    )
    assert staff.status_code == 201
    staff_id = staff.json()["id"]
    changed = await client.put(
        f"/api/v1/providers/{provider['id']}/staff/{staff_id}",
        headers=supervisor,
        json={
            "name": "王师傅",
            "phone": "13700000001",
            "qualifications": ["健康证", "养老护理员证"],
            "active": False,
        },
    )
    assert changed.json()["active"] is False
    read = (await client.get(f"/api/v1/providers/{provider['id']}", headers=supervisor)).json()
    assert [(s["name"], s["qualifications"], s["active"]) for s in read["staff"]] == [
        ("王师傅", ["健康证", "养老护理员证"], False)
    ]
    wrong_provider = await client.put(
        f"/api/v1/providers/999/staff/{staff_id}",
        headers=supervisor,
        json={"name": "x", "phone": "13700000001"},
    )
    assert wrong_provider.status_code == 404


async def test_nearby_lists_active_providers_nearest_first_within_the_radius(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    # Along a meridian one degree of latitude is about 111.2 km: 0.01° ≈ 1112 m.
    spots = {"near": 26.090, "nearer": 26.085, "far": 26.150, "pending": 26.081}
    ids = {}
    for name, lat in spots.items():
        ids[name] = (await create(client, supervisor, base_location={"lon": 119.29, "lat": lat}))["id"]
        if name != "pending":
            await client.post(
                f"/api/v1/providers/{ids[name]}/status",
                json={"status": "active", "reason": "admitted"},
                headers=supervisor,
            )
    response = await client.get(
        "/api/v1/providers/nearby", params={"lon": 119.29, "lat": 26.08, "radius_m": 5000}, headers=agent
    )
    assert response.status_code == 200
    found = [(p["id"], p["distance_m"]) for p in response.json()]
    assert found == [(ids["nearer"], 556), (ids["near"], 1112)]
    other_type = await client.get(
        "/api/v1/providers/nearby",
        params={"lon": 119.29, "lat": 26.08, "service_type": "bathing"},
        headers=agent,
    )
    assert other_type.json() == []
    bad = await client.get("/api/v1/providers/nearby", params={"lon": 200, "lat": 26.08}, headers=agent)
    assert bad.status_code == 422
    client.cookies.clear()  # the logins above left session cookies behind
    assert (
        await client.get("/api/v1/providers/nearby", params={"lon": 119.29, "lat": 26.08})
    ).status_code == 401


async def test_null_for_a_provider_field_is_refused(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    """Found by the fuzzer: `{"service_types": null}` or `{"name": null}` answered 500."""
    provider = await create(client, supervisor)
    url = f"/api/v1/providers/{provider['id']}"
    for field in ("service_types", "price_list", "name", "capacity", "base_location"):
        refused = await client.patch(url, json={field: None}, headers=supervisor)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), field
    unchanged = await client.get(url, headers=supervisor)
    assert unchanged.json()["service_types"] == provider["service_types"]
