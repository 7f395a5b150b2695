"""The console in real headless Chromium against a real `dispatch serve` process (SQLite, in-process
bus), with alarms from a simulated watch over TCP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from dispatch.auth.actor import Actor
from dispatch.calls import service as calls_service
from dispatch.calls.states import CallState
from dispatch.clock import SystemClock
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.elders.models import Device, DeviceKind, Elder
from dispatch.settings import Settings
from simulators.watch import SimulatedWatch, WatchConfig
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Site:
    base: str
    watch_port: int
    data_dir: Path


@dataclass(frozen=True)
class Wearer:
    elder_id: int
    name: str
    imei: str
    lon: float
    lat: float


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("console")
    watch_port = free_port()
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(watch_port))
    seeded = run(["seed-demo", "--elders", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=watch_port, data_dir=tmp_path / "var")


async def watch_wearers(site: Site) -> list[Wearer]:
    engine = create_engine(Settings(data_dir=site.data_dir))
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(Elder.id, Elder.name, Device.imei, Elder.home_lon, Elder.home_lat)
                .join(Device, Device.elder_id == Elder.id)
                .where(Device.kind == DeviceKind.watch)
                .order_by(Elder.id)
            )
            return [Wearer(*row) for row in rows]
    finally:
        await engine.dispose()


async def logged_in(browser: Browser, site: Site, username: str, *, lang: str = "zh-CN") -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{site.base}/console/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    return page


async def sos(site: Site, wearer: Wearer) -> None:
    watch = SimulatedWatch(WatchConfig(wearer.imei, wearer.lon, wearer.lat), port=site.watch_port)
    await watch.connect()
    try:
        assert await watch.alarm("sos") is not None, "the gateway did not acknowledge the SOS"
    finally:
        await watch.close()


def row_of(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(".call-row", has=page.locator(".elder-name", has_text=name))


async def test_a_watch_sos_reaches_two_consoles_live_and_a_second_sos_joins_the_call(
    site: Site, browser: Browser
) -> None:
    wearer = (await watch_wearers(site))[0]
    agent_a = await logged_in(browser, site, "agent1")
    agent_b = await logged_in(browser, site, "agent2")
    await expect(agent_a.locator("body")).to_have_attribute("data-alert", "none")

    await sos(site, wearer)
    stored = time.monotonic()
    row_a = row_of(agent_a, wearer.name)
    await expect(row_a).to_have_attribute("data-priority", "P1", timeout=1000)
    # The idle agent is taken to the call: its map shows where the alarm came from.
    await expect(agent_a.locator("path.marker-alarm")).to_be_visible(timeout=1000)
    assert time.monotonic() - stored < 1.0
    await expect(agent_a.locator(".detail .elder-name")).to_have_text(wearer.name)
    await expect(agent_a.locator("path.marker-home")).to_be_visible()
    await expect(agent_a.locator("body")).to_have_attribute("data-alert", "p1")
    await expect(agent_a.locator(".timeline .entry-opened")).to_contain_text("P1 · SOS求救 · 按下SOS键")
    await expect(row_a.get_by_test_id("countdown")).to_contain_text("剩余")

    row_b = row_of(agent_b, wearer.name)
    await expect(row_b).to_have_attribute("data-state", "new")
    await agent_a.get_by_role("button", name="确认", exact=True).click()
    await expect(row_b).to_have_attribute("data-state", "acknowledged")
    await expect(row_b).to_contain_text("agent1")
    await expect(agent_b.locator("body")).to_have_attribute("data-alert", "none")
    await row_b.click()
    await expect(agent_b.get_by_test_id("detail-state")).to_have_text("已确认")
    await expect(agent_b.locator(".claimed-note")).to_contain_text("agent1")

    await sos(site, wearer)
    await expect(agent_a.locator(".timeline .entry-alarm")).to_have_count(1)
    await expect(agent_b.locator(".timeline .entry-alarm")).to_have_count(1)
    await expect(row_of(agent_a, wearer.name)).to_have_count(1)
    await expect(row_of(agent_b, wearer.name)).to_have_count(1)


async def test_an_agent_works_a_call_through_to_closing_in_english(site: Site, browser: Browser) -> None:
    wearer = (await watch_wearers(site))[1]
    page = await logged_in(browser, site, "agent1", lang="en")
    await expect(page.get_by_role("heading", name="Call queue")).to_be_visible()
    await sos(site, wearer)
    row = row_of(page, wearer.name)
    await row.click()
    detail = page.locator(".detail")
    await expect(detail.locator(".elder-name")).to_have_text(wearer.name)
    await expect(detail.locator(".contacts li").first).to_be_visible()

    # Times are Shanghai times whatever the browser's zone.
    async with httpx.AsyncClient(base_url=site.base) as client:
        await client.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        calls = (await client.get("/api/v1/calls", params={"elder_id": wearer.elder_id})).json()["items"]
    opened = datetime.fromisoformat(calls[0]["opened_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    await expect(row).to_contain_text(opened.strftime("%H:%M:%S"))

    await expect(page.locator(".timeline .entry-opened")).to_contain_text("P1 · SOS · SOS button pressed")
    await page.get_by_role("button", name="Acknowledge", exact=True).click()
    await expect(page.get_by_test_id("detail-state")).to_have_text("Acknowledged")
    first = detail.locator(".contacts li").first
    # The P1's automatic alert is in the outbox (no SMS gateway here): the row says so, and texts again.
    await expect(first.get_by_test_id("contact-sms-state")).to_have_text(
        re.compile(r"queued \d\d-\d\d \d\d:\d\d")
    )
    await first.get_by_role("button", name="Text again").click()
    await expect(page.locator(".timeline .entry-notify")).to_have_count(1)
    await page.get_by_label("Add note").fill("Daughter on her way")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator(".timeline .entry-note")).to_contain_text("Daughter on her way")
    await page.get_by_label("Service type").select_option("emergency_rescue")
    await page.get_by_role("button", name="Dispatch", exact=True).click()
    await expect(page.get_by_test_id("detail-state")).to_have_text("Dispatched")
    await page.get_by_role("button", name="On scene").click()
    await page.get_by_role("button", name="Resolve").click()
    await expect(row).to_have_attribute("data-state", "resolved")
    await page.get_by_label("Outcome").select_option("family_handled")
    await page.get_by_role("button", name="Close", exact=True).click()
    await expect(row).to_have_count(0)
    await expect(page.locator(".timeline")).to_contain_text("Family handled it")

    await page.get_by_role("button", name="中文").click()
    await expect(page.get_by_role("heading", name="警情队列")).to_be_visible()


async def test_the_console_needs_a_login_and_says_when_it_is_wrong(site: Site, browser: Browser) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{site.base}/console/")
    await page.fill("input[name=username]", "agent1")
    await page.fill("input[name=password]", "wrong")
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    await expect(page.locator(".queue")).to_have_count(0)


async def test_the_map_shows_positions_without_tiles(site: Site, browser: Browser) -> None:
    page = await logged_in(browser, site, "agent2")
    wearer = (await watch_wearers(site))[2]
    await sos(site, wearer)
    await row_of(page, wearer.name).click()
    await expect(page.get_by_test_id("call-map")).to_have_class(re.compile(r"\bno-tiles\b"))
    await expect(page.locator(".leaflet-tile")).to_have_count(0)
    await expect(page.locator("path.marker-alarm")).to_be_visible()
    await expect(page.locator("path.map-safe-area")).to_be_visible()
    await expect(page.locator("path.marker-provider")).not_to_have_count(
        0
    )  # the providers load after the call
    legend = page.get_by_test_id("map-legend")
    await expect(legend).to_have_text(re.compile(r"^报警位置\s*家\s*安全区域\s*附近服务商$"))
    # Every provider is numbered, nearest first, and listed under the map by its number; of the alarm and
    # the home, the northern one's label sits above it and the other's below, wherever the watch reported.
    providers = await page.locator("path.marker-provider").count()
    await expect(page.locator(".provider-label")).to_have_count(providers)  # old labels fade out first
    await expect(page.get_by_test_id("map-providers").locator("li")).to_have_count(providers)
    numbers = await page.locator(".provider-label").all_text_contents()
    assert sorted(numbers, key=int) == [str(n) for n in range(1, providers + 1)]
    alarm_tooltip = page.locator(".leaflet-tooltip").filter(has_text=re.compile(r"^报警位置$"))
    await expect(alarm_tooltip).to_have_count(1)  # a redraw's old label fades out first
    alarm_label = await alarm_tooltip.bounding_box()
    home_label = await page.locator(".leaflet-tooltip").filter(has_text=re.compile(r"^家$")).bounding_box()
    assert alarm_label is not None
    assert home_label is not None
    overlap = min(alarm_label["y"] + alarm_label["height"], home_label["y"] + home_label["height"]) - max(
        alarm_label["y"], home_label["y"]
    )
    assert overlap <= 0, "the alarm's label covers the home's"


@pytest.fixture(scope="module")
def hurried_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server where a P1 call must be acknowledged within one second."""
    tmp_path = tmp_path_factory.mktemp("hurried")
    watch_port = free_port()
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(watch_port), DISPATCH_P1_ACK_SECONDS="1")
    seeded = run(["seed-demo", "--elders", "10"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=watch_port, data_dir=tmp_path / "var")


async def test_an_unacknowledged_p1_gets_louder_reaches_the_supervisor_and_the_banner_opens_it(
    hurried_site: Site, browser: Browser
) -> None:
    wearer = (await watch_wearers(hurried_site))[0]
    agent = await logged_in(browser, hurried_site, "agent1")
    supervisor = await logged_in(browser, hurried_site, "supervisor")
    await sos(hurried_site, wearer)
    await expect(agent.locator("body")).to_have_attribute("data-alert", "escalated")
    await expect(agent.locator(".banner > span")).to_have_text("P1呼叫未在规定时间内确认！")
    await expect(supervisor.locator(".banner > span")).to_have_text("有P1呼叫超时未确认，需主管介入")
    await expect(row_of(supervisor, wearer.name)).to_contain_text("已升级 ×2")
    # The banner names the call, and a click opens it from whatever view is showing.
    await supervisor.get_by_test_id("view-orders").click()
    await expect(supervisor.get_by_test_id("banner-call")).to_have_text(
        f"P1 {wearer.name} · SOS求救 · 已升级 ×2"
    )
    await supervisor.get_by_test_id("banner-call").click()
    await expect(supervisor.locator(".detail .elder-name")).to_have_text(wearer.name)
    await agent.get_by_role("button", name="确认", exact=True).click()
    await expect(supervisor.get_by_role("alert")).to_have_count(0)
    await expect(supervisor.locator("body")).to_have_attribute("data-alert", "none")
    await expect(row_of(supervisor, wearer.name)).not_to_contain_text(
        "已升级"
    )  # no stale mark once acknowledged


async def test_a_console_that_lost_its_server_resyncs_what_changed_meanwhile(
    tmp_path: Path, browser: Browser
) -> None:
    watch_port, http_port = free_port(), free_port()
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(watch_port))
    assert run(["seed-demo", "--elders", "10"], env).returncode == 0
    first, second = (await watch_wearers(Site("", 0, tmp_path / "var")))[:2]
    with server(["serve"], env, port=http_port) as base:
        site = Site(base=base, watch_port=watch_port, data_dir=tmp_path / "var")
        page = await logged_in(browser, site, "agent1")
        await sos(site, first)
        await expect(row_of(page, first.name)).to_have_attribute("data-state", "new")
    await expect(page.get_by_test_id("connection")).to_have_text("重新连接中…")

    # While the console is cut off, the call is handled elsewhere and another elder raises an alarm.
    engine = create_engine(Settings(data_dir=site.data_dir))
    async with unit_of_work(create_session_factory(engine)) as session:
        [call] = (
            await calls_service.list_calls(
                session=session, limit=1, offset=0, where=calls_service.CallFilter(elder_id=first.elder_id)
            )
        )[0]
        await calls_service.transition(
            session=session,
            clock=SystemClock(),
            actor=Actor.system("another console"),
            call_id=call.id,
            target=CallState.false_alarm,
        )
    await engine.dispose()
    with server(["serve"], env, port=http_port):
        await expect(page.get_by_test_id("connection")).to_have_text("实时", timeout=10_000)
        await expect(row_of(page, first.name)).to_have_count(0)
        await sos(site, second)
        await expect(row_of(page, second.name)).to_have_attribute("data-priority", "P1")


