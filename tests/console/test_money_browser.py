"""Money on the console in real headless Chromium against a real `dispatch serve` (SQLite, SMS to the
outbox, refunds above 20 yuan for supervisors): the order form tells the agent the elder's allowance, a
provider's acceptance splits the price, the agent takes the self-pay in cash and refunds part of it (a
refund above the limit is refused in Chinese), and the elder page shows the allowance and the prepaid money,
in Chinese and then in English."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from dispatch.demo.seed import next_working_day
from tests.console.every_view import CJK, axe_violations, other_language_texts
from tests.console.pages import console_as
from tests.factories import AREA, elder_payload, provider_payload
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOME = {"lon": 119.2985, "lat": 26.083}
CLEANER_PHONE = "13900000417"
ELDER_NAME = "欧阳秀琴"
SELF_PAY_FEN = 4000  # the 40 yuan the agent takes in cash
REFUND_LIMIT_FEN = 2000


@dataclass(frozen=True)
class Agent:
    """An operator's session on the REST API, to seed data and play the provider's SMS reply."""

    http: httpx.AsyncClient

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("money")
    env = env_for(
        tmp_path, DISPATCH_WATCH_PORT=str(free_port()), DISPATCH_REFUND_APPROVAL_FEN=str(REFUND_LIMIT_FEN)
    )
    seeded = run(["seed-demo", "--elders", "5"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


@pytest.fixture
async def supervisor(base: str) -> AsyncIterator[Agent]:
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "supervisor", "password": "demo"})
        assert login.status_code == 200, login.text
        yield Agent(http)


def next_working_morning() -> datetime:
    return datetime.combine(next_working_day(datetime.now(SHANGHAI).date()), clock_time(9), SHANGHAI)


async def cleaner_at_home_pricing(api: Agent, share_percent: int) -> dict[str, Any]:
    """A cleaner based at the elder's home (so it is offered the order first), priced so that the elder's
    part after the government's share is 40 yuan."""
    price, rest = divmod(SELF_PAY_FEN * 100, 100 - share_percent)
    assert rest == 0, f"no whole-fen price leaves 40 yuan at a {share_percent}% share"
    body = provider_payload(
        name="欧阳家政保洁",
        phone=CLEANER_PHONE,
        service_types=["cleaning"],
        base_location=HOME,
        service_area=AREA,
        price_list=[
            {"service_type": "cleaning", "item": "日常保洁2小时", "unit": "次", "price_cents": price}
        ],
        working_hours=[{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "07:00", "end": "20:00"}],
    )
    provider: dict[str, Any] = await api.post("/api/v1/providers", body)
    await api.post(f"/api/v1/providers/{provider['id']}/status", {"status": "active", "reason": "准入"}, 200)
    return provider


async def accept_as(api: Agent, order_id: int, provider: dict[str, Any]) -> dict[str, Any]:
    """The cleaner, offered the order first, accepts by SMS; the order as it is then."""
    offers = (await api.get(f"/api/v1/service-orders/{order_id}"))["job"]["offers"]
    assert offers[0]["provider_id"] == provider["id"], offers
    outcome = await api.post(
        "/api/v1/sms/replies", {"from": CLEANER_PHONE, "body": f"接 {offers[0]['code']}"}
    )
    assert outcome["handled"], outcome
    order: dict[str, Any] = await api.get(f"/api/v1/service-orders/{order_id}")
    return order


async def open_elder_page(page: Page, elder_id: int) -> None:
    await page.get_by_test_id("global-search").fill(ELDER_NAME)
    await page.locator(f"[data-testid=search-hit][data-id='{elder_id}']").click()
    await expect(page.get_by_test_id("elder-page")).to_have_attribute("data-elder-id", str(elder_id))


def shown(fen: int) -> str:
    """An amount as the console shows it."""
    return f"¥{fen // 100}.{fen % 100:02d}"


