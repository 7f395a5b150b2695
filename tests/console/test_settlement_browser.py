"""The settlement view in real headless Chromium against an in-process server (SQLite, a fake clock that
lived through last month): a supervisor computes last month's statement of a provider with two evidenced
services, sees its figures, approves it (a statement approved meanwhile is refused in the UI's language),
marks it paid, downloads it and the district's subsidy claim as XLSX; the reconciliation tab shows the
ledger check and a day's mismatch with both sides in yuan; the services-to-review tab lists a third service,
completed by SMS replies alone and so never evidenced nor paid, with what it lacks, and by the filter the two
evidenced ones (one checked in far from the home, with a photo); agents have no settlement view.

By hand (fen), both services on the 10th of last month by one provider rated 3.6 (score 72: 5 % off):
  meal 1,500 for a 低保 elder (100 % subsidy)      subsidy 1,500
  cleaning 8,000 for an elder with no allowance  self-pay 8,000
  gross 9,500; quality deduction 475; net 9,025. The claim for 鼓楼区: one service, 1,500."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.evidence import rules as evidence_rules
from dispatch.evidence import service as evidence_service
from dispatch.evidence.models import ConfirmedBy
from dispatch.localtime import at_local
from dispatch.orders.models import ServiceOrder
from dispatch.payments import charges
from dispatch.payments.reconcile import Reconciliation
from dispatch.providers.models import Provider
from simulators.fake_twilio import LocalServer
from tests.conftest import sqlite_settings
from tests.console.every_view import axe_violations, other_language_texts
from tests.console.pages import console_as
from tests.console.phone_support import screenshot_dir
from tests.dispatch.money.worlds import new_elder, new_provider, priced_order
from tests.factories import login, make_operator

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVIDER_NAME = "鼓楼综合服务社"
DEMO_PASSWORD = "demo"  # what `console_as` logs in with
TRADE_NUMBER = "SETTLE0000000001"
MISMATCH = {"kind": "payment", "number": TRADE_NUMBER, "platform_fen": 4000, "ledger_fen": None}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FAR_POSITION = (119.3035, 26.083)  # some 500 m east of the homes `priced_order` gives


def last_month() -> date:
    """The first day of the month before this one (Shanghai), the month the view opens on."""
    return (datetime.now(SHANGHAI).date().replace(day=1) - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class Site:
    base: str
    month: str  # "2026-11"
    provider_id: int
    far_order_id: int  # evidenced, checked in far from the home, with a photo
    near_order_id: int  # evidenced
    unevidenced_order_id: int  # completed by SMS replies: no check-in, check-out or confirmation
    far_m: int


async def evidence_for(
    session: AsyncSession, clock: FakeClock, order: ServiceOrder, *, data_dir: Path, far: bool
) -> None:
    """What the job page leaves: a check-in (far from the home, and a photo, if `far`), a check-out, the
    elder's code; evidenced."""
    evidence = await evidence_service.locked(session=session, clock=clock, order=order, offer_id=None)
    position = FAR_POSITION if far else (order.lon, order.lat)
    judged = evidence_rules.judge_checkin(home=(order.lon, order.lat), position=position, far_meters=300)
    evidence_service.record_checkin(evidence, clock, position=position, accuracy_m=10.0, judged=judged)
    if far:
        await evidence_service.store_photo(evidence, clock, data_dir=data_dir, data=PNG, max_bytes=len(PNG))
    evidence_service.record_checkout(evidence, clock)
    evidence_service.confirm(evidence, clock, ConfirmedBy.code)
    evidenced = await evidence_service.mark_evidenced(session=session, clock=clock, evidence=evidence)
    assert evidenced


async def serve_on(
    services: AppServices,
    clock: FakeClock,
    *,
    elder_id: int,
    provider_id: int,
    service: ServiceType,
    fen: int,
    data_dir: Path,
    far: bool = False,
) -> int:
    """An order the provider priced and the evidence charged, as the job page leaves it; its id."""
    async with services.sessions() as session:
        order = await priced_order(
            session,
            clock,
            elder_id=elder_id,
            provider_id=provider_id,
            price_fen=fen,
            day=clock.now().astimezone(SHANGHAI).date(),
            service_type=service,
        )
        await evidence_for(session, clock, order, data_dir=data_dir, far=far)
        await charges.on_evidenced(session=session, clock=clock, order_id=order.id, actor=Actor.system())
        await session.commit()
        return order.id


