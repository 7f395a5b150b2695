"""Every view of the console, in both languages, in real headless Chromium: no serious or critical
accessibility violation (axe-core, WCAG 2.1 A and AA, text contrast included)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.console.every_view import axe_violations, every_view
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = env_for(tmp_path_factory.mktemp("views"))
    seeded = run(["seed-demo", "--elders", "20"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


async def some_work(base: str) -> str:
    """A P1 call and a false alarm, so the queue, the call and the history have something; an elder's name."""
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
        return str(elders[0]["name"])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_no_view_has_a_serious_accessibility_violation(base: str, browser: Browser, lang: str) -> None:
    elder_name = await some_work(base)
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{base}/console/")
    found = {"login": await axe_violations(page)}
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    await page.locator(".call-row").first.click()
    found["call"] = await axe_violations(page)
    async for view in every_view(page, elder_name):
        found[view] = await axe_violations(page)
    failing = {view: v for view, v in found.items() if v}
    assert not failing, json.dumps(failing, ensure_ascii=False, indent=1)
