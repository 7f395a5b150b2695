"""Screenshots of the console for the README, taken from a freshly seeded demo city in headless Chromium.

    python -m simulators.console_screenshots [--out console_ui/screenshots]

Starts `dispatch demo --no-simulators` on free ports in a temporary directory, raises a few alarms from
simulated watches, has agent2 acknowledge one, and captures the login page and agent1's console (queue,
and the newest P1 call with its map) in Chinese and in English, the SOS dispatched, and the SMS outbox.
Then agent2 takes a few home-service orders that providers answer by SMS, and it captures the orders
board with one order open and the follow-up worklist with a follow-up being recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright, expect
from pypinyin import Style, lazy_pinyin

from dispatch.demo.seed import next_working_day
from dispatch.localtime import local_date
from dispatch.settings import Settings
from simulators.demo import demo_devices
from simulators.watch import SimulatedWatch, WatchConfig

ALARMS = ("sos", "fall", "low_battery", "removed")  # an idle console opens the first P1: the SOS
# Home-service orders for tomorrow (local start hour, service) and how far their providers take them by SMS.
ORDERS = (
    (9, "cleaning", ("接", "到", "完成")),
    (9, "meal_assistance", ("接", "到", "完成")),
    (10, "bathing", ("接", "到")),
    (14, "medical_escort", ("接",)),
    (15, "housekeeping", ()),
    (16, "cleaning", ("接", "到", "完成")),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(data_dir: Path, http_port: int, watch_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env |= {
        "DISPATCH_DATA_DIR": str(data_dir),
        "DISPATCH_WATCH_PORT": str(watch_port),
        "DISPATCH_LOG_LEVEL": "WARNING",
        "DISPATCH_DESK_TICK_SECONDS": "1",  # follow-ups open a second after an order is completed
        "DISPATCH_QUIET_HOURS": "00:00-00:00",  # none: the P4 alarms are calls whatever the time of day
    }
    command = [
        sys.executable,
        "-m",
        "dispatch",
        "demo",
        "--no-simulators",
        "--elders",
        "300",
        "--port",
        str(http_port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the demo server did not start")


async def raise_alarms(data_dir: Path, watch_port: int) -> None:
    watches = [
        (imei, lon, lat)
        for imei, kind, _, lon, lat in await demo_devices(Settings(data_dir=data_dir))
        if kind == "watch"
    ]
    for (imei, lon, lat), kind in zip(watches, ALARMS, strict=False):
        watch = SimulatedWatch(WatchConfig(imei, lon, lat), port=watch_port)
        await watch.connect()
        await watch.heartbeat()
        await watch.alarm(kind)
        await watch.close()


async def acknowledge_one(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        calls = (await client.get("/api/v1/calls", params={"open": True})).json()["items"]
        fall = next(c for c in calls if c["category"] == "fall")
        await client.post(f"/api/v1/calls/{fall['id']}/acknowledge")


async def elders_near(client: httpx.AsyncClient, service_type: str, skip: set[int]) -> int:
    """A seeded elder (not yet used) with an active provider of this service nearby."""
    for summary in (await client.get("/api/v1/elders", params={"limit": 100})).json()["items"]:
        if summary["id"] in skip:
            continue
        home = (await client.get(f"/api/v1/elders/{summary['id']}")).json()["home_location"]
        params = {"lon": home["lon"], "lat": home["lat"], "service_type": service_type}
        if (await client.get("/api/v1/providers/nearby", params=params)).json():
            return int(summary["id"])
    raise SystemExit(f"no elder has a {service_type} provider nearby")


async def provider_replies(client: httpx.AsyncClient, order_id: int, verb: str) -> bool:
    """The provider holding the order's offer answers `<verb> <code>`, as an agent enters it from the outbox;
    False if the order was offered to nobody (no provider open then)."""
    job: dict[str, Any] | None = (await client.get(f"/api/v1/service-orders/{order_id}")).json()["job"]
    if not job or not job["offers"]:
        return False
    offer = next((o for o in job["offers"] if o["state"] in ("accepted", "arrived")), job["offers"][0])
    phone = (await client.get(f"/api/v1/providers/{offer['provider_id']}")).json()["phone"]
    reply = {"from": phone, "body": f"{verb} {offer['code']}"}
    return bool((await client.post("/api/v1/sms/replies", json=reply)).json()["handled"])


async def take_orders(base: str) -> int:
    """Take the ORDERS and have their providers answer; returns how many orders were completed."""
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        tomorrow = next_working_day(local_date(datetime.now(UTC)))
        used: set[int] = set()
        completed = 0
        for hour, service_type, replies in ORDERS:
            elder_id = await elders_near(client, service_type, used)
            used.add(elder_id)
            start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, tzinfo=UTC) - timedelta(
                hours=8
            )
            body = {
                "elder_id": elder_id,
                "service_type": service_type,
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=2)).isoformat(),
            }
            order = (await client.post("/api/v1/service-orders", json=body)).json()
            answered = [verb for verb in replies if await provider_replies(client, order["id"], verb)]
            completed += "完成" in answered
        return completed


async def settle(page: Page) -> None:
    await page.evaluate("document.fonts.ready")
    await page.wait_for_timeout(800)


async def capture(base: str, data_dir: Path, watch_port: int, out: Path) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(f"{base}/console/")
        await page.fill("input[name=username]", "agent1")
        await page.fill("input[name=password]", "demo")
        await settle(page)
        await page.screenshot(path=out / "login.png")
        await page.click("button[type=submit]")
        await expect(page.get_by_test_id("connection")).to_have_class("connection up")
        await raise_alarms(data_dir, watch_port)
        await acknowledge_one(base)
        await expect(page.locator(".call-row")).to_have_count(len(ALARMS))
        await expect(page.locator("path.marker-alarm")).to_be_visible()
        await expect(page.locator(".events tr").first).to_be_visible()
        await settle(page)
        await page.screenshot(path=out / "console-zh.png")
        await page.get_by_role("button", name="English").click()
        await settle(page)
        await page.screenshot(path=out / "console-en.png")
        await page.get_by_role("button", name="中文").click()
        await page.get_by_role("button", name="确认", exact=True).click()
        await page.get_by_role("button", name="派单", exact=True).click()
        await expect(page.locator(".dispatch-panel .job")).to_be_visible()
        await page.locator(".dispatch-panel details").first.evaluate("d => d.open = true")
        await page.locator(".dispatch-panel").scroll_into_view_if_needed()
        await settle(page)
        await page.screenshot(path=out / "console-dispatch.png")
        await page.get_by_role("button", name="短信", exact=True).click()
        await expect(page.locator(".sms-list tr").first).to_be_visible()
        await settle(page)
        await page.screenshot(path=out / "console-sms.png")
        await capture_service_desk(page, base, out)
        await capture_search_and_history(page, out)
        await capture_admin(browser, base, out)
        await capture_assessments(page, browser, base, out)
        await browser.close()


async def capture_search_and_history(page: Page, out: Path) -> None:
    """The search box finding an elder by pinyin initials, the elder's page, and the call history."""
    name = (await page.locator(".call-row .elder-name").first.inner_text()).strip()
    await page.keyboard.press("Escape")
    await page.keyboard.press("/")
    await page.keyboard.type("".join(lazy_pinyin(name, style=Style.FIRST_LETTER)))
    await expect(page.get_by_test_id("search-hit").first).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-search.png")
    await page.locator("[data-testid=search-hit][data-kind=elder]", has_text=name).first.click()
    await expect(page.get_by_test_id("elder-entry").first).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-elder.png")
    await page.get_by_test_id("view-history").click()
    await page.get_by_test_id("history-state").select_option("")
    await expect(page.get_by_test_id("history-row").first).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-history.png")


