"""Evidencing races on PostgreSQL (two writers at once, for real): two check-outs, two right codes, or a
check-out and the follow-up call's confirmation at the same moment: the order is evidenced exactly once and
the charges hook is called exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.followups import service as followups
from dispatch.settings import Settings
from tests.dispatch.jobpage.test_job_page import checked_in, code_texted, evidence_list, offered_order, page
from tests.dispatch.orders.test_orders import CLEANER
from tests.factories import operator_headers


@pytest.fixture
async def pg_site(
    pg_db_settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, AppServices]]:
    app = create_app(pg_db_settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app.state.services


async def _visit(
    client: httpx.AsyncClient, services: AppServices, clock: FakeClock
) -> tuple[dict[str, Any], str, str, dict[str, str], dict[str, str]]:
    """An accepted order checked in at the home: (order, token, the elder's code, agent, supervisor)."""
    agent = await operator_headers(services, client, Role.agent)
    supervisor = await operator_headers(services, client, Role.supervisor)
    order, elder, token = await offered_order(client, agent, supervisor, clock)
    await checked_in(client, token)
    code = await code_texted(client, agent, "+86" + elder["phone"][-11:])
    return order, token, code, agent, supervisor


async def test_two_check_outs_at_once_evidence_the_order_once(
    pg_site: tuple[httpx.AsyncClient, AppServices], clock: FakeClock, charged: list[int]
) -> None:
    client, services = pg_site
    order, token, code, _, supervisor = await _visit(client, services, clock)
    await page(client, token, "code", json={"code": code})
    first, second = await asyncio.gather(
        client.post(f"/p/{token}/check-out"), client.post(f"/p/{token}/check-out")
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert charged == [order["id"]]
    assert [i["order_id"] for i in await evidence_list(client, supervisor, "evidenced")] == [order["id"]]


async def test_two_right_codes_at_once_evidence_the_order_once(
    pg_site: tuple[httpx.AsyncClient, AppServices], clock: FakeClock, charged: list[int]
) -> None:
    client, services = pg_site
    order, token, code, _, _ = await _visit(client, services, clock)
    await page(client, token, "check-out")
    answers = await asyncio.gather(*(client.post(f"/p/{token}/code", json={"code": code}) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert charged == [order["id"]]


async def test_a_check_out_and_the_follow_ups_confirmation_at_once_evidence_the_order_once(
    pg_site: tuple[httpx.AsyncClient, AppServices], clock: FakeClock, charged: list[int]
) -> None:
    client, services = pg_site
    order, token, _, agent, supervisor = await _visit(client, services, clock)
    # Done by SMS ("完成"), so the follow-up is owed while the page's check-out has not been pressed yet.
    offer = (await client.get(f"/api/v1/service-orders/{order['id']}", headers=agent)).json()["job"][
        "offers"
    ][0]
    done = await client.post(
        "/api/v1/sms/replies", json={"from": CLEANER, "body": f"完成 {offer['code']}"}, headers=agent
    )
    assert done.json()["handled"], done.text
    async with unit_of_work(services.sessions) as session:
        await followups.create_due(session=session, clock=clock, rules=followups.rules_for(services.settings))
    [follow_up] = (await client.get("/api/v1/follow-ups", headers=agent)).json()["items"]
    recorded, checked_out = await asyncio.gather(
        client.post(
            f"/api/v1/follow-ups/{follow_up['id']}", json={"reached": True, "satisfaction": 4}, headers=agent
        ),
        client.post(f"/p/{token}/check-out"),
    )
    assert (recorded.status_code, checked_out.status_code) == (200, 200), (recorded.text, checked_out.text)
    assert charged == [order["id"]]
    [listed] = await evidence_list(client, supervisor, "evidenced")
    assert listed["confirmed_by"] == "follow_up"