async def test_an_agent_dispatches_watches_the_offers_and_enters_a_reply_from_the_outbox(
    site: Site, browser: Browser
) -> None:
    wearer = (await watch_wearers(site))[3]
    page = await logged_in(browser, site, "agent1", lang="en")
    await sos(site, wearer)
    await row_of(page, wearer.name).click()
    await page.get_by_role("button", name="Acknowledge", exact=True).click()
    await page.get_by_label("Service type").select_option("emergency_rescue")
    await page.get_by_role("button", name="Dispatch", exact=True).click()
    panel = page.locator(".dispatch-panel")
    await expect(panel.locator(".job")).to_have_attribute("data-job-state", "offering")
    await expect(panel.locator("tr[data-offer-state=offered]")).to_have_count(2)  # an emergency: two at once

    async with httpx.AsyncClient(base_url=site.base) as client:
        await client.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        calls = (await client.get("/api/v1/calls", params={"elder_id": wearer.elder_id})).json()["items"]
        [job] = (await client.get(f"/api/v1/calls/{calls[0]['id']}/jobs")).json()
        provider = (await client.get(f"/api/v1/providers/{job['offers'][0]['provider_id']}")).json()
    code = job["offers"][0]["code"]

    await page.get_by_role("button", name="SMS", exact=True).click()
    await page.get_by_label("Outbox only").check()
    # The texts themselves are in Chinese (DISPATCH_SMS_LANGUAGE), whatever the console's language.
    # The list masks the offer (it names the elder's address); the agent reads it whole, an audited read.
    offer_text = page.locator(".sms-list tr", has_text=provider["phone"]).get_by_test_id("sms-body")
    await expect(offer_text).to_have_text(re.compile(r"^【12349派单】…"))
    await expect(page.locator(".sms-list")).not_to_contain_text(f"接 {code}")
    await offer_text.get_by_test_id("sms-show").click()
    await expect(offer_text).to_contain_text(f"接 {code}")
    await page.get_by_label("Provider's phone").fill(provider["phone"])
    await page.get_by_label('Reply, e.g. "Y 4821"').fill(f"Y {code}")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_test_id("reply-outcome")).to_have_text("accepted")

    await page.get_by_role("button", name="Calls", exact=True).click()
    await row_of(page, wearer.name).click()
    await expect(panel.locator(".job")).to_have_attribute("data-job-state", "assigned")
    await expect(panel.locator("tr[data-offer-state=accepted]")).to_contain_text(provider["name"])
    await expect(page.locator("path.marker-provider.accepted")).to_have_count(1)
    await expect(page.get_by_test_id("map-accepted")).to_have_text(
        re.compile(rf"Accepted: {re.escape(provider['name'])} · \d+\.\d km · ETA \d+ min")
    )
    await expect(panel.locator("tr[data-offer-state=withdrawn]")).to_have_count(1)
    await expect(page.locator(".timeline")).to_contain_text("Offer accepted")

    await page.get_by_role("button", name="Hand to 120").click()
    await expect(page.get_by_test_id("handoff-summary")).to_contain_text(wearer.name)