async def capture_admin(browser: Browser, base: str, out: Path) -> None:
    """The admin's accounts: who is logged in now."""
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    await page.goto(f"{base}/console/")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    await page.get_by_test_id("view-admin").click()
    await expect(page.get_by_test_id("operator-row").first).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-admin.png")


async def capture_assessments(page: Page, browser: Browser, base: str, out: Path) -> None:
    """The assessments board (the demo's applications at every step), and an assessor's form on a tablet."""
    await page.get_by_test_id("view-assessments").click()
    await page.locator("[data-testid=assessment-row][data-state=final]").first.click()
    await expect(page.get_by_test_id("service-plan")).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-assessments.png")
    tablet = await browser.new_page(viewport={"width": 820, "height": 1180})
    await tablet.goto(f"{base}/console/")
    await tablet.fill("input[name=username]", "assessor1")
    await tablet.fill("input[name=password]", "demo")
    await tablet.click("button[type=submit]")
    await tablet.get_by_test_id("assess-open").first.click()
    await expect(tablet.get_by_test_id("save-status")).to_have_attribute("data-status", "saved")
    await settle(tablet)
    await tablet.screenshot(path=out / "assessor-tablet.png")


async def capture_service_desk(page: Page, base: str, out: Path) -> None:
    await page.get_by_role("button", name="服务工单", exact=True).click()
    completed = await take_orders(base)
    await page.get_by_test_id("orders-tab-all").click()
    # The demo's recurring plans add orders of their own to the ones taken here.
    await expect(page.get_by_test_id("order-row").nth(len(ORDERS) - 1)).to_be_visible()
    await page.locator("[data-testid=order-row]:has([data-phase=accepted])").first.click()
    await expect(page.get_by_test_id("order-history")).to_be_visible()
    await settle(page)
    await page.screenshot(path=out / "console-orders.png")
    await page.get_by_role("button", name="回访", exact=True).click()
    await expect(page.get_by_test_id("followup-row")).to_have_count(completed, timeout=20_000)
    await page.get_by_test_id("followup-row").first.click()
    await page.get_by_test_id("satisfaction-4").click()
    await page.get_by_test_id("followup-comment").fill("服务人员很耐心，准时上门")
    await settle(page)
    await page.screenshot(path=out / "console-follow-ups.png")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("console_ui/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    http_port, watch_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        server = start_demo(data_dir, http_port, watch_port)
        try:
            asyncio.run(capture(f"http://127.0.0.1:{http_port}", data_dir, watch_port, args.out))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"screenshots written to {args.out}/")


if __name__ == "__main__":
    main()