@pytest.fixture
async def site(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Site]:
    shutil.copy(sqlite_template, tmp_path / "dispatch.sqlite3")
    first = last_month()
    clock = FakeClock(at_local(first, "09:00"))
    app = create_app(sqlite_settings(tmp_path), clock=clock)
    server = LocalServer(app)
    base = await server.start()
    services: AppServices = app.state.services
    try:
        await make_operator(services, "supervisor", Role.supervisor, password=DEMO_PASSWORD)
        await make_operator(services, "agent1", Role.agent, password=DEMO_PASSWORD)
        async with httpx.AsyncClient(base_url=base) as http:
            supervisor = await login(http, "supervisor", DEMO_PASSWORD)
            agent = await login(http, "agent1", DEMO_PASSWORD)
            allowance = (await new_elder(http, agent, subsidy_categories=["minimum_living"]))["id"]
            paying = (await new_elder(http, agent, subsidy_categories=[]))["id"]
            provider = (await new_provider(http, supervisor, name=PROVIDER_NAME))["id"]
        async with services.sessions() as session:
            row = await session.get(Provider, provider)
            assert row is not None
            row.rating, row.rating_count = 3.6, 10
            session.add(
                Reconciliation(
                    day=first + timedelta(days=2),
                    platform="wechat",
                    checked_at=clock.now(),
                    lines=7,
                    mismatches=[MISMATCH],
                )
            )
            await session.commit()
        clock.advance((at_local(first + timedelta(days=9), "12:30") - clock.now()).total_seconds())
        far_order = await serve_on(
            services,
            clock,
            elder_id=allowance,
            provider_id=provider,
            service=ServiceType.meal_assistance,
            fen=1500,
            data_dir=tmp_path,
            far=True,
        )
        near_order = await serve_on(
            services,
            clock,
            elder_id=paying,
            provider_id=provider,
            service=ServiceType.cleaning,
            fen=8000,
            data_dir=tmp_path,
        )
        async with services.sessions() as session:  # accepted and finished by SMS replies: no evidence
            unevidenced = await priced_order(
                session,
                clock,
                elder_id=paying,
                provider_id=provider,
                price_fen=6000,
                day=clock.now().astimezone(SHANGHAI).date(),
                service_type=ServiceType.bathing,
            )
            await session.commit()
        far_m = evidence_rules.judge_checkin(
            home=(unevidenced.lon, unevidenced.lat), position=FAR_POSITION, far_meters=300
        ).distance_m
        assert far_m is not None
        clock.advance((datetime.now(UTC) - clock.now()).total_seconds())  # today, for the browser
        yield Site(
            base=base,
            month=first.strftime("%Y-%m"),
            provider_id=provider,
            far_order_id=far_order,
            near_order_id=near_order,
            unevidenced_order_id=unevidenced.id,
            far_m=far_m,
        )
    finally:
        await server.stop()


async def settlement_view(browser: Browser, site: Site, lang: str = "zh-CN") -> Page:
    page = await console_as(browser, site.base, "supervisor", lang)
    await page.get_by_test_id("view-settlement").click()
    await expect(page.get_by_test_id("settlement-month")).to_have_value(site.month)
    return page


async def problems(page: Page, lang: str) -> dict[str, object]:
    """The view as shown, with rows: axe's serious and critical violations, texts in the other language."""
    found = {"axe": await axe_violations(page), "other_language": await other_language_texts(page, lang)}
    return {kind: what for kind, what in found.items() if what}


async def downloaded(page: Page, test_id: str) -> bytes:
    async with page.expect_download() as started:
        await page.get_by_test_id(test_id).first.click()
    path = await (await started.value).path()
    return await asyncio.to_thread(path.read_bytes)


