"""The coverage minimum (at least 2 active providers per district for the required types), its alert,
and the coverage check: counts per district and type, and elders no provider reaches in 15 minutes."""

from __future__ import annotations

from typing import Any

import httpx
from shapely.geometry import box

from dispatch.providers.coverage import Site, circle_radius_m, reached
from tests.dispatch.providers.steps import new_provider, open_alerts, set_status
from tests.factories import AREA, elder_payload


def short(district: str, service_type: str, active: int) -> dict[str, Any]:
    """A coverage shortfall as the API reports it (the console words it)."""
    return {"district": district, "service_type": service_type, "active": active, "minimum": 2}


MEAL_SHORT = short("鼓楼区", "meal_assistance", 1)


async def test_suspending_one_of_two_meal_providers_in_a_district_alerts_the_supervisors(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    first = await new_provider(client, supervisor)
    await new_provider(client, supervisor)
    suspended = await set_status(client, supervisor, first["id"], "suspended")
    assert suspended["status"] == "suspended"  # the change is made even though it breaks the minimum
    assert suspended["coverage_warnings"] == [MEAL_SHORT]
    [alert] = await open_alerts(client, agent)
    assert (alert["kind"], alert["key"], alert["audience"]) == (
        "coverage",
        "coverage:鼓楼区:meal_assistance",
        "supervisors",
    )
    assert alert["text"] == "鼓楼区 助餐 在营服务商只剩 1 家（要求至少 2 家）"  # the log's and the API's text
    assert alert["detail"] == MEAL_SHORT | {"provider_id": first["id"]}


async def test_no_alert_while_the_district_keeps_the_minimum_or_the_type_has_none(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    meal = [await new_provider(client, supervisor, district="台江区") for _ in range(3)]
    bathing = await new_provider(
        client, supervisor, district="台江区", service_types=["bathing"], price_list=[]
    )
    await new_provider(client, supervisor, district="鼓楼区")  # one meal provider elsewhere: no matter
    assert (await set_status(client, supervisor, meal[0]["id"], "suspended"))["coverage_warnings"] == []
    assert (await set_status(client, supervisor, bathing["id"], "exited"))["coverage_warnings"] == []
    assert await open_alerts(client, supervisor) == []
    # Exiting a provider that was already suspended changes no count.
    assert (await set_status(client, supervisor, meal[0]["id"], "exited"))["coverage_warnings"] == []
    exited = await set_status(client, supervisor, meal[1]["id"], "exited")
    assert exited["coverage_warnings"] == [short("台江区", "meal_assistance", 1)]
    assert [a["key"] for a in await open_alerts(client, supervisor)] == ["coverage:台江区:meal_assistance"]


async def test_moving_district_or_dropping_a_required_type_counts_against_the_old_district(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    both: dict[str, Any] = {"service_types": ["meal_assistance", "housekeeping"]}
    mover = await new_provider(client, supervisor, **both)
    stayer = await new_provider(client, supervisor, **both)
    moved = await client.patch(
        f"/api/v1/providers/{mover['id']}", json={"district": "台江区"}, headers=supervisor
    )
    assert moved.status_code == 200
    assert moved.json()["district"] == "台江区"
    assert moved.json()["coverage_warnings"] == [MEAL_SHORT, short("鼓楼区", "housekeeping", 1)]
    dropped = await client.patch(
        f"/api/v1/providers/{stayer['id']}",
        json={"service_types": ["housekeeping"], "price_list": []},
        headers=supervisor,
    )
    # The open alert for 鼓楼区 meals is not repeated, but the response still says what is short.
    assert dropped.json()["coverage_warnings"] == [short("鼓楼区", "meal_assistance", 0)]
    alerts = await open_alerts(client, supervisor)
    assert sorted(a["key"] for a in alerts) == [
        "coverage:鼓楼区:housekeeping",
        "coverage:鼓楼区:meal_assistance",
    ]
    unchanged = await client.patch(
        f"/api/v1/providers/{stayer['id']}", json={"capacity": 9}, headers=supervisor
    )
    assert unchanged.json()["coverage_warnings"] == []


def test_a_home_is_reached_when_an_area_covers_it_and_the_base_is_within_the_circle() -> None:
    assert circle_radius_m(15, 20.0) == 5000.0
    site = Site(area=box(119.0, 26.0, 119.5, 26.5), base_lon=119.49, base_lat=26.1)
    # Along the meridian 0.01° of latitude is 1,111.95 m: 0.0449° ≈ 4,993 m, 0.0451° ≈ 5,015 m.
    homes = [(119.49, 26.1449), (119.49, 26.1451), (119.52, 26.1), (119.5, 26.1)]
    # The third is 3 km from the base but outside the area; the fourth is on the area's edge: inside.
    assert reached(homes, [site], 5000.0) == {0, 3}
    assert reached(homes, [], 5000.0) == set()
    assert reached([], [site], 5000.0) == set()


# A big area whose base (south-west corner) is more than 15 minutes from most of it.
WIDE = {
    "type": "Polygon",
    "coordinates": [[[119.20, 26.00], [119.50, 26.00], [119.50, 26.20], [119.20, 26.20], [119.20, 26.00]]],
}


async def elder(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/elders", json=elder_payload(name=name, **overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def rows_by_key(report: dict[str, Any]) -> dict[tuple[str, str], tuple[int, bool, bool]]:
    return {
        (r["district"], r["service_type"]): (r["active_providers"], r["required"], r["meets_minimum"])
        for r in report["districts"]
    }


def uncovered_names(report: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    return {g["service_type"]: (g["count"], [e["name"] for e in g["elders"]]) for g in report["uncovered"]}


async def test_coverage_counts_active_providers_and_lists_elders_outside_every_circle(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    # AREA is the square 119.28-119.30 x 26.07-26.09; the meal bases are at (119.29, 26.08).
    await new_provider(client, supervisor, service_area=AREA)
    await new_provider(client, supervisor, service_area=AREA)
    await new_provider(client, supervisor, status="pending")
    await new_provider(client, supervisor, status="suspended", district="台江区", service_area=WIDE)
    housekeeping: dict[str, Any] = {"service_types": ["housekeeping"], "price_list": [], "district": "台江区"}
    await new_provider(
        client, supervisor, service_area=WIDE, base_location={"lon": 119.21, "lat": 26.01}, **housekeeping
    )
    near = await elder(client, agent, "近处老人", home_location={"lon": 119.2985, "lat": 26.083})
    far = await elder(
        client, agent, "远处老人", district="台江区", home_location={"lon": 119.45, "lat": 26.15}
    )
    by_base = await elder(
        client, agent, "站旁老人", district="台江区", home_location={"lon": 119.22, "lat": 26.02}
    )

    response = await client.get("/api/v1/coverage", headers=agent)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["circle_minutes"], report["minimum"]) == (15, 2)
    rows = rows_by_key(report)
    assert len(rows) == 2 * 13 == len(report["districts"])
    assert rows[("鼓楼区", "meal_assistance")] == (2, True, True)
    assert rows[("台江区", "meal_assistance")] == (0, True, False)  # the suspended one does not count
    assert rows[("台江区", "housekeeping")] == (1, True, False)
    assert rows[("鼓楼区", "housekeeping")] == (0, True, False)
    assert rows[("鼓楼区", "bathing")] == (0, False, True)
    assert [r["district"] for r in report["districts"][::13]] == ["台江区", "鼓楼区"]
    uncovered = uncovered_names(report)
    assert uncovered["meal_assistance"] == (2, ["远处老人", "站旁老人"])
    # The wide area covers all three homes, but only 站旁老人 is within 5 km of its base.
    assert uncovered["housekeeping"] == (2, ["近处老人", "远处老人"])
    assert uncovered["bathing"] == (3, ["近处老人", "远处老人", "站旁老人"])
    meal_group = next(g for g in report["uncovered"] if g["service_type"] == "meal_assistance")
    assert meal_group["elders"][0] == {
        "id": far["id"],
        "name": "远处老人",
        "district": "台江区",
        "community": "三坊社区",
    }
    assert by_base["id"] not in [
        e["id"] for e in next(g for g in report["uncovered"] if g["service_type"] == "housekeeping")["elders"]
    ]

    filtered = (
        await client.get(
            "/api/v1/coverage", params={"service_type": "housekeeping", "district": "鼓楼区"}, headers=agent
        )
    ).json()
    assert rows_by_key(filtered) == {("鼓楼区", "housekeeping"): (0, True, False)}
    assert uncovered_names(filtered) == {"housekeeping": (1, ["近处老人"])}
    assert filtered["uncovered"][0]["elders"][0]["id"] == near["id"]
    bad = await client.get("/api/v1/coverage", params={"service_type": "flying"}, headers=agent)
    assert bad.status_code == 422