async def test_an_agent_takes_the_self_pay_in_cash_refunds_part_and_sees_the_elders_money(
    base: str, browser: Browser, supervisor: Agent, tmp_path: Path
) -> None:
    elder = await supervisor.post(
        "/api/v1/elders",
        elder_payload(name=ELDER_NAME, home_location=HOME, subsidy_categories=["aged_80_plus"]),
    )
    allowance = await supervisor.get(f"/api/v1/elders/{elder['id']}/allowance")
    assert allowance["entitled_by"] == "category:aged_80_plus"
    provider = await cleaner_at_home_pricing(supervisor, allowance["share_percent"])

    page = await console_as(browser, base, "agent1")
    await page.get_by_test_id("view-orders").click()
    await page.get_by_test_id("new-order").click()
    form = page.get_by_test_id("order-form")
    await form.get_by_test_id("elder-search").fill(ELDER_NAME)
    await form.locator(f"[data-testid=elder-option][data-elder-id='{elder['id']}']").click()
    await expect(form.get_by_test_id("allowance-hint")).to_contain_text(
        f"补贴剩余 {shown(allowance['left_fen'])[1:]} 元，政府承担 {allowance['share_percent']}%（80周岁以上）"
    )
    await form.get_by_test_id("order-date").fill(next_working_morning().date().isoformat())
    await form.get_by_label("服务类型").select_option("cleaning")
    await form.get_by_test_id("order-submit").click()
    await expect(form).to_have_count(0)

    [created] = (await supervisor.get("/api/v1/service-orders", view="all", elder_id=elder["id"]))["items"]
    detail = page.get_by_test_id("order-detail")
    await expect(detail.get_by_test_id("payment-unpriced")).to_be_visible()  # nobody has priced it yet
    order = await accept_as(supervisor, created["id"], provider)
    assert (order["payment_method"], order["self_pay_cents"]) == ("mixed", SELF_PAY_FEN)

    payments = detail.get_by_test_id("order-payments")
    await expect(payments.get_by_test_id("amount-due")).to_have_text("¥40.00")
    await payments.get_by_test_id("method-cash").check()
    await payments.get_by_test_id("take-payment-submit").click()
    paid = payments.get_by_test_id("payment")
    await expect(paid).to_have_attribute("data-state", "paid")
    await expect(paid.get_by_test_id("payment-state")).to_have_text("已支付")
    await expect(paid.get_by_test_id("payment-amount")).to_have_text("¥40.00")
    await expect(payments.get_by_test_id("amount-due")).to_have_text("¥0.00")
    await expect(payments.get_by_test_id("take-payment")).to_have_count(0)

    await paid.get_by_test_id("refund").click()
    refund = paid.get_by_test_id("refund-form")
    await refund.get_by_test_id("refund-amount").fill("30")
    await refund.get_by_test_id("refund-reason").fill("服务时间缩短")
    await refund.get_by_test_id("refund-submit").click()
    await expect(refund.get_by_test_id("refund-error")).to_have_text("退款金额超过 ¥20.00，需由主管办理")
    assert await axe_violations(page) == []  # the payments block, the refund form and its refusal
    await refund.get_by_test_id("refund-amount").fill("10.1")
    await refund.get_by_test_id("refund-submit").click()
    await expect(paid.get_by_test_id("payment-refunded")).to_have_text("已退 ¥10.10")
    await page.screenshot(path=tmp_path / "order-payments.png")
    [payment] = (await supervisor.get("/api/v1/payments", order_id=order["id"]))["items"]
    assert (payment["method"], payment["amount_fen"], payment["refunded_fen"]) == ("cash", 4000, 1010)

    await open_elder_page(page, elder["id"])
    card = page.get_by_test_id("money-card")
    await expect(card.get_by_test_id("allowance-entitled")).to_have_text("80周岁以上")
    await expect(card.get_by_test_id("allowance-left")).to_have_text(shown(allowance["left_fen"]))
    await expect(card.get_by_test_id("allowance-share")).to_have_text(f"{allowance['share_percent']}%")
    await expect(card.get_by_test_id("prepaid")).to_have_text(
        "¥29.90"
    )  # 40 paid, 10.10 back, not yet charged
    await expect(card).to_contain_text("预付余额¥29.90")
    await expect(card.get_by_test_id("payment")).to_have_count(1)
    await page.screenshot(path=tmp_path / "money-card-zh.png")

    # The refund's toast was said in Chinese: gone before the switch.
    await expect(page.get_by_role("status")).to_have_count(0, timeout=10_000)
    await page.locator(".topbar button[lang=en]").click()
    await expect(card.get_by_test_id("allowance-entitled")).to_have_text("Aged 80+")
    await expect(card).to_contain_text("Left this month")
    await expect(card).to_contain_text("Prepaid balance¥29.90")
    await expect(card.get_by_test_id("payment-state")).to_have_text("Paid")
    await card.get_by_test_id("top-up-amount").fill("100")
    await card.get_by_test_id("top-up-submit").click()  # no recurring plans: the cap is nothing
    await expect(card.get_by_test_id("top-up-error")).to_have_text(
        "This top-up would take the prepaid money over its cap of ¥0.00 (¥29.90 held)"
    )
    await page.screenshot(path=tmp_path / "money-card-en.png")
    assert not CJK.search(await card.inner_text())
    assert await other_language_texts(page, "en") == []
    assert await axe_violations(page) == []
