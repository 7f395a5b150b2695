"""Screenshots of the console for the README, taken from a freshly seeded demo city in headless Chromium.

    python -m simulators.console_screenshots [--out console_ui/screenshots]

Starts `dispatch demo --no-simulators` on free ports in a temporary directory, raises a few alarms from
simulated watches, has agent2 acknowledge one, and captures the login page and agent1's console (queue,
and the newest P1 call with its map) in Chinese and in English, the SOS dispatched, and the SMS outbox.
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
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright, expect

from dispatch.settings import Settings
from simulators.demo import demo_devices
from simulators.watch import SimulatedWatch, WatchConfig

ALARMS = ("sos", "fall", "low_battery", "removed")  # an idle console opens the first P1: the SOS


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
        await browser.close()


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
