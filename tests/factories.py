"""Valid objects and request bodies with sensible defaults; override what a test is about."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import httpx

from dispatch.api.state import AppServices
from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.db.session import unit_of_work
from dispatch.elders.idcard import make_id_number

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)

# A square of about 2 km around Gulou, Fuzhou.
AREA = {
    "type": "Polygon",
    "coordinates": [[[119.28, 26.07], [119.30, 26.07], [119.30, 26.09], [119.28, 26.09], [119.28, 26.07]]],
}


def elder_payload(**overrides: Any) -> dict[str, Any]:
    number = next(_sequence)
    male = overrides.get("sex", "female") == "male"
    body: dict[str, Any] = {
        "name": f"测试老人{number}",
        "sex": "male" if male else "female",
        "id_number": make_id_number("350102", date(1940, 5, 17), number, male),
        "phone": f"1390591{number:04d}",
        "hukou_type": "urban",
        "hukou_address": "福建省福州市鼓楼区",
        "district": "鼓楼区",
        "street": "东街街道",
        "community": "三坊社区",
        "address": "福州市鼓楼区测试路1号101室",
        "home_location": {"lon": 119.2985, "lat": 26.083},
        "living_alone": True,
        "subsidy_categories": ["aged_80_plus", "minimum_living"],
        "health": {
            "conditions": ["高血压"],
            "medications": [{"name": "苯磺酸氨氯地平片", "dosage": "5mg", "frequency": "每日一次"}],
            "allergies": ["青霉素"],
            "blood_type": "A",
            "self_care_ability": 2,
        },
        "contacts": [
            {"name": "测试儿子", "kind": "relative", "relation": "儿子", "phone": "13800000001"},
            {"name": "测试助老员", "kind": "community_worker", "relation": "助老员", "phone": "13800000002"},
        ],
    }
    body.update(overrides)
    return body


# Every admission criterion met, as a reviewer would record it; activation needs all of them.
FULL_ADMISSION: dict[str, dict[str, Any]] = {
    "legal_registration": {"met": True, "evidence": "营业执照已核验"},
    "staff": {"met": True, "evidence": "服务人员名册及资格证已核验"},
    "premises_equipment": {"met": True, "evidence": "实地查看服务场所和设备"},
    "service_items": {"met": True, "evidence": "服务项目、内容和频次已公示"},
    "marked_prices": {"met": True, "evidence": "价目表已公示"},
    "public_commitments": {"met": True, "evidence": "服务承诺书已签署并公示"},
}


def provider_payload(**overrides: Any) -> dict[str, Any]:
    """A provider whose admission review is complete (pass admission={} for a fresh application)."""
    number = next(_sequence)
    body: dict[str, Any] = {
        "name": f"测试助餐服务有限公司{number}",
        "registration_number": f"91350102MA{number:08d}",
        "phone": "13900000000",
        "district": "鼓楼区",
        "service_types": ["meal_assistance"],
        "base_location": {"lon": 119.29, "lat": 26.08},
        "service_area": AREA,
        "price_list": [
            {"service_type": "meal_assistance", "item": "午餐", "unit": "餐", "price_cents": 1500}
        ],
        "capacity": 5,
        "working_hours": [{"weekdays": [1, 2, 3, 4, 5], "start": "10:00", "end": "19:00"}],
        "admission": FULL_ADMISSION,
    }
    body.update(overrides)
    return body


async def make_operator(
    services: AppServices, username: str, role: Role, password: str = PASSWORD
) -> Operator:
    async with unit_of_work(services.sessions) as session:
        return await auth_service.create_operator(
            session=session,
            clock=services.clock,
            actor=Actor.system("test"),
            username=username,
            display_name=username,
            role=role,
            password=password,
        )


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for a fresh session."""
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def operator_headers(
    services: AppServices, client: httpx.AsyncClient, role: Role, username: str | None = None
) -> dict[str, str]:
    """Create an operator with this role and log them in."""
    name = username or f"{role.value}{next(_sequence)}"
    await make_operator(services, name, role)
    return await login(client, name)


async def read_outbox(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """The SMS outbox, newest first, each message read whole (lists mask personal texts)."""
    listed = await client.get("/api/v1/sms/outbox", params={"limit": 200, **params}, headers=headers)
    assert listed.status_code == 200, listed.text
    return [
        (await client.get(f"/api/v1/sms/{item['id']}", headers=headers)).json()
        for item in listed.json()["items"]
    ]


async def make_elder_with_device(
    services: AppServices, imei: str, kind: str = "watch", heartbeat_interval_s: int = 600, **elder: Any
) -> tuple[int, int, str]:
    """An elder with one registered device; returns (elder id, device id, device secret)."""
    from dispatch.elders import service as elders_service
    from dispatch.elders.schemas import DeviceCreate, ElderCreate

    actor = Actor.system("test")
    async with unit_of_work(services.sessions) as session:
        created = await elders_service.create(
            session=session,
            clock=services.clock,
            actor=actor,
            data=ElderCreate.model_validate(elder_payload(**elder)),
        )
        registered = await elders_service.register_device(
            session=session,
            clock=services.clock,
            actor=actor,
            data=DeviceCreate(
                imei=imei, elder_id=created.id, kind=kind, heartbeat_interval_s=heartbeat_interval_s
            ),
            device_secrets=services.device_secrets,
        )
        return created.id, registered.device.id, registered.secret