async def test_the_profile_shows_what_matters_on_the_phone(site: Site, browser: Browser) -> None:
    """Dialect, who the elder lives with, physical condition, hobbies, subsidy category, and the number of a
    bound phone device when the record has no phone of its own."""
    async with httpx.AsyncClient(base_url=site.base) as api:
        await api.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        elders = (await api.get("/api/v1/elders", params={"limit": 40})).json()["items"]
        records = [(await api.get(f"/api/v1/elders/{e['id']}")).json() for e in elders]
        [elder, *_] = [
            r for r in records if r["phone"] is None and any(d["kind"] == "phone" for d in r["devices"])
        ]
        updated = await api.patch(
            f"/api/v1/elders/{elder['id']}",
            json={
                "dialect": "福州话",
                "living_alone": False,
                "household": [{"name": "林秀珍", "relation": "老伴", "lives_with_elder": True}],
                "physical_condition": "坐轮椅，右耳听力差",
                "hobbies": ["闽剧"],
                "subsidy_categories": ["minimum_living"],
            },
        )
        assert updated.status_code == 200, updated.text
        body = {"elder_id": elder["id"], "priority": "P4", "category": "enquiry"}
        assert (await api.post("/api/v1/calls", json=body)).status_code == 201
    [device] = [d for d in elder["devices"] if d["kind"] == "phone"]

    page = await logged_in(browser, site, "agent1")
    await row_of(page, elder["name"]).click()
    profile = page.locator(".profile")
    await expect(profile.get_by_test_id("device-phone")).to_contain_text(device["phone"])
    await expect(profile.get_by_test_id("profile-dialect")).to_have_text("福州话")
    await expect(profile.get_by_test_id("profile-lives-with")).to_have_text("林秀珍（老伴）")
    await expect(profile.get_by_test_id("profile-physical")).to_have_text("坐轮椅，右耳听力差")
    await expect(profile).to_contain_text("闽剧")
    await expect(profile).to_contain_text("低保")
