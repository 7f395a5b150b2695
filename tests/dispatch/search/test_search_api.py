"""`GET /api/v1/search` on both databases: elders by pinyin, phone and ID suffix, name and address, kept
current as names, phones and devices change; records by number; masked; agents never see complaints about
themselves."""

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


async def create_elder(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/elders", json=elder_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def found(items: list[dict[str, Any]], kind: str = "elder") -> list[tuple[int, str]]:
    return [(item["id"], item["matched"]) for item in items if item["kind"] == kind]


async def test_an_elder_is_found_by_initials_pinyin_phone_and_id_suffix_and_masked(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    zhang = await create_elder(
        client, agent, name="张三丰", phone="13905917788", address="福州市鼓楼区杨桥路8号"
    )
    zeng = await create_elder(client, agent, name="曾国藩")
    id_tail = zhang["id_number"][-6:]
    assert found(await search(client, agent, "zsf")) == [(zhang["id"], "initials")]
    assert found(await search(client, agent, "ZhangSan")) == [(zhang["id"], "pinyin")]
    assert found(await search(client, agent, "7788")) == [(zhang["id"], "phone")]
    assert (zhang["id"], "id_number") in found(await search(client, agent, id_tail))
    assert found(await search(client, agent, "张三")) == [(zhang["id"], "name")]
    assert found(await search(client, agent, "杨桥路")) == [(zhang["id"], "address")]
    assert (
        found(await search(client, agent, "zgf"))
        == found(await search(client, agent, "cgf"))
        == [(zeng["id"], "initials")]
    )
    [hit] = await search(client, agent, "zsf")
    assert hit["phone"] == "139****7788"
    assert hit["id_number"] == zhang["id_number"][:6] + "********" + zhang["id_number"][-4:]
    assert (hit["label"], hit["community"], hit["age"]) == ("张三丰", "三坊社区", 85)
    assert not {"address", "home_location"} & set(hit)


async def test_keys_follow_a_new_name_phone_and_device(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str]
) -> None:
    elder = await create_elder(client, agent, name="林玉兰", phone="13905910001")
    other = await create_elder(client, agent, name="陈秀英")
    changed = await client.patch(
        f"/api/v1/elders/{elder['id']}", json={"name": "林玉梅", "phone": "13905910002"}, headers=agent
    )
    assert changed.status_code == 200, changed.text
    assert found(await search(client, agent, "linyulan")) == []
    assert found(await search(client, agent, "linyumei")) == [(elder["id"], "pinyin")]
    assert found(await search(client, agent, "0001")) == []
    device = await client.post(
        "/api/v1/devices",
        json={"imei": "860000000000123", "elder_id": elder["id"], "phone": "13705915566"},
        headers=agent,
    )
    assert device.status_code == 201, device.text
    assert found(await search(client, agent, "5566")) == [(elder["id"], "phone")]
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    moved = await client.patch(
        f"/api/v1/devices/{device.json()['id']}", json={"elder_id": other["id"]}, headers=supervisor
    )
    assert moved.status_code == 200, moved.text
    assert found(await search(client, agent, "5566")) == [(other["id"], "phone")]


async def test_records_are_found_by_number_and_complaints_about_oneself_are_not(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str]
) -> None:
    elder = await create_elder(client, agent, name="王长顺")
    call = await client.post(
        "/api/v1/calls",
        json={"elder_id": elder["id"], "category": "enquiry", "priority": "P3"},
        headers=agent,
    )
    assert call.status_code == 201, call.text
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()
    about_me = await client.post(
        "/api/v1/complaints",
        json={
            "source": "phone",
            "target": "agent",
            "operator_id": me["id"],
            "text": "态度不好",
            "elder_id": elder["id"],
        },
        headers=agent,
    )
    assert about_me.status_code == 201, about_me.text
    number = call.json()["id"]
    hits = await search(client, agent, f"#{number}")
    assert [(h["kind"], h["id"], h["label"]) for h in hits if h["kind"] == "call"] == [
        ("call", number, "王长顺")
    ]
    assert found(await search(client, agent, str(about_me.json()["id"])), "complaint") == []
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    assert found(await search(client, supervisor, str(about_me.json()["id"])), "complaint") == [
        (about_me.json()["id"], "number")
    ]


async def test_short_or_shapeless_text_finds_nothing_and_more_says_when_to_type_more(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    for _ in range(3):
        await create_elder(client, agent, name="张三")
    assert await search(client, agent, "z") == []
    assert await search(client, agent, "?!") == []
    response = await client.get("/api/v1/search", params={"q": "zs", "limit": 2}, headers=agent)
    assert (len(response.json()["items"]), response.json()["more"]) == (2, True)
    too_long = await client.get("/api/v1/search", params={"q": "x" * 65}, headers=agent)
    assert too_long.status_code == 422
