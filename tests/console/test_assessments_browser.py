"""An assessment end to end in real headless Chromium against a real `dispatch serve` (SQLite): an agent
enters the application from a call, the supervisor verifies and hands it to the agency, two assessors fill
in the form on a tablet-sized screen (the first loses the connection half-way and loses nothing) and sign,
the supervisor proposes the allowance, the notice runs out, the result is final and its service plan made.
An application for an elder whose assessment is still open is refused, and the console offers that one;
an overdue step's alert names whom to chase."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from dispatch.assessments import scheduled
from dispatch.assessments.instrument import load
from dispatch.clock import SystemClock
from dispatch.db.session import create_engine, create_session_factory
from tests.conftest import sqlite_settings
from tests.console.pages import console_as
from tests.console.test_console_browser import Site
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

TABLET = (820, 1180)
ASSESSORS = ("assessor1", "assessor2")  # the demo's


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("assessments")
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(free_port()), DISPATCH_DESK_TICK_SECONDS="3600")
    seeded = run(["seed-demo", "--elders", "20"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=0, data_dir=tmp_path / "var")


async def assessor_page(browser: Browser, site: Site, username: str, lang: str = "zh-CN") -> Page:
    context = await browser.new_context(viewport={"width": TABLET[0], "height": TABLET[1]}, has_touch=True)
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{site.base}/console/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(
        page.get_by_role("heading", name="待评估" if lang == "zh-CN" else "To assess")
    ).to_be_visible()
    return page


async def answer(page: Page, codes: list[str], option: str) -> None:
    for code in codes:
        item = page.locator(f"[data-testid=assessment-item][data-item='{code}']")
        await item.locator(f"input[value='{option}']").check()


async def call_for_an_elder(
    site: Site, *, with_open_assessment: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A demo elder with (or without) an open assessment, and a call for them; the elder and the call."""
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
        assert login.status_code == 200
        elders = (await http.get("/api/v1/elders", params={"limit": 100})).json()["items"]
        rows = (await http.get("/api/v1/assessments", params={"limit": 200})).json()["items"]
        busy = {row["elder_id"] for row in rows if row["state"] not in ("final", "withdrawn")}
        elder = next(e for e in elders if (e["id"] in busy) == with_open_assessment)
        call = await http.post(
            "/api/v1/calls", json={"elder_id": elder["id"], "priority": "P3", "category": "enquiry"}
        )
        assert call.status_code == 201, call.text
        return elder, call.json()


async def apply_from_the_call(agent: Page, elder: dict[str, Any], call: dict[str, Any]) -> None:
    await agent.locator(f"[data-call-id='{call['id']}']").first.click()
    await agent.get_by_test_id("apply-assessment").click()
    form = agent.get_by_test_id("assessment-form")
    await expect(form.get_by_test_id("picked-elder")).to_contain_text(elder["name"])
    await form.get_by_test_id("material-application_form").check()
    await form.get_by_test_id("material-identity_documents").check()
    await form.get_by_test_id("assessment-submit").click()


async def test_an_application_for_an_elder_with_an_open_one_offers_to_open_that_one(
    browser: Browser, site: Site
) -> None:
    elder, call = await call_for_an_elder(site, with_open_assessment=True)
    agent = await console_as(browser, site.base, "agent1", lang="en")
    await apply_from_the_call(agent, elder, call)
    refused = agent.get_by_test_id("assessment-already-open")
    await expect(refused).to_contain_text("This elder already has an open assessment, #")
    opening = refused.get_by_test_id("open-existing-assessment")
    open_id = (await opening.text_content() or "").removeprefix("Open assessment ")
    await opening.click()
    await expect(agent.get_by_test_id("assessment-form")).to_have_count(0)
    detail = agent.get_by_test_id("assessment-detail")
    await expect(detail).to_have_attribute("data-assessment-id", open_id)
    await expect(detail).to_contain_text(elder["name"])


