"""The service desk in real headless Chromium against a real `dispatch serve` process (SQLite, in-process
bus, SMS to the outbox): an agent takes a home-service order and watches the provider's SMS replies move
it along live; a follow-up call records a low score with a complaint and the provider's rating drops."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from dispatch.demo.seed import next_working_day
from tests.console.test_console_browser import Site, logged_in
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

SERVICE = "cleaning"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_working_morning() -> datetime:
    """09:00 Shanghai on the next day the seeded cleaners work (a Sunday morning would find nobody, and the
    order would escalate)."""
    return datetime.combine(next_working_day(datetime.now(SHANGHAI).date()), clock_time(9), SHANGHAI)


@dataclass(frozen=True)
class Client:
    """An agent's session on the REST API, to seed data and play the provider's SMS replies."""

    http: httpx.AsyncClient

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def reply(self, order_id: int, verb: str) -> None:
        """The accepted (else first) offer's provider answers `<verb> <code>` by SMS."""
        job = (await self.get(f"/api/v1/service-orders/{order_id}"))["job"]
        offer = next((o for o in job["offers"] if o["state"] in ("accepted", "arrived")), job["offers"][0])
        provider = await self.get(f"/api/v1/providers/{offer['provider_id']}")
        outcome = await self.post(
            "/api/v1/sms/replies", {"from": provider["phone"], "body": f"{verb} {offer['code']}"}, status=201
        )
        assert outcome["handled"], outcome


