"""The provider's job page through the HTTP API, on SQLite and PostgreSQL: the offer SMS's link, accept and
decline through the dispatcher's own reply handling, the elder's details only to the holder (audited),
check-in (near, far, no position), items, photo, the elder's code, check-out, evidenced once; the follow-up
call's confirmation; the supervisors' list; tampered and expired links."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.followups import service as followups
from dispatch.jobpage import tokens
from tests.dispatch.offers.test_offers import acknowledged_fall, reply, rescue_provider
from tests.dispatch.orders.test_orders import CLEANER, DAYTIME, tomorrow
from tests.factories import elder_payload, provider_payload, read_outbox

HOME = (119.2985, 26.083)  # elder_payload's home
# 0.01 degree of latitude is 1,112 m: far beyond the 300 m a check-in may be from the home.
FAR = (119.2985, 26.093)
PRICE_LIST = [
    {"service_type": "cleaning", "item": "日常保洁2小时", "unit": "次", "price_cents": 8000},
    {"service_type": "cleaning", "item": "擦窗", "unit": "扇", "price_cents": 1000},
    {"service_type": "meal_assistance", "item": "午餐", "unit": "餐", "price_cents": 1500},
]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
LINK = re.compile(r"https?://\S+/p/(?P<token>[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{16})")


async def texts_to(client: httpx.AsyncClient, headers: dict[str, str], number: str) -> list[str]:
    """Every text to this number, oldest first."""
    return [m["body"] for m in reversed(await read_outbox(client, headers)) if m["to"] == number]


async def listed_cleaner(client: httpx.AsyncClient, supervisor: dict[str, str]) -> None:
    """The one active cleaner, with two cleaning items (and a meal) on its price list."""
    body = provider_payload(
        name="洁家保洁",
        phone=CLEANER,
        service_types=["cleaning", "meal_assistance"],
        price_list=PRICE_LIST,
        base_location={"lon": 119.2985, "lat": 26.084},
        working_hours=DAYTIME,
    )
    provider = (await client.post("/api/v1/providers", json=body, headers=supervisor)).json()
    activated = await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "active", "reason": "ok"},
        headers=supervisor,
    )
    assert activated.status_code == 200, activated.text


async def offered_order(
    client: httpx.AsyncClient,
    agent: dict[str, str],
    supervisor: dict[str, str],
    clock: FakeClock,
    **elder: Any,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A cleaning order for a new elder, offered to one cleaner: (order, elder, the offer SMS's token)."""
    await listed_cleaner(client, supervisor)
    created = await client.post("/api/v1/elders", json=elder_payload(**elder), headers=agent)
    assert created.status_code == 201, created.text
    body = {"elder_id": created.json()["id"], "service_type": "cleaning", **tomorrow(clock)}
    response = await client.post("/api/v1/service-orders", json=body, headers=agent)
    assert response.status_code == 201, response.text
    offer_text = (await texts_to(client, agent, CLEANER))[-1]
    match = LINK.search(offer_text)
    assert match is not None, offer_text
    return response.json(), created.json(), match["token"]


async def page(client: httpx.AsyncClient, token: str, step: str = "job", status: int = 200, **kw: Any) -> Any:
    method = "GET" if step == "job" else "PUT" if step == "items" else "POST"
    response = await client.request(method, f"/p/{token}/{step}", **kw)
    assert response.status_code == status, response.text
    return response.json()


async def checked_in(client: httpx.AsyncClient, token: str, at: tuple[float, float] = HOME) -> Any:
    await page(client, token, "accept")
    return await page(client, token, "check-in", json={"lon": at[0], "lat": at[1], "accuracy_m": 12})


async def code_texted(client: httpx.AsyncClient, headers: dict[str, str], number: str) -> str:
    found = re.search(r"确认码(\d{6})", (await texts_to(client, headers, number))[-1])
    assert found is not None
    return found[1]


async def order_of(client: httpx.AsyncClient, headers: dict[str, str], order_id: int) -> Any:
    return (await client.get(f"/api/v1/service-orders/{order_id}", headers=headers)).json()


