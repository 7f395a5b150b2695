"""Money on the console in real headless Chromium against a real `dispatch serve` (SQLite, SMS to the
outbox, refunds above 20 yuan for supervisors): the order form tells the agent the elder's allowance, a
provider's acceptance splits the price, the agent takes the self-pay in cash and refunds part of it (a
refund above the limit is refused in Chinese), and the elder page shows the allowance and the prepaid money,
in Chinese and then in English; a WeChat payment shows its QR code until it is paid."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
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
from dispatch.elders.models import SubsidyCategory
from dispatch.subsidies.policy import in_force
from simulators.fake_wechatpay.keys import generate_keys, load_keys, write_keys
from tests.console.every_view import CJK, axe_violations, other_language_texts
from tests.console.pages import console_as
from tests.factories import AREA, elder_payload, provider_payload
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOME = {"lon": 119.2985, "lat": 26.083}
CLEANER_NAME = "欧阳家政保洁"
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


@dataclass(frozen=True)
class Site:
    base: str
    wechatpay: str  # the fake WeChat Pay's base URL


@contextmanager
def fake_wechatpay(keys_dir: Path) -> Iterator[str]:
    """`python -m simulators.fake_wechatpay` as its own process, with keys made for this test."""
    write_keys(generate_keys(), keys_dir)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.fake_wechatpay", "--port", str(port), "--keys-dir", str(keys_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/_fake/notifications", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("money")
    port = free_port()
    with fake_wechatpay(tmp_path / "wechatpay") as wechatpay:
        env = env_for(
            tmp_path,
            DISPATCH_WATCH_PORT=str(free_port()),
            DISPATCH_REFUND_APPROVAL_FEN=str(REFUND_LIMIT_FEN),
            DISPATCH_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            **load_keys(tmp_path / "wechatpay").settings_env(tmp_path / "wechatpay", wechatpay),
        )
        seeded = run(["seed-demo", "--elders", "5"], env)
        assert seeded.returncode == 0, seeded.stderr
        with server(["serve"], env, port=port) as url:
            yield Site(base=url, wechatpay=wechatpay)


@pytest.fixture
async def supervisor(site: Site) -> AsyncIterator[Agent]:
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "supervisor", "password": "demo"})
        assert login.status_code == 200, login.text
        yield Agent(http)


def next_working_morning() -> datetime:
    return datetime.combine(next_working_day(datetime.now(SHANGHAI).date()), clock_time(9), SHANGHAI)


def share_of_the_aged_80_plus() -> int:
    """The government's share of an 80+ elder's service by the policy in force today (Shanghai)."""
    policy = in_force(datetime.now(SHANGHAI).date())
    assert policy is not None
    return policy.categories[SubsidyCategory.aged_80_plus].share_percent


async def the_cleaner(api: Agent) -> dict[str, Any]:
    """A cleaner based at the elders' home (so it is offered their orders first), priced so that an 80+
    elder's part after the government's share is 40 yuan; made by the first test that needs it."""
    for listed in (await api.get("/api/v1/providers", limit=500))["items"]:
        if listed["name"] == CLEANER_NAME:
            return dict(listed)
    share = share_of_the_aged_80_plus()
    price, rest = divmod(SELF_PAY_FEN * 100, 100 - share)
    assert rest == 0, f"no whole-fen price leaves 40 yuan at a {share}% share"
    body = provider_payload(
        name=CLEANER_NAME,
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


async def new_elder(api: Agent, name: str) -> dict[str, Any]:
    """An 80+ elder at HOME."""
    body = elder_payload(name=name, home_location=HOME, subsidy_categories=["aged_80_plus"])
    elder: dict[str, Any] = await api.post("/api/v1/elders", body)
    return elder


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
    site: Site, browser: Browser, supervisor: Agent, tmp_path: Path
) -> None:
    elder = await new_elder(supervisor, ELDER_NAME)
    allowance = await supervisor.get(f"/api/v1/elders/{elder['id']}/allowance")
    assert (allowance["entitled_by"], allowance["share_percent"]) == (
        "category:aged_80_plus",
        share_of_the_aged_80_plus(),
    )
    provider = await the_cleaner(supervisor)

    page = await console_as(browser, site.base, "agent1")
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
    await refund.get_by_test_id("refund-amount").press("Enter")  # from the keyboard
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

    entry = page.locator(f"[data-testid=elder-entry][data-kind=order][data-id='{order['id']}']")
    await entry.get_by_role("button").click()  # the order, from the elder's timeline
    payments = page.get_by_test_id("order-payments")
    await expect(payments.get_by_test_id("payment-state")).to_have_text("Paid")
    await expect(payments.get_by_test_id("payment-refunded")).to_have_text("¥10.10 refunded")
    await expect(payments).to_contain_text("Self-pay ¥40.00 · Paid or waiting ¥29.90 · Due ¥10.10")
    assert not CJK.search(await payments.inner_text())


async def test_a_wechat_payment_shows_its_qr_code_until_the_family_pays(
    site: Site, browser: Browser, supervisor: Agent
) -> None:
    """The server asks the fake WeChat Pay (its own process, through wechatpayv3) for the QR code; the family
    "pays" at the fake, whose signed notification marks the payment paid, and the order's payments block
    follows by itself (it looks again every 5 s while a payment waits)."""
    cleaner = await the_cleaner(supervisor)
    elder = await new_elder(supervisor, "上官玉兰")
    start = next_working_morning()
    window = {"window_start": start.isoformat(), "window_end": start.replace(hour=11).isoformat()}
    created = await supervisor.post(
        "/api/v1/service-orders", {"elder_id": elder["id"], "service_type": "cleaning", **window}
    )
    await accept_as(supervisor, created["id"], cleaner)

    page = await console_as(browser, site.base, "agent1")
    await page.get_by_test_id("view-orders").click()
    await page.get_by_test_id("orders-tab-all").click()
    await page.locator(f"[data-testid=order-row][data-order-id='{created['id']}']").click()
    payments = page.get_by_test_id("order-payments")
    await expect(payments.get_by_test_id("amount-due")).to_have_text("¥40.00")
    await payments.get_by_test_id("method-wechat").check()
    await payments.get_by_test_id("take-payment-submit").click()
    waiting = payments.get_by_test_id("payment")
    await expect(waiting).to_have_attribute("data-state", "pending")
    await expect(waiting.get_by_test_id("payment-state")).to_have_text("待支付")
    await expect(payments.get_by_test_id("amount-due")).to_have_text("¥0.00")  # held while it waits

    [payment] = (await supervisor.get("/api/v1/payments", order_id=created["id"]))["items"]
    assert (payment["method"], payment["state"], payment["amount_fen"]) == ("wechat", "pending", 4000)
    code_url = payment["code_url"]
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr="), code_url
    qr = waiting.get_by_test_id("payment-qr")
    await expect(qr).to_be_visible(timeout=10_000)
    await expect(qr).to_have_attribute("aria-label", "微信支付二维码：¥40.00")
    modules = int(await qr.get_attribute("data-modules") or 0)
    assert modules >= 21, modules
    assert (modules - 17) % 4 == 0, modules  # a QR symbol is 4 x version + 17 modules wide
    await expect(waiting).to_contain_text(code_url)
    assert await axe_violations(page) == []

    async with httpx.AsyncClient(base_url=site.wechatpay) as family:
        paid = await family.post(f"/_fake/trades/{payment['out_trade_no']}/pay", json={})
        assert paid.status_code == 200, paid.text
    await expect(waiting).to_have_attribute("data-state", "paid", timeout=10_000)
    await expect(waiting.get_by_test_id("payment-state")).to_have_text("已支付")
    await expect(waiting.get_by_test_id("payment-qr")).to_have_count(0)