@dataclass(frozen=True)
class Elder:
    id: int
    name: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("desk")
    # The service-desk timer opens the follow-ups owed: let it look every second.
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(free_port()), DISPATCH_DESK_TICK_SECONDS="1")
    seeded = run(["seed-demo", "--elders", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=0, data_dir=tmp_path / "var")


@pytest.fixture
async def api(site: Site) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        assert login.status_code == 200, login.text
        yield Client(http)


async def elder_near_a_cleaner(api: Client, skip: int) -> Elder:
    """A seeded elder with an active provider of the service nearby, so the order is offered at once."""
    elders = (await api.get("/api/v1/elders", limit=40))["items"]
    found = []
    for summary in elders:
        elder = await api.get(f"/api/v1/elders/{summary['id']}")
        home = elder["home_location"]
        near = await api.get(
            "/api/v1/providers/nearby", lon=home["lon"], lat=home["lat"], service_type=SERVICE
        )
        if near:
            found.append(Elder(elder["id"], elder["name"]))
        if len(found) > skip:
            return found[skip]
    raise AssertionError("no seeded elder has a cleaner nearby")


def order_row(page: Page, order_id: int) -> Locator:
    return page.locator(f"[data-testid=order-row][data-order-id='{order_id}']")


async def test_an_agent_takes_an_order_and_sees_the_providers_replies_live(
    site: Site, browser: Browser, api: Client, tmp_path: Path
) -> None:
    elder = await elder_near_a_cleaner(api, skip=0)
    page = await logged_in(browser, site, "agent1")
    await page.get_by_test_id("view-orders").click()
    await expect(page.get_by_test_id("orders-board")).to_contain_text("服务工单")

    await page.get_by_test_id("new-order").click()
    form = page.get_by_test_id("order-form")
    await form.get_by_test_id("elder-search").fill(elder.name[1:])
    await form.locator(f"[data-testid=elder-option][data-elder-id='{elder.id}']").click()
    await expect(form.get_by_test_id("picked-elder")).to_contain_text(elder.name)
    await expect(form.get_by_test_id("order-start")).to_have_value("09:00")
    await form.get_by_test_id("order-date").fill(next_working_morning().date().isoformat())
    await form.get_by_label("服务类型").select_option(label="保洁")
    await form.get_by_label("备注").fill("门禁 1234#")
    await page.screenshot(path=tmp_path / "order-form.png")
    await form.get_by_test_id("order-submit").click()
    await expect(form).to_have_count(0)

    [order] = (await api.get("/api/v1/service-orders", view="all", elder_id=elder.id))["items"]
    assert (order["service_type"], order["state"], order["notes"]) == (SERVICE, "scheduled", "门禁 1234#")
    offered_to = (await api.get(f"/api/v1/service-orders/{order['id']}"))["job"]["offers"][0]["provider_name"]
    await expect(page.get_by_role("status")).to_have_text(
        f"工单 #{order['id']} 已创建，已派给 {offered_to}，等待接单"
    )
    assert re.fullmatch(r".*T01:00:00(\+00:00|Z)", order["window_start"]), "09:00 Shanghai is 01:00 UTC"
    await page.get_by_test_id("orders-tab-all").click()
    row = order_row(page, order["id"])
    await expect(row.get_by_test_id("order-state")).to_have_attribute("data-phase", "offered")
    await expect(row.get_by_test_id("order-state")).to_have_text("待接单")
    await expect(row).to_contain_text(re.compile(r"\d\d-\d\d 09:00–11:00"))
    detail = page.get_by_test_id("order-detail")
    await expect(detail.locator("tr[data-offer-state=offered]")).to_have_count(1)

    await api.reply(order["id"], "接")
    accepted = await api.get(f"/api/v1/service-orders/{order['id']}")
    await expect(row.get_by_test_id("order-state")).to_have_text("已接单")
    await expect(row.get_by_test_id("order-provider")).to_have_text(accepted["provider_name"])
    await expect(detail.locator("tr[data-offer-state=accepted]")).to_contain_text(accepted["provider_name"])
    await api.reply(order["id"], "到")
    await expect(row.get_by_test_id("order-state")).to_have_attribute("data-state", "in_progress")
    await api.reply(order["id"], "完成")
    await expect(row.get_by_test_id("order-state")).to_have_attribute("data-state", "completed")
    await expect(row.get_by_test_id("order-state")).to_have_text("已完成")
    await page.screenshot(path=tmp_path / "orders-board.png")

    await page.get_by_test_id("orders-tab-open").click()
    await expect(row).to_have_count(0)


async def completed_order(api: Client, elder: Elder) -> dict[str, Any]:
    """An order for a coming morning (09:00–11:00 Shanghai), accepted, attended and done by SMS replies."""
    start = next_working_morning().astimezone(UTC)
    order = await api.post(
        "/api/v1/service-orders",
        {
            "elder_id": elder.id,
            "service_type": SERVICE,
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        },
        status=201,
    )
    for verb in ("接", "到", "完成"):
        await api.reply(order["id"], verb)
    completed: dict[str, Any] = await api.get(f"/api/v1/service-orders/{order['id']}")
    return completed


def shown_rating(provider: dict[str, Any]) -> str:
    """The rating as the providers view shows it: one decimal, a dash while nobody has scored it."""
    return f"{provider['rating']:.1f}" if provider["rating_count"] else "—"


async def follow_up_opened(api: Client, order_id: int) -> None:
    """Wait (up to 10 s) for the service-desk timer to open the order's follow-up."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pending = (await api.get("/api/v1/follow-ups", state="pending", limit=500))["items"]
        if any(f["order_id"] == order_id for f in pending):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no follow-up for order {order_id}")


async def test_a_follow_up_with_a_low_score_and_a_complaint_lowers_the_providers_rating(
    site: Site, browser: Browser, api: Client, tmp_path: Path
) -> None:
    elder = await elder_near_a_cleaner(api, skip=1)
    order = await completed_order(api, elder)
    assert order["state"] == "completed"
    before = await api.get(f"/api/v1/providers/{order['provider_id']}")
    await follow_up_opened(api, order["id"])

    page = await logged_in(browser, site, "agent1")
    await page.get_by_test_id("view-providers").click()
    provider_row = page.locator(f"[data-testid=provider-row][data-provider-id='{order['provider_id']}']")
    await expect(provider_row.get_by_test_id("provider-rating")).to_have_text(shown_rating(before))

    await page.get_by_test_id("view-followups").click()
    row = page.locator(f"[data-testid=followup-row][data-order-id='{order['id']}']")
    await expect(row).to_contain_text(elder.name)
    await row.click()
    detail = page.get_by_test_id("followup-detail")
    await expect(detail.get_by_test_id("followup-phone")).to_have_text(re.compile(r"^\+?\d{11,14}$"))
    await expect(detail).to_contain_text(order["provider_name"])
    window = datetime.fromisoformat(order["window_start"]).astimezone(SHANGHAI)
    await expect(detail.get_by_test_id("followup-subject")).to_have_text(f"保洁 {window:%m-%d %H:%M:%S}")

    form = page.get_by_test_id("followup-form")
    await form.get_by_test_id("followup-submit").click()
    await expect(form.get_by_role("alert")).to_have_text("请选择满意度")
    await form.get_by_test_id("satisfaction-2").click()
    await expect(form.get_by_test_id("satisfaction-2")).to_have_attribute("aria-pressed", "true")
    await form.get_by_test_id("followup-comment").fill("来晚了，打扫不干净")
    await form.get_by_test_id("register-complaint").check()
    await form.get_by_test_id("complaint-text").fill("服务人员迟到一小时")
    await page.screenshot(path=tmp_path / "follow-up.png")
    await form.get_by_test_id("followup-submit").click()
    await expect(row).to_have_count(0)
    await expect(page.get_by_role("status")).to_contain_text("已登记投诉")

    after = await api.get(f"/api/v1/providers/{order['provider_id']}")
    assert after["rating_count"] == before["rating_count"] + 1
    assert after["rating"] < 4.0, "a 2 pulls the rating below the prior (4.0)"
    assert shown_rating(after) != shown_rating(before)
    await page.get_by_test_id("view-providers").click()
    await expect(provider_row.get_by_test_id("provider-rating")).to_have_text(shown_rating(after))
    await expect(provider_row.get_by_test_id("provider-rating-count")).to_have_text(
        f"{after['rating_count']}次评价"
    )
    await provider_row.click()
    await expect(page.get_by_test_id("admission")).to_contain_text("依法登记注册")
    await expect(page.get_by_test_id("provider-quality")).to_have_count(0)  # agents do not see the figures

    supervisor = await logged_in(browser, site, "supervisor")
    await supervisor.get_by_test_id("view-providers").click()
    await supervisor.locator(f"[data-testid=provider-row][data-provider-id='{order['provider_id']}']").click()
    await expect(supervisor.get_by_test_id("provider-quality")).to_contain_text("平均满意度2.0")
    await supervisor.screenshot(path=tmp_path / "providers.png")


async def test_an_order_nobody_can_take_says_so_at_once_in_the_console_s_language(
    site: Site, browser: Browser, api: Client
) -> None:
    """A Sunday-morning cleaning: the seeded cleaners work Monday to Saturday, so the order goes straight
    back to the agents; the toast says so and why, in English in the English console (never "created and
    dispatched")."""
    elder = await elder_near_a_cleaner(api, skip=2)
    sunday = next_working_morning().date()
    while sunday.isoweekday() != 7:
        sunday += timedelta(days=1)
    page = await logged_in(browser, site, "agent1", lang="en")
    await page.get_by_test_id("view-orders").click()
    await page.get_by_test_id("new-order").click()
    form = page.get_by_test_id("order-form")
    await form.get_by_test_id("elder-search").fill(elder.name[1:])
    await form.locator(f"[data-testid=elder-option][data-elder-id='{elder.id}']").click()
    await form.get_by_test_id("order-date").fill(sunday.isoformat())
    await form.get_by_label("Service type").select_option(SERVICE)
    await form.get_by_test_id("order-submit").click()
    await expect(form).to_have_count(0)

    orders = (await api.get("/api/v1/service-orders", view="all", elder_id=elder.id))["items"]
    order = max(orders, key=lambda o: o["id"])
    assert (order["state"], order["escalation_code"]) == ("requested", "no_eligible_provider")
    considered = order["escalation_params"]["considered"]
    await expect(page.get_by_role("status")).to_have_text(
        f"Order #{order['id']} created but could not be offered: no eligible provider ({considered} considered,"
        " none qualified). Please handle it by hand"
    )
    await expect(
        page.locator("[data-testid=order-row]", has_text=elder.name).get_by_test_id("order-escalated")
    ).to_have_attribute("title", f"no eligible provider ({considered} considered, none qualified)")


async def test_a_refused_order_says_why_in_the_console_s_language_only(
    site: Site, browser: Browser, api: Client
) -> None:
    """A window already over is refused by the server; the toast says so in Chinese, with none of the
    server's English message."""
    elder = await elder_near_a_cleaner(api, skip=3)
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    page = await logged_in(browser, site, "agent1")
    await page.get_by_test_id("view-orders").click()
    await page.get_by_test_id("new-order").click()
    form = page.get_by_test_id("order-form")
    await form.get_by_test_id("elder-search").fill(elder.name[1:])
    await form.locator(f"[data-testid=elder-option][data-elder-id='{elder.id}']").click()
    await form.get_by_test_id("order-date").fill(yesterday.isoformat())
    await form.get_by_test_id("order-submit").click()
    await expect(page.get_by_role("status")).to_have_text("操作失败: 所选服务时段已经过去")
