"""Alerts: who may mark them handled."""

from __future__ import annotations

import httpx
import pytest

from dispatch.alerts import service as alerts
from dispatch.alerts.models import AlertAudience
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.db.session import unit_of_work
from tests.factories import operator_headers


async def raise_alert(services: AppServices, audience: AlertAudience) -> int:
    async with unit_of_work(services.sessions) as session:
        alert = await alerts.raise_alert(
            session=session,
            clock=services.clock,
            kind="coverage",
            key=f"test:{audience.value}",
            text="鼓楼区 助餐 在营服务商只剩 1 家",
            audience=audience,
        )
        assert alert is not None
        return alert.id


async def test_agents_cannot_acknowledge_an_alert_meant_for_supervisors(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    for_supervisors = await raise_alert(app_services, AlertAudience.supervisors)

    refused = await client.post(f"/api/v1/alerts/{for_supervisors}/acknowledge", headers=agent)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    still_open = (await client.get("/api/v1/alerts", headers=supervisor)).json()["items"]
    assert [(a["id"], a["acknowledged_by"]) for a in still_open] == [(for_supervisors, None)]

    done = await client.post(f"/api/v1/alerts/{for_supervisors}/acknowledge", headers=supervisor)
    assert (done.status_code, done.json()["acknowledged_by"]) == (200, "sup1")


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
async def test_anyone_acknowledges_an_alert_meant_for_agents(
    client: httpx.AsyncClient, app_services: AppServices, role: Role
) -> None:
    headers = await operator_headers(app_services, client, role, "someone")
    for_agents = await raise_alert(app_services, AlertAudience.agents)
    done = await client.post(f"/api/v1/alerts/{for_agents}/acknowledge", headers=headers)
    assert (done.status_code, done.json()["acknowledged_by"]) == (200, "someone")
