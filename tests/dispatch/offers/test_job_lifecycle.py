"""A job never outlives its call: a call cancelled, declared a false alarm or closed ends its live jobs;
a late acceptance is told the job is gone and never gets the elder's details; only the agent holding a
call works it."""

from __future__ import annotations

from typing import Any

import httpx

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.dispatch.offers.test_offers import acknowledged_fall, outbox, reply, rescue_provider
from tests.factories import operator_headers


async def dispatched_call(
    client: httpx.AsyncClient, agent: dict[str, str], supervisor: dict[str, str]
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A fall dispatched to one rescue provider: the call's URL, the provider, and its offer code."""
    provider = await rescue_provider(client, supervisor, "急救站", "+8613900000001", 26.085)
    _, url = await acknowledged_fall(client, agent, name="王秀英")
    job = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()
    return url, provider, {"code": job["offers"][0]["code"]}


async def test_a_cancelled_call_withdraws_its_offers_and_a_late_accept_gets_no_details(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    url, provider, offer = await dispatched_call(client, agent, supervisor)
    cancelled = await client.post(f"{url}/transition", json={"state": "cancelled"}, headers=agent)
    assert cancelled.status_code == 200
    [(job)] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert (job["state"], [o["state"] for o in job["offers"]]) == ("cancelled", ["withdrawn"])
    outcome = await reply(client, agent, provider["phone"], f"接 {offer['code']}")
    assert outcome["handled"] is False
    to_provider = [m for m in await outbox(client, agent) if m["to"] == provider["phone"]]
    assert [m["purpose"] for m in to_provider] == ["offer", "withdraw", "withdraw"]
    assert not any("王秀英" in m["body"] for m in to_provider)
    timeline = (await client.get(url, headers=agent)).json()["timeline"]
    assert "dispatch_cancelled" in [e["kind"] for e in timeline]


async def test_a_call_cancelled_after_the_provider_accepted_releases_the_provider(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    provider = await rescue_provider(client, supervisor, "急救站", "+8613900000001", 26.085)
    _, url = await acknowledged_fall(client, agent, name="王秀英")
    job = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()
    await reply(client, agent, provider["phone"], f"接 {job['offers'][0]['code']}")
    # A dispatched call can only be cancelled (false alarms are declared before dispatch).
    assert (
        await client.post(f"{url}/transition", json={"state": "cancelled"}, headers=agent)
    ).status_code == 200
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert (job["state"], [o["state"] for o in job["offers"]]) == ("cancelled", ["withdrawn"])
    done = await reply(client, agent, provider["phone"], f"完成 {job['offers'][0]['code']}")
    assert done["handled"] is False


async def test_resolving_a_call_finishes_the_job_of_a_provider_on_scene(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    url, provider, offer = await dispatched_call(client, agent, supervisor)
    await reply(client, agent, provider["phone"], f"接 {offer['code']}")
    await reply(client, agent, provider["phone"], f"到 {offer['code']}")
    assert (
        await client.post(f"{url}/transition", json={"state": "resolved"}, headers=agent)
    ).status_code == 200
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert (job["state"], [o["state"] for o in job["offers"]]) == ("completed", ["done"])
    to_provider = [m["purpose"] for m in await outbox(client, agent) if m["to"] == provider["phone"]]
    assert "withdraw" not in to_provider


async def test_only_the_agent_holding_a_call_moves_or_dispatches_it_until_another_takes_over(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    other = await operator_headers(app_services, client, Role.agent, "agent2")
    await rescue_provider(client, supervisor, "急救站", "+8613900000001", 26.085)
    _, url = await acknowledged_fall(client, agent, name="王秀英")  # acknowledging claims it for agent1
    for path, body in (
        ("/transition", {"state": "false_alarm"}),
        ("/dispatch", {"service_type": "emergency_rescue"}),
    ):
        refused = await client.post(url + path, json=body, headers=other)
        assert (refused.status_code, "agent1" in refused.json()["message"]) == (409, True)
    await client.post(f"{url}/claim", json={"take_over": True}, headers=other)
    dispatched = await client.post(
        f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=other
    )
    assert dispatched.status_code == 201, dispatched.text
    assert (
        await client.post(f"{url}/transition", json={"state": "cancelled"}, headers=agent)
    ).status_code == 409