async def evidence_list(client: httpx.AsyncClient, headers: dict[str, str], state: str) -> list[Any]:
    response = await client.get("/api/v1/service-evidence", params={"state": state}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    assert response.json()["total"] == len(items)
    return items


async def test_the_offer_sms_carries_a_link_to_this_offer_and_keeps_its_keywords(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    offer = (await order_of(client, agent, order["id"]))["job"]["offers"][0]
    text = (await texts_to(client, agent, CLEANER))[-1]
    assert f"回复“接 {offer['code']}”接单" in text
    url = f"http://127.0.0.1:8000/p/{token}"
    # The link is appended, nothing else changes, and it costs the base URL and at most 31 characters.
    assert text.removesuffix(url).endswith("分钟内未回复将转派。")
    assert len(url) - len("http://127.0.0.1:8000") <= 31
    outcome = await reply(client, agent, CLEANER, f"接 {offer['code']}")
    assert outcome["handled"]
    assert (await page(client, token))["status"] == "held"


async def test_the_link_expires_at_the_windows_end_plus_the_grace(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    link = tokens.read_token(app_services.settings.secret_key, token, clock.now())
    window_end = (await order_of(client, agent, order["id"]))["window_end"]
    assert link.expires_at.isoformat() == _plus_hours(window_end, 12)
    clock.advance((link.expires_at - clock.now()).total_seconds())
    refused = await page(client, token, status=410)
    assert refused["code"] == "link_expired"
    html = await client.get(f"/p/{token}")
    assert html.status_code == 410
    assert "链接已过期" in html.text


def _plus_hours(iso: str, hours: int) -> str:
    from datetime import datetime

    return (datetime.fromisoformat(iso) + timedelta(hours=hours)).isoformat()


async def test_a_tampered_link_is_refused_with_403_and_a_page_saying_so(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, _, token = await offered_order(client, agent, supervisor, clock)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert (await page(client, tampered, status=403))["code"] == "link_invalid"
    assert (await page(client, tampered, "accept", status=403))["code"] == "link_invalid"
    html = await client.get(f"/p/{tampered}?lang=en")
    assert html.status_code == 403
    assert "Invalid link" in html.text
    assert "链接" not in html.text


async def test_before_acceptance_the_page_shows_the_job_but_not_the_elder(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, elder, token = await offered_order(client, agent, supervisor, clock, name="林淑珍")
    response = await client.get(f"/p/{token}/job")
    shown = response.json()
    assert shown["status"] == "offered"
    assert (shown["service_type"], shown["district"], shown["street"]) == ("cleaning", "鼓楼区", "东街街道")
    assert shown["details"] is None
    for private in ("林淑珍", elder["address"], elder["phone"][-4:], "119.29"):
        assert private not in response.text


async def test_accepting_on_the_page_gives_the_details_to_the_provider_and_audits_each_read(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order, elder, token = await offered_order(client, agent, supervisor, clock, name="林淑珍")
    accepted = await page(client, token, "accept")
    assert (accepted["outcome"], accepted["status"]) == ("accepted", "held")
    details = accepted["details"]
    assert (details["elder_name"], details["phone"]) == ("林淑珍", "+86" + elder["phone"][-11:])
    assert details["navigation"]["amap"].startswith(
        "https://uri.amap.com/marker?position=119.298500,26.083000"
    )
    assert "api.map.baidu.com/marker?location=26.083000,119.298500" in details["navigation"]["baidu"]
    assert [i["item"] for i in accepted["price_items"]] == ["日常保洁2小时", "擦窗"]  # cleaning only
    assert (await order_of(client, agent, order["id"]))["state"] == "scheduled"
    assert any("林淑珍" in t for t in await texts_to(client, agent, CLEANER))  # the SMS confirmation too
    read = await client.get(f"/p/{token}/job")
    assert read.headers["cache-control"] == "no-store"  # the elder's details are never cached
    entries = await _audit(client, app_services, "elder.read_via_job_page")
    assert len(entries) == 2
    assert {e["entity_id"] for e in entries} == {str(elder["id"])}


async def _audit(client: httpx.AsyncClient, services: AppServices, action: str) -> list[Any]:
    from dispatch.auth.models import Role
    from tests.factories import operator_headers

    admin = await operator_headers(services, client, Role.admin)
    response = await client.get("/api/v1/audit", params={"action": action}, headers=admin)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_a_late_accept_of_a_cancelled_job_is_no_longer_needed_without_details(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock, name="林淑珍")
    cancelled = await client.post(
        f"/api/v1/service-orders/{order['id']}/cancel", json={"reason": "老人住院"}, headers=agent
    )
    assert cancelled.status_code == 200, cancelled.text
    response = await client.post(f"/p/{token}/accept")
    assert response.status_code == 200
    assert response.json()["status"] == "gone"
    assert response.json()["details"] is None
    assert "林淑珍" not in response.text
    assert "无需前往" in (await texts_to(client, agent, CLEANER))[-1]


async def test_declining_on_the_page_moves_the_job_on(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    declined = await page(client, token, "decline")
    assert (declined["outcome"], declined["status"], declined["details"]) == ("declined", "gone", None)
    assert (await order_of(client, agent, order["id"]))["job"]["offers"][0]["state"] == "declined"


async def test_the_whole_visit_evidences_the_order_once(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
    charged: list[int],
) -> None:
    order, elder, token = await offered_order(client, agent, supervisor, clock)
    shown = await checked_in(client, token)
    assert shown["evidence"]["distance_m"] == 0
    assert shown["evidence"]["flag"] is None
    assert (await order_of(client, agent, order["id"]))["state"] == "in_progress"
    code = await code_texted(client, agent, "+86" + elder["phone"][-11:])
    lines = [{"item": "日常保洁2小时", "quantity": 1}, {"item": "擦窗", "quantity": 3}]
    shown = await page(client, token, "items", json={"items": lines})
    assert shown["evidence"]["items"] == [
        {"item": "日常保洁2小时", "unit": "次", "unit_price_fen": 8000, "quantity": 1},
        {"item": "擦窗", "unit": "扇", "unit_price_fen": 1000, "quantity": 3},
    ]
    assert (await page(client, token, "photo", content=JPEG))["evidence"]["photo"] is True
    wrong = "000000" if code != "000000" else "111111"
    refused = await page(client, token, "code", status=422, json={"code": wrong})
    assert (refused["reason"], refused["params"]) == ("wrong_code", {"attempts_left": 4})
    assert (await page(client, token, "code", json={"code": code}))["evidence"]["confirmed"] is True
    assert charged == []  # not checked out yet
    shown = await page(client, token, "check-out")
    assert shown["evidence"]["evidenced"] is True
    assert charged == [order["id"]]
    assert (await order_of(client, agent, order["id"]))["state"] == "completed"
    await page(client, token, "check-out")  # again: nothing more
    assert charged == [order["id"]]
    [listed] = await evidence_list(client, supervisor, "evidenced")
    assert (listed["order_id"], listed["confirmed_by"], listed["missing"]) == (order["id"], "code", [])
    assert "checkin_lon" not in listed
    assert "code_hash" not in listed


async def test_a_far_check_in_is_flagged_and_one_without_a_position_too(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    far_order, _, far_token = await offered_order(client, agent, supervisor, clock)
    shown = await checked_in(client, far_token, at=FAR)
    assert shown["evidence"]["flag"] == "far"
    assert 1100 < shown["evidence"]["distance_m"] < 1125
    assert (await order_of(client, agent, far_order["id"]))["state"] == "in_progress"  # not refused
    created = await client.post("/api/v1/elders", json=elder_payload(), headers=agent)
    body = {"elder_id": created.json()["id"], "service_type": "cleaning", **tomorrow(clock, "13:00", "15:00")}
    await client.post("/api/v1/service-orders", json=body, headers=agent)
    match = LINK.search((await texts_to(client, agent, CLEANER))[-1])
    assert match is not None
    await page(client, match["token"], "accept")
    blind = await page(client, match["token"], "check-in", json={})
    assert blind["evidence"]["flag"] == "no_position"
    assert blind["evidence"]["distance_m"] is None
    flagged = await evidence_list(client, supervisor, "flagged")
    assert sorted(i["checkin_flag"] for i in flagged) == ["far", "no_position"]


async def test_the_code_locks_after_five_wrong_tries(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, elder, token = await offered_order(client, agent, supervisor, clock)
    await checked_in(client, token)
    code = await code_texted(client, agent, "+86" + elder["phone"][-11:])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        refused = await page(client, token, "code", status=422, json={"code": wrong})
        assert refused["params"] == {"attempts_left": left}
    assert (await page(client, token, "code", status=429, json={"code": code}))["reason"] == "code_locked"
    assert (await page(client, token))["evidence"]["confirmed"] is False


async def test_an_elder_without_a_phone_has_the_code_texted_to_the_first_contact(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, _, token = await offered_order(client, agent, supervisor, clock, phone=None)
    await checked_in(client, token)
    assert re.fullmatch(r"\d{6}", await code_texted(client, agent, "+8613800000001"))


async def test_the_photo_must_be_an_image_within_the_limit_and_is_served_only_to_supervisors(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    await checked_in(client, token)
    not_image = await page(client, token, "photo", status=422, content=b"<html>not a photo</html>")
    assert not_image["reason"] == "not_an_image"
    too_big = JPEG + b"\x00" * app_services.settings.job_photo_max_bytes
    assert (await page(client, token, "photo", status=413, content=too_big))["code"] == "payload_too_large"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    await page(client, token, "photo", content=png)
    stored = list((app_services.settings.data_dir / "evidence" / str(order["id"])).iterdir())
    assert [p.suffix for p in stored] == [".png"]
    assert stored[0].read_bytes() == png
    url = f"/api/v1/service-evidence/{order['id']}/photo"
    assert (await client.get(url, headers=agent)).status_code == 403
    client.cookies.clear()  # the logins' session cookies
    assert (await client.get(url)).status_code == 401
    served = await client.get(url, headers=supervisor)
    assert (served.status_code, served.headers["content-type"], served.content) == (200, "image/png", png)
    assert len(await _audit(client, app_services, "service_evidence.read_photo")) == 1


async def test_steps_before_acceptance_or_check_in_and_unlisted_items_are_refused(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, _, token = await offered_order(client, agent, supervisor, clock)
    assert (await page(client, token, "check-in", status=409, json={}))["reason"] == "no_longer_needed"
    await page(client, token, "accept")
    assert (await page(client, token, "check-out", status=409))["reason"] == "check_in_first"
    assert (await page(client, token, "code", status=409, json={"code": "123456"}))[
        "reason"
    ] == "check_in_first"
    bad = {"items": [{"item": "午餐", "quantity": 1}]}
    await page(client, token, "check-in", json={})
    assert (await page(client, token, "items", status=422, json=bad))["reason"] == "item_not_listed"
    assert (await page(client, token, "code", status=422, json={"code": "12ab56"}))[
        "code"
    ] == "validation_error"


async def test_the_follow_up_call_that_reached_the_elder_confirms_the_service(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
    charged: list[int],
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    await checked_in(client, token)
    await page(client, token, "check-out")
    [waiting] = await evidence_list(client, supervisor, "unevidenced")
    assert (waiting["order_id"], waiting["missing"]) == (order["id"], ["confirmation"])
    async with unit_of_work(app_services.sessions) as session:
        await followups.create_due(
            session=session, clock=clock, rules=followups.rules_for(app_services.settings)
        )
    [follow_up] = (await client.get("/api/v1/follow-ups", headers=agent)).json()["items"]
    recorded = await client.post(
        f"/api/v1/follow-ups/{follow_up['id']}",
        json={"reached": True, "satisfaction": 5, "comment": "很好"},
        headers=agent,
    )
    assert recorded.status_code == 200, recorded.text
    assert charged == [order["id"]]
    assert await evidence_list(client, supervisor, "unevidenced") == []
    [done] = await evidence_list(client, supervisor, "evidenced")
    assert done["confirmed_by"] == "follow_up"


async def test_an_order_done_by_sms_alone_is_listed_unevidenced(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order, _, _ = await offered_order(client, agent, supervisor, clock)
    code = (await order_of(client, agent, order["id"]))["job"]["offers"][0]["code"]
    for verb in ("接", "到", "完成"):
        assert (await reply(client, agent, CLEANER, f"{verb} {code}"))["handled"]
    [listed] = await evidence_list(client, supervisor, "unevidenced")
    assert (listed["order_id"], listed["missing"]) == (order["id"], ["check_in", "check_out", "confirmation"])
    assert (await client.get("/api/v1/service-evidence", headers=agent)).status_code == 403


async def test_answering_a_job_already_accepted_changes_nothing(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order, _, token = await offered_order(client, agent, supervisor, clock)
    await page(client, token, "accept")
    texts = len(await texts_to(client, agent, CLEANER))
    assert (await page(client, token, "accept"))["status"] == "held"
    assert (await page(client, token, "decline", status=409))["reason"] == "already_accepted"
    assert len(await texts_to(client, agent, CLEANER)) == texts  # no help text, no second confirmation
    assert (await order_of(client, agent, order["id"]))["job"]["offers"][0]["state"] == "accepted"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/p/%E4%BD%A0%E5%A5%BD/job", None),
        ("/p/" + "9" * 64 + "/accept", None),
        ("/p/..%2F..%2Fetc/job", None),
        ("/p/1.1.AAAAAAAAAAAAAAAA/check-in", {"lon": "east", "lat": 1e308}),
        ("/p/zzzzzzzzzzzzz.zzzzzzz.AAAAAAAAAAAAAAAA/job", None),
    ],
)
async def test_garbage_links_get_a_4xx(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | None
) -> None:
    method = "GET" if path.endswith("/job") else "POST"
    response = await client.request(method, path, json=body)
    assert 400 <= response.status_code < 500, response.text


async def test_garbage_bodies_on_a_genuine_link_get_a_4xx(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, _, token = await offered_order(client, agent, supervisor, clock)
    await page(client, token, "accept")
    for step, content in (
        ("check-in", b"not json"),
        ("check-in", b'{"lon": 500, "lat": 26}'),
        ("check-in", b'{"lon": NaN, "lat": Infinity}'),
        ("items", b'{"items": [{"item": "", "quantity": 1}]}'),
        ("items", b'{"items": [{"item": "\\u0000", "quantity": 100}]}'),
        ("code", b'{"code": 123456}'),
        ("code", b"[]"),
        ("photo", b""),
    ):
        method = "PUT" if step == "items" else "POST"
        headers = {"Content-Type": "application/json"}
        response = await client.request(method, f"/p/{token}/{step}", content=content, headers=headers)
        assert 400 <= response.status_code < 500, (step, content, response.status_code, response.text)


async def test_an_emergency_offer_links_to_a_page_until_its_deadline_plus_the_grace(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    rescuer = await rescue_provider(client, supervisor, "鼓楼急救站", "+8613900000041", 26.084)
    _, url = await acknowledged_fall(client, agent, name="郑玉梅")
    dispatched = await client.post(
        f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent
    )
    assert dispatched.status_code == 201, dispatched.text
    [offer] = dispatched.json()["offers"]
    match = LINK.search((await texts_to(client, agent, rescuer["phone"]))[-1])
    assert match is not None
    link = tokens.read_token(app_services.settings.secret_key, match["token"], clock.now())
    assert link.offer_id == offer["id"]
    assert link.expires_at.isoformat() == _plus_hours(offer["deadline_at"], 12)
    accepted = await page(client, match["token"], "accept")
    assert (accepted["status"], accepted["service_order"], accepted["details"]["elder_name"]) == (
        "held",
        False,
        "郑玉梅",
    )
    assert accepted["evidence"] is None
    refused = await page(client, match["token"], "check-in", status=409, json={})
    assert refused["reason"] == "not_a_service_order"


async def test_the_page_and_every_asset_it_names_are_served_locally(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    _, _, token = await offered_order(client, agent, supervisor, clock)
    shown = await client.get(f"/p/{token}")
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in shown.text
    assert f'data-token="{token}"' in shown.text
    linked = re.findall(r'(?:href|src)="([^"]+)"', shown.text)
    assert "/console/job/job.js" in linked
    assert not [url for url in linked if "//" in url], "the job page must not load from other hosts"
    for url in linked:
        assert (await client.get(url)).status_code == 200, url
