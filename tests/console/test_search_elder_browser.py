"""Search, the elder page and the call history in real headless Chromium: `/` then an elder's pinyin
initials finds them; Enter opens their page with their devices and every call on one timeline, from which a
call opens; the history lists ended calls newest first, filters them, pages, and opens the elder page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pypinyin import Style, lazy_pinyin

from tests.console.pages import console_as
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = env_for(tmp_path_factory.mktemp("search"))
    seeded = run(["seed-demo", "--elders", "30"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


async def ended_calls(base: str, count: int) -> list[dict[str, Any]]:
    """`count` calls opened and ended as false alarms by agent2, one elder each; the elders' records."""
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await agent2.get("/api/v1/elders", params={"limit": count})).json()["items"]
        for n, elder in enumerate(elders):
            category = "fall" if n % 2 else "enquiry"
            body = {"elder_id": elder["id"], "priority": "P2", "category": category}
            call = (await agent2.post("/api/v1/calls", json=body)).json()
            await agent2.post(f"/api/v1/calls/{call['id']}/acknowledge")
            ended = await agent2.post(f"/api/v1/calls/{call['id']}/transition", json={"state": "false_alarm"})
            assert ended.status_code == 200, ended.text
            elder["call_id"], elder["category"] = call["id"], category
        return list(elders)


async def agent_console(browser: Browser, base: str, lang: str = "zh-CN") -> Page:
    return await console_as(browser, base, "agent1", lang)


async def test_slash_and_pinyin_initials_open_the_elder_page_with_devices_and_timeline(
    base: str, browser: Browser
) -> None:
    [elder] = await ended_calls(base, 1)
    initials = "".join(lazy_pinyin(elder["name"], style=Style.FIRST_LETTER))
    page = await agent_console(browser, base)
    await page.keyboard.press("/")
    await expect(page.get_by_test_id("global-search")).to_be_focused()
    await page.keyboard.type(initials)
    hit = page.locator(f"[data-testid=search-hit][data-kind=elder][data-id='{elder['id']}']")
    await expect(hit).to_contain_text(elder["name"])
    await expect(hit).to_contain_text("拼音首字母")
    await expect(hit).to_contain_text(elder["phone"] or elder["id_number"])  # masked, as in every list
    for _ in range(await page.get_by_test_id("search-hit").count()):
        if await hit.get_attribute("aria-selected") == "true":
            break
        await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    elder_page = page.get_by_test_id("elder-page")
    await expect(elder_page).to_have_attribute("data-elder-id", str(elder["id"]))
    await expect(elder_page.locator(".profile-name")).to_contain_text(elder["name"])
    await expect(page.get_by_test_id("elder-device")).not_to_have_count(0)
    entry = page.locator(f"[data-testid=elder-entry][data-kind=call][data-id='{elder['call_id']}']")
    await expect(entry).to_contain_text("误报")
    await entry.get_by_role("button").click()
    await expect(page.locator(f".detail[data-call-id='{elder['call_id']}']")).to_contain_text(elder["name"])


async def test_the_history_lists_filters_pages_and_opens_the_elder(base: str, browser: Browser) -> None:
    elders = await ended_calls(base, 4)
    page = await agent_console(browser, base, "en")
    await page.get_by_test_id("view-history").click()
    rows = page.get_by_test_id("history-row")
    await expect(rows.first).to_have_attribute("data-call-id", str(elders[-1]["call_id"]))  # newest first
    total = int(await page.get_by_test_id("history-count").inner_text())
    assert total >= 4
    await page.get_by_test_id("history-category").select_option("fall")
    falls = [e["call_id"] for e in reversed(elders) if e["category"] == "fall"]
    await expect(page.get_by_test_id("history-count")).not_to_have_text(str(total))
    await expect(rows.first).to_have_attribute("data-call-id", str(falls[0]))
    await expect(rows.filter(has_not_text="Fall")).to_have_count(0)
    assert await rows.count() >= len(falls)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    await page.get_by_test_id("history-from").fill((today + timedelta(days=1)).isoformat())
    await expect(page.get_by_test_id("history-count")).to_have_text("0")
    await page.get_by_test_id("history-from").fill(today.isoformat())
    await expect(rows.first).to_have_attribute("data-call-id", str(falls[0]))
    await rows.first.get_by_role("button").click()
    await expect(page.get_by_test_id("elder-page")).to_have_attribute("data-elder-id", str(elders[-1]["id"]))


async def an_elder_with_a_phone(base: str, offset: int) -> dict[str, Any]:
    """An elder's whole record (their phone unmasked), read as agent2."""
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        listed = (await agent2.get("/api/v1/elders", params={"limit": 30})).json()["items"]
        with_phone = [e for e in listed if e["phone"]][offset]
        whole: dict[str, Any] = (await agent2.get(f"/api/v1/elders/{with_phone['id']}")).json()
        return whole


