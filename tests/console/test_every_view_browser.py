"""Every view of the console, in both languages, in real headless Chromium: no serious or critical
accessibility violation (axe-core, WCAG 2.1 A and AA, text contrast included), and no text of the other
language (CJK in English; in zh-CN, Latin words beyond codes and units) outside the data (names, addresses,
notes: marked translate="no")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from dispatch.demo.seed import next_working_day
from tests.console.every_view import axe_violations, every_view, other_language_texts
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = env_for(tmp_path_factory.mktemp("views"))
    seeded = run(["seed-demo", "--elders", "20"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


async def some_work(base: str) -> str:
    """A P1 call, a false alarm, an assessment application, a cleaning order and a complaint, so that the
    views have rows to show; returns
    an elder's name."""
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await agent2.get("/api/v1/elders", params={"limit": 2})).json()["items"]
        for elder, priority in zip(elders, ("P1", "P3"), strict=True):
            body = {
                "elder_id": elder["id"],
                "priority": priority,
                "category": "sos" if priority == "P1" else "enquiry",
            }
            call = (await agent2.post("/api/v1/calls", json=body)).json()
        await agent2.post(f"/api/v1/calls/{call['id']}/transition", json={"state": "false_alarm"})
        day = next_working_day(datetime.now(SHANGHAI).date())
        window = {
            "window_start": datetime.combine(day, time(9), SHANGHAI).isoformat(),
            "window_end": datetime.combine(day, time(11), SHANGHAI).isoformat(),
        }
        await apply_for_an_assessment(agent2)
        order = {"elder_id": elders[1]["id"], "service_type": "cleaning", **window, "notes": "厨房"}
        assert (await agent2.post("/api/v1/service-orders", json=order)).status_code == 201
        complaint = {
            "source": "phone",
            "target": "service",
            "text": "等候时间太长",
            "elder_id": elders[1]["id"],
        }
        assert (await agent2.post("/api/v1/complaints", json=complaint)).status_code == 201
        return str(elders[0]["name"])


async def apply_for_an_assessment(agent: httpx.AsyncClient) -> None:
    """An application for the first elder without an open assessment (the demo's histories leave some open,
    and an elder has one at most)."""
    for elder in (await agent.get("/api/v1/elders", params={"limit": 20})).json()["items"]:
        applied = await agent.post(
            "/api/v1/assessments", json={"elder_id": elder["id"], "materials": ["application_form"]}
        )
        if applied.status_code == 201:
            return
        assert (applied.status_code, applied.json()["reason"]) == (409, "assessment_open"), applied.text
    raise AssertionError("every seeded elder has an open assessment")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_every_view_is_accessible_and_in_one_language(base: str, browser: Browser, lang: str) -> None:
    elder_name = await some_work(base)
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{base}/console/")
    found = {"login": await check(page, lang)}
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    await page.locator(".call-row").first.click()
    await expect(page.locator(".detail[data-call-id]")).to_be_visible()
    found["call"] = await check(page, lang)
    async for view in every_view(page, elder_name):
        found[view] = await check(page, lang)
    failing = {view: v for view, v in found.items() if v}
    assert not failing, json.dumps(failing, ensure_ascii=False, indent=1)


async def check(page: Page, lang: str) -> dict[str, Any]:
    """What is wrong with the page as shown: accessibility violations, texts in the other language."""
    problems = {"axe": await axe_violations(page), "other_language": await other_language_texts(page, lang)}
    return {kind: found for kind, found in problems.items() if found}