async def test_a_supervisor_computes_approves_pays_and_downloads_last_month(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    page = await settlement_view(browser, site)
    await expect(page.get_by_test_id("settlement-empty")).to_be_visible()
    await page.get_by_test_id("settlement-compute").click()

    row = page.locator(f"[data-testid=settlement-row][data-provider-id='{site.provider_id}']")
    cells = [
        "鼓楼综合服务社",
        "2",
        "¥95.00",
        "¥15.00",
        "¥80.00",
        "¥0.00",
        "72",
        "5% · ¥4.75",
        "0 · ¥0.00",
        "¥90.25",
        "草稿",
    ]
    await expect(row.locator("td:not(.row-actions)")).to_have_text(cells)
    await expect(page.get_by_test_id("settlement-total-net")).to_have_text("¥90.25")

    async with httpx.AsyncClient(base_url=site.base) as http:  # another supervisor approves it meanwhile
        headers = await login(http, "supervisor", DEMO_PASSWORD)
        listed = (await http.get("/api/v1/settlements", params={"month": site.month}, headers=headers)).json()
        [statement] = listed["items"]
        approved = await http.post(f"/api/v1/settlements/{statement['id']}/approve", headers=headers)
        assert approved.status_code == 200, approved.text
    await row.get_by_test_id("settlement-approve").click()
    await row.get_by_test_id("settlement-approve-confirm").click()
    await expect(page.get_by_test_id("settlement-error")).to_have_text("该结算单已是“已审核”，请刷新后再操作")
    await expect(row.get_by_test_id("settlement-state")).to_have_text("已审核")

    await row.get_by_test_id("settlement-paid").click()
    await expect(row).to_contain_text("确认已付款 ¥90.25？")
    await row.get_by_test_id("settlement-paid-confirm").click()
    await expect(row.get_by_test_id("settlement-state")).to_have_text("已付款")
    await expect(row.get_by_test_id("settlement-paid")).to_have_count(0)
    assert await problems(page, "zh-CN") == {}
    await page.screenshot(path=screenshot_dir(tmp_path) / "console-settlement.png")

    statement_book = load_workbook(io.BytesIO(await downloaded(page, "statement-xlsx")))
    summary = {r[0]: r[1] for r in statement_book["结算汇总"].iter_rows(values_only=True)}
    assert (summary["服务商"], summary["有效服务次数"], summary["应付金额(元)"], summary["状态"]) == (
        PROVIDER_NAME,
        "2",
        "90.25",
        "已支付",
    )
    assert statement_book["服务明细"].max_row == 1 + 2

    await expect(page.get_by_test_id("claim-district")).to_have_value("鼓楼区")
    claim = load_workbook(io.BytesIO(await downloaded(page, "claim-xlsx")))
    assert list(claim["补贴申领汇总"].iter_rows(values_only=True))[-1] == ("合计", None, 1, "15.00")


async def test_the_reconciliation_tab_shows_the_ledger_check_and_a_day_s_mismatch_in_english(
    browser: Browser, site: Site
) -> None:
    page = await settlement_view(browser, site, "en")
    await page.get_by_test_id("settlement-tab-reconciliation").click()
    check = page.get_by_test_id("ledger-check")
    await expect(check).to_have_attribute("data-balanced", "true")
    await expect(check).to_contain_text("The ledger balances")
    day = page.get_by_test_id("reconciliation-row")
    await expect(day).to_have_count(1)
    await expect(day.get_by_test_id("reconciliation-mismatches")).to_have_text("1")
    await day.get_by_test_id("reconciliation-expand").press("Enter")  # by keyboard
    await expect(day.get_by_test_id("reconciliation-expand")).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_test_id("mismatch-row").locator("td")).to_have_text(
        ["Payment", TRADE_NUMBER, "¥40.00", "missing"]
    )
    assert await problems(page, "en") == {}


async def test_services_to_review_lists_what_is_not_evidenced_and_by_the_filter_what_is(
    browser: Browser, site: Site
) -> None:
    window = f"{site.month[5:]}-10 11:00–12:00"  # the services' window, Shanghai time
    page = await settlement_view(browser, site)
    await page.get_by_test_id("settlement-tab-evidence").click()
    rows = page.get_by_test_id("evidence-row")
    await expect(rows).to_have_count(1)
    unevidenced = page.locator(f"[data-testid=evidence-row][data-order-id='{site.unevidenced_order_id}']")
    await expect(unevidenced.get_by_test_id("evidence-missing-item")).to_have_text(
        ["签到", "签退", "老人确认"]
    )
    await expect(unevidenced.locator("td")).to_have_text(
        [f"#{site.unevidenced_order_id}", "助浴", window, "老人", "测试", "签到签退老人确认", "—", "—"]
    )
    assert await problems(page, "zh-CN") == {}

    await page.get_by_test_id("evidence-state").select_option("evidenced")
    await expect(rows).to_have_count(2)
    far = page.locator(f"[data-testid=evidence-row][data-order-id='{site.far_order_id}']")
    await expect(far.locator("td")).to_have_text(
        [f"#{site.far_order_id}", "助餐", window, "老人", "测试", "—", f"距住址 {site.far_m} 米", "查看照片"]
    )
    await expect(page.get_by_test_id("evidence-row").get_by_test_id("evidence-order")).to_have_text(
        [f"#{site.near_order_id}", f"#{site.far_order_id}"]
    )
    href = await far.get_by_test_id("evidence-photo").get_attribute("href")
    photo = await page.request.get(f"{site.base}{href}")  # the console's session cookie
    assert (photo.status, photo.headers["content-type"], await photo.body()) == (200, "image/png", PNG)
    await page.get_by_test_id("evidence-state").select_option("flagged")
    await expect(rows).to_have_count(1)
    await expect(far).to_be_visible()
    assert await problems(page, "zh-CN") == {}

    english = await settlement_view(browser, site, "en")
    await english.get_by_test_id("settlement-tab-evidence").click()
    await expect(english.get_by_test_id("evidence-missing-item")).to_have_text(
        ["check-in", "check-out", "elder's confirmation"]
    )
    await expect(english.get_by_test_id("evidence-state").locator("option:checked")).to_have_text(
        "Incomplete (not paid)"
    )
    assert await problems(english, "en") == {}
    order = english.get_by_test_id("evidence-order")
    await order.focus()
    await order.press("Enter")  # by keyboard, to the order on the orders board
    await expect(english.get_by_test_id("order-detail")).to_have_attribute(
        "data-order-id", str(site.unevidenced_order_id)
    )


async def test_an_agent_has_no_settlement_view(browser: Browser, site: Site) -> None:
    page = await console_as(browser, site.base, "agent1")
    await expect(page.get_by_test_id("view-calls")).to_be_visible()
    await expect(page.get_by_test_id("view-settlement")).to_have_count(0)