async def log_new_contact(page: Page, number: str, category: str) -> None:
    await page.get_by_test_id("new-contact").click()
    form = page.get_by_test_id("log-call-form")
    await form.get_by_test_id("log-number").fill(number)
    await form.get_by_test_id("log-category").select_option(category)
    await form.get_by_test_id("log-submit").click()
    await expect(form).to_have_count(0)


async def test_a_new_phone_contact_opens_the_record_its_kind_needs(base: str, browser: Browser) -> None:
    elder = await an_elder_with_a_phone(base, 3)
    page = await agent_console(browser, base)
    await page.get_by_test_id("new-contact").click()
    category = page.get_by_test_id("log-category")
    assert await category.locator("option").evaluate_all("os => os.map(o => o.value)") == [
        "emergency",
        "home_service",
        "enquiry",
        "complaint",
        "emotional_support",
    ]
    await page.get_by_test_id("log-call-form").get_by_role("button", name="返回").click()

    await log_new_contact(page, elder["phone"], "emergency")
    detail = page.locator(".detail[data-call-id]")
    await expect(detail).to_contain_text(elder["name"])
    await expect(page.get_by_test_id("detail-state")).to_have_text("已确认")
    await expect(page.locator(".call-row.priority-P1", has_text=elder["name"])).to_have_count(1)

    await log_new_contact(page, elder["phone"], "home_service")
    await expect(page.get_by_test_id("picked-elder")).to_contain_text(elder["name"])

    await log_new_contact(page, elder["phone"], "emotional_support")
    await expect(page.locator(".toast")).to_contain_text("已登记精神慰藉来电")


async def test_an_elder_s_alarm_rules_are_set_on_the_elder_page(base: str, browser: Browser) -> None:
    elder = await an_elder_with_a_phone(base, 5)
    page = await agent_console(browser, base, "en")
    await page.get_by_test_id("global-search").fill(elder["id_number"][-6:])
    await page.locator(f"[data-testid=search-hit][data-kind=elder][data-id='{elder['id']}']").click()
    rules = page.get_by_test_id("alarm-settings")
    await expect(rules.get_by_test_id("override-heart_rate-raise_after_readings")).to_have_attribute(
        "placeholder", "3"
    )
    await rules.get_by_test_id("override-heart_rate-raise_after_readings").fill("5")
    await rules.get_by_test_id("override-geofence-max_accuracy_m").fill("60")
    await rules.get_by_test_id("override-quiet-hours").fill("21:00-06:30")
    await rules.get_by_test_id("save-overrides").click()
    await expect(page.locator(".toast")).to_contain_text("Alarm rules saved")
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        saved = (await agent2.get(f"/api/v1/elders/{elder['id']}")).json()["alarm_overrides"]
    assert saved["heart_rate"]["raise_after_readings"] == 5
    assert saved["geofence"]["max_accuracy_m"] == 60
    assert saved["quiet_hours"] == "21:00-06:30"
    assert saved["spo2"] is None


async def test_the_history_pages_on_the_server(base: str, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=base) as agent2:
        await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await agent2.get("/api/v1/elders", params={"limit": 30})).json()["items"]
        cancelled, n = 0, 0
        while cancelled < 52:  # elders with an open call from another test are skipped (409)
            body = {"elder_id": elders[n % 30]["id"], "priority": "P4", "category": "enquiry"}
            n += 1
            opened = await agent2.post("/api/v1/calls", json=body)
            if opened.status_code == 201:
                await agent2.post(
                    f"/api/v1/calls/{opened.json()['id']}/transition", json={"state": "cancelled"}
                )
                cancelled += 1
        total = (await agent2.get("/api/v1/calls", params={"state": "cancelled", "limit": 1})).json()["total"]
    page = await agent_console(browser, base, "en")
    await page.get_by_test_id("view-history").click()
    await page.get_by_test_id("history-state").select_option("cancelled")
    await expect(page.get_by_test_id("history-range")).to_have_text(f"1–50 of {total}")
    await expect(page.get_by_test_id("history-row")).to_have_count(50)
    await page.get_by_test_id("history-next").click()
    await expect(page.get_by_test_id("history-range")).to_have_text(f"51–{min(100, total)} of {total}")
    await expect(page.get_by_test_id("history-row")).to_have_count(min(50, total - 50))
    await expect(page.get_by_test_id("history-prev")).to_be_enabled()
    picked = await page.get_by_test_id("history-row").first.get_attribute("data-call-id")
    await page.get_by_test_id("history-row").first.focus()  # rows are picked from the keyboard too
    await page.keyboard.press("Enter")
    await expect(page.locator(f".detail[data-call-id='{picked}']")).to_be_visible()