async def test_an_assessment_from_a_call_to_a_final_level_and_a_service_plan(
    browser: Browser, site: Site
) -> None:
    elder, call = await call_for_an_elder(site, with_open_assessment=False)
    agent = await console_as(browser, site.base, "agent1")
    await apply_from_the_call(agent, elder, call)
    created = agent.get_by_test_id("assessment-detail")  # the new application, opened once registered
    await expect(created.get_by_test_id("detail-state")).to_have_text("已受理（待核实）")
    await expect(created).to_contain_text(elder["name"])
    assessment_id = int(await created.get_attribute("data-assessment-id") or 0)

    supervisor = await console_as(browser, site.base, "supervisor")
    await supervisor.get_by_test_id("view-assessments").click()
    await supervisor.locator(f"[data-testid=assessment-row][data-assessment-id='{assessment_id}']").click()
    await supervisor.get_by_test_id("assessment-to-verified").click()
    await expect(supervisor.get_by_test_id("detail-state")).to_have_text("已核实（待组织评估）")
    await supervisor.get_by_test_id("assessment-to-organised").click()
    await expect(supervisor.get_by_test_id("detail-state")).to_have_text("评估中")

    items = list(load().items)
    first = await assessor_page(browser, site, ASSESSORS[0])
    await first.locator(f"[data-testid=assess-open][data-assessment-id='{assessment_id}']").click()
    await answer(first, items[:11], "4")  # self-care 8 × 4, and three motor items × 4: 44 points
    await expect(first.get_by_test_id("save-status")).to_have_attribute("data-status", "saved")
    await first.context.set_offline(True)  # the connection drops half-way through the form
    await answer(first, items[11:], "0")
    await first.get_by_test_id("finding-dementia").check()
    await first.get_by_test_id("need-economic").select_option("subsistence_allowance")
    await expect(first.get_by_test_id("save-status")).to_have_attribute(
        "data-status", "offline", timeout=10_000
    )
    await expect(first.get_by_test_id("assessment-progress")).to_have_text(
        f"已答 {len(items)} / {len(items)} 项"
    )
    await first.context.set_offline(False)
    await first.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(first.get_by_test_id("save-status")).to_have_attribute(
        "data-status", "saved", timeout=10_000
    )
    await first.get_by_test_id("assessment-sign").click()
    await expect(first.get_by_test_id("assessor-message")).to_contain_text("等待第二位评估员签名")

    second = await assessor_page(browser, site, ASSESSORS[1])
    await second.locator(f"[data-testid=assess-open][data-assessment-id='{assessment_id}']").click()
    await expect(second.get_by_test_id("assessment-progress")).to_have_text(
        f"已答 {len(items)} / {len(items)} 项"
    )
    await second.get_by_test_id("assessment-sign").click()
    await expect(second.get_by_test_id("assessor-message")).to_contain_text("已完成")

    # 44 points: level 3 (30-45); the diagnosed dementia raises it to 4.
    await supervisor.reload()
    await supervisor.get_by_test_id("view-assessments").click()
    await supervisor.locator(f"[data-testid=assessment-row][data-assessment-id='{assessment_id}']").click()
    await supervisor.get_by_test_id("assessment-note").fill("拟享受养老服务补贴")
    await supervisor.get_by_test_id("assessment-to-public_notice").click()
    await expect(supervisor.get_by_test_id("detail-state")).to_have_text("公示中")
    with sqlite3.connect(site.data_dir / "dispatch.sqlite3") as db:  # the 7 days of the notice pass
        db.execute(
            "UPDATE assessment SET due_on = ? WHERE id = ?",
            ((date.today() - timedelta(days=2)).isoformat(), assessment_id),
        )
    await supervisor.get_by_test_id("assessment-to-final").click()
    await expect(supervisor.get_by_test_id("detail-state")).to_have_text("已办结")
    await expect(supervisor.get_by_test_id("detail-level")).to_have_text("完全失能")
    plan = supervisor.get_by_test_id("service-plan")
    await expect(plan).to_contain_text("护理 · 每周 7 次")
    await plan.get_by_test_id("make-plans").click()
    await expect(supervisor.get_by_role("status")).to_contain_text("已生成 5 项服务计划")


async def test_an_overdue_step_s_alert_names_whom_to_chase_in_the_console_s_language(
    browser: Browser, site: Site
) -> None:
    engine = create_engine(sqlite_settings(site.data_dir))  # the desk's timer, run once by hand
    try:
        async with create_session_factory(engine)() as session:
            assert await scheduled.alert_overdue(session=session, clock=SystemClock()) >= 2
            await session.commit()
    finally:
        await engine.dispose()

    supervisor = await console_as(browser, site.base, "supervisor", lang="en")
    overdue = supervisor.locator("[data-testid=alert-item][data-kind=assessment_overdue] .alert-text")
    # the demo's verification a month late, and the agency's assessment 40 days late
    await expect(
        overdue.filter(has_text='at "accepted (to verify)" · owner: the street office')
    ).to_have_count(1)
    await expect(overdue.filter(has_text='at "being assessed" · owner: the assessment agency')).to_have_count(
        1
    )
    await supervisor.get_by_role("button", name="中文").click()
    await expect(overdue.filter(has_text="的“已受理（待核实）”环节")).to_contain_text("· 责任方：街道办")
    await expect(overdue.filter(has_text="的“评估中”环节")).to_contain_text("· 责任方：评估机构")
