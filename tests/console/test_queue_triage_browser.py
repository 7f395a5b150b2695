"""Queue triage in real headless Chromium: 30 calls of mixed priority arrive; on a 1080p screen the agent sees
every P1 without scrolling, unacknowledged before acknowledged, the oldest unacknowledged P1 already open
after a reload, and counts and filters that agree with the calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.console.pages import console_as
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow

# 30 calls in the order they arrive: priorities interleaved, so only sorting puts the P1s on top.
ARRIVALS = ["P3", "P1", "P2", "P4", "P3", "P2", "P1", "P3", "P4", "P2"] * 3
CATEGORY = {"P1": "sos", "P2": "fall", "P3": "service_request", "P4": "enquiry"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("triage")
    env = env_for(tmp_path)
    seeded = run(["seed-demo", "--elders", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


async def thirty_calls(base: str) -> list[dict[str, Any]]:
    """Open the 30 calls as agent2, who acknowledges the first two P1s; returns the open calls."""
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await agent2.get("/api/v1/elders", params={"limit": 30})).json()["items"]
        opened = []
        for elder, priority in zip(elders, ARRIVALS, strict=True):
            body = {"elder_id": elder["id"], "priority": priority, "category": CATEGORY[priority]}
            created = await agent2.post("/api/v1/calls", json=body)
            assert created.status_code == 201, created.text
            opened.append(created.json())
        for call in [c for c in opened if c["priority"] == "P1"][:2]:
            assert (await agent2.post(f"/api/v1/calls/{call['id']}/acknowledge")).status_code == 200
        return list(
            (await agent2.get("/api/v1/calls", params={"open": "true", "limit": 100})).json()["items"]
        )


async def agent_console(browser: Browser, base: str) -> Page:
    return await console_as(browser, base, "agent1", size=(1920, 1080))


async def fully_visible_in_queue(page: Page, call_id: int) -> bool:
    return bool(
        await page.locator(f".call-row[data-call-id='{call_id}']").evaluate(
            """row => {
                const box = row.getBoundingClientRect(), queue = row.closest('.queue').getBoundingClientRect();
                return box.top >= queue.top && box.bottom <= queue.bottom && box.bottom <= window.innerHeight;
            }"""
        )
    )


async def test_thirty_mixed_calls_every_p1_on_screen_in_order_with_true_counts_and_filters(
    base: str, browser: Browser
) -> None:
    calls = await thirty_calls(base)
    p1s = sorted(
        (c for c in calls if c["priority"] == "P1"), key=lambda c: (c["state"] != "new", c["opened_at"])
    )
    page = await agent_console(browser, base)
    rows = page.locator(".call-row")
    await expect(rows).to_have_count(30)

    # Every P1 on top, unacknowledged oldest first, then the acknowledged ones; none needs scrolling.
    shown = [int(i) for i in await rows.evaluate_all("rows => rows.map(r => r.dataset.callId)")]
    assert shown[: len(p1s)] == [c["id"] for c in p1s]
    for call in p1s:
        assert await fully_visible_in_queue(page, call["id"]), f"P1 call {call['id']} needs scrolling"
    # Arriving with unacknowledged P1s waiting, the agent finds the oldest one open.
    await expect(page.locator(".detail")).to_have_attribute("data-call-id", str(p1s[0]["id"]))
    # Acknowledging claims: no separate claim button beside it.
    await expect(page.get_by_role("button", name="确认", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="认领", exact=True)).to_have_count(0)

    by_priority = Counter(c["priority"] for c in calls)
    for priority in ("P1", "P2", "P3", "P4"):
        await expect(page.get_by_test_id(f"filter-{priority}").locator(".n")).to_have_text(
            str(by_priority[priority])
        )
    unclaimed = [c for c in calls if c["claimed_by"] is None]
    await expect(page.get_by_test_id("filter-unclaimed").locator(".n")).to_have_text(str(len(unclaimed)))
    await expect(page.get_by_test_id("filter-mine").locator(".n")).to_have_text("0")
    await expect(page.get_by_test_id("filter-escalated").locator(".n")).to_have_text("0")

    await page.get_by_test_id("filter-P1").click()
    await expect(rows).to_have_count(by_priority["P1"])
    await expect(page.get_by_test_id("queue-count")).to_have_text(f"{by_priority['P1']} / 30")
    await page.get_by_test_id("filter-unclaimed").click()
    await expect(rows).to_have_count(len([c for c in unclaimed if c["priority"] == "P1"]))
    await page.get_by_test_id("filter-state").select_option("acknowledged")
    await expect(page.locator(".empty")).to_have_text("没有符合筛选条件的呼叫")
    await page.get_by_role("button", name="清除筛选").click()
    await expect(rows).to_have_count(30)

    # Compact rows: all 30 calls on one screen.
    await page.get_by_test_id("filter-compact").click()
    for call in calls:
        assert await fully_visible_in_queue(page, call["id"]), f"call {call['id']} needs scrolling"
    # The filters are the agent's own: kept across a reload.
    await page.reload()
    await expect(page.get_by_test_id("filter-compact")).to_have_attribute("aria-pressed", "true")


async def test_an_agent_works_the_queue_from_the_keyboard(base: str, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await agent2.get("/api/v1/elders", params={"limit": 3, "offset": 35})).json()["items"]
        for elder, priority in zip(elders, ("P1", "P3", "P3"), strict=True):
            body = {"elder_id": elder["id"], "priority": priority, "category": CATEGORY[priority]}
            assert (await agent2.post("/api/v1/calls", json=body)).status_code == 201
    page = await agent_console(browser, base)
    row = page.locator(".call-row", has_text=elders[0]["name"])
    first = str(await row.get_attribute("data-call-id"))
    await row.click()
    detail = page.locator(".detail")
    await expect(detail).to_have_attribute(
        "data-call-id", first
    )  # loaded: not the empty frame of a loading call
    ids = await page.locator(".call-row").evaluate_all("rows => rows.map(r => r.dataset.callId)")
    at = ids.index(first)

    await page.keyboard.press("j")
    await expect(detail).to_have_attribute("data-call-id", ids[at + 1])
    await page.keyboard.press("k")
    await expect(detail).to_have_attribute("data-call-id", first)

    await page.keyboard.press("a")
    await expect(page.get_by_test_id("detail-state")).to_have_text("已确认")
    await expect(page.locator(".contacts [data-testid=notify]").first).to_be_enabled()  # acknowledging done
    await page.keyboard.press("t")
    await expect(page.locator(".timeline .entry-notify")).to_have_count(1)
    await page.keyboard.press("n")
    await expect(page.locator(".note-form textarea")).to_be_focused()
    await page.keyboard.type("jk")  # typed into the note, not taken as shortcuts
    await expect(detail).to_have_attribute("data-call-id", first)
    await page.keyboard.press("Escape")
    await page.keyboard.press("?")
    await expect(page.get_by_test_id("shortcut-help")).to_contain_text("下一个呼叫")
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("shortcut-help")).to_have_count(0)
