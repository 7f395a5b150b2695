"""The care-call worklist and the complaints desk in real headless Chromium against a real `dispatch serve`
process (SQLite, in-process bus, SMS to the outbox): a supervisor makes the week's care calls, an agent
records one elder reached and one not reached twice (handed to the community worker); an agent registers
a complaint against a provider and the supervisor investigates and resolves it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect
from pypinyin import Style, lazy_pinyin

from tests.console.test_console_browser import Site, logged_in
from tests.console.test_service_desk_browser import Client
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
ELDER_NOTE = "近期腿脚不便，需要助浴"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("care")
    # The service-desk timer would schedule the care calls itself: keep it asleep so the button does.
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(free_port()), DISPATCH_DESK_TICK_SECONDS="3600")
    seeded = run(["seed-demo", "--elders", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=0, data_dir=tmp_path / "var")


@asynccontextmanager
async def api_as(site: Site, username: str) -> AsyncIterator[Client]:
    """A REST session of one demo operator."""
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
        assert login.status_code == 200, login.text
        yield Client(http)


def today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


def care_row(page: Page, care_call_id: int) -> Locator:
    return page.locator(f"[data-testid=carecall-row][data-care-call-id='{care_call_id}']")


def complaint_row(page: Page, complaint_id: int) -> Locator:
    return page.locator(f"[data-testid=complaint-row][data-complaint-id='{complaint_id}']")


async def schedule_from_the_console(browser: Browser, site: Site, supervisor: Client) -> None:
    """The supervisor's button makes a care call for every seeded elder and says how many."""
    page = await logged_in(browser, site, "supervisor")
    await page.get_by_test_id("view-carecalls").click()
    await page.get_by_test_id("carecall-schedule").click()
    await expect(page.get_by_test_id("carecall-scheduled")).to_have_text(
        re.compile(r"^新生成 \d+ 项探访任务$")
    )
    shown = int(re.sub(r"\D", "", await page.get_by_test_id("carecall-scheduled").inner_text()))
    elders = await supervisor.get("/api/v1/elders", limit=500)
    planned = await supervisor.get("/api/v1/care-calls", state="scheduled", limit=500)
    assert shown == planned["total"] == elders["total"] == 40
    assert {c["elder_id"] for c in planned["items"]} == {e["id"] for e in elders["items"]}
    assert {c["operator_name"] for c in planned["items"]} == {"坐席一号", "坐席二号"}


async def record(page: Page, *, reached: bool, notes: str, elder_notes: str = "") -> None:
    form = page.get_by_test_id("carecall-form")
    await form.get_by_test_id("carecall-reached-yes" if reached else "carecall-reached-no").check()
    await form.get_by_test_id("carecall-notes").fill(notes)
    if elder_notes:
        await form.get_by_test_id("carecall-elder-notes").fill(elder_notes)
    await form.get_by_test_id("carecall-submit").click()


async def test_care_calls_are_scheduled_recorded_and_escalated_from_the_console(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    async with api_as(site, "supervisor") as supervisor, api_as(site, "agent1") as agent:
        await schedule_from_the_console(browser, site, supervisor)
        due = await agent.get("/api/v1/care-calls", mine="true", state="scheduled", due_by=today(), limit=500)
        assert due["total"] >= 2, "the first day of the week's spread falls today"

        page = await logged_in(browser, site, "agent1")
        await page.get_by_test_id("view-carecalls").click()
        rows = page.get_by_test_id("carecall-row")
        await expect(rows).to_have_count(due["total"])
        shown = {int(i) for i in await rows.evaluate_all("rows => rows.map(r => r.dataset.careCallId)")}
        assert shown == {c["id"] for c in due["items"]}
        await expect(page.get_by_test_id("carecall-schedule")).to_have_count(0)  # agents cannot schedule

        reached, unreached = due["items"][0], due["items"][1]
        await care_row(page, reached["id"]).click()
        await expect(page.get_by_test_id("carecall-detail")).to_contain_text(reached["elder_name"])
        await page.get_by_test_id("carecall-notes").fill("身体还好")
        await page.get_by_test_id("carecall-elder-notes").fill(ELDER_NOTE)
        await page.screenshot(path=tmp_path / "care-calls.png")
        await record(page, reached=True, notes="身体还好", elder_notes=ELDER_NOTE)
        await expect(care_row(page, reached["id"])).to_have_count(0)
        await expect(page.get_by_role("status")).to_have_text("探访已完成")
        done = await agent.get(f"/api/v1/care-calls/{reached['id']}")
        assert (done["state"], done["attempts"], done["completed_by"]) == ("done", 1, "agent1")
        elder = await agent.get(f"/api/v1/elders/{reached['elder_id']}")
        assert elder["notes"].endswith(f"{today()} 探访: {ELDER_NOTE}")

        await care_row(page, unreached["id"]).click()
        await record(page, reached=False, notes="无人接听")
        await expect(care_row(page, unreached["id"]).get_by_test_id("carecall-attempts")).to_have_text("1")
        await expect(page.get_by_role("status")).to_have_text("已记录：未接通（第 1 次）")
        await expect(page.get_by_test_id("carecall-log")).to_contain_text("无人接听")
        await record(page, reached=False, notes="仍无人接听")
        await expect(care_row(page, unreached["id"])).to_have_count(0)
        await expect(page.get_by_role("status")).to_contain_text("已转社区助老员")
        await expect(page.get_by_test_id("carecalls-count")).to_have_text(str(due["total"] - 2))

        escalated = await agent.get(f"/api/v1/care-calls/{unreached['id']}")
        assert (escalated["state"], escalated["attempts"], escalated["escalation_reason"]) == (
            "escalated",
            2,
            "unreached",
        )
        visits = await agent.get(
            "/api/v1/care-calls", elder_id=unreached["elder_id"], assignee="community_worker"
        )
        [visit] = visits["items"]
        assert (visit["state"], visit["channel"], visit["escalated_from_id"], visit["due_on"]) == (
            "scheduled",
            "visit",
            unreached["id"],
            today(),
        )


async def create_from_the_form(
    page: Page, provider: dict[str, Any], text: str, elder: dict[str, Any] | None = None
) -> None:
    await page.get_by_test_id("view-complaints").click()
    await page.get_by_test_id("new-complaint").click()
    form = page.get_by_test_id("complaint-form")
    await form.get_by_test_id("complaint-provider").select_option(str(provider["id"]))
    await form.get_by_test_id("complaint-text-input").fill(text)
    if elder is not None:  # linked by the elder's pinyin initials, and to a call by its number
        initials = "".join(lazy_pinyin(elder["name"], style=Style.FIRST_LETTER))
        await form.get_by_test_id("elder-search").fill(initials)
        await form.locator(f"[data-testid=elder-option][data-elder-id='{elder['id']}']").click()
        await expect(form.get_by_test_id("picked-elder")).to_contain_text(elder["name"])
        await form.get_by_test_id("complaint-call").fill(str(elder["call_id"]))
    await form.get_by_test_id("complainant-name").fill("王女士")
    await form.get_by_test_id("complainant-phone").fill("13800138000")
    await form.get_by_test_id("complaint-submit").click()
    await expect(form).to_have_count(0)


async def test_an_agent_registers_a_complaint_and_the_supervisor_resolves_it(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    async with api_as(site, "agent1") as agent:
        provider = (await agent.get("/api/v1/providers", status="active", limit=1))["items"][0]
        elder = (await agent.get("/api/v1/elders", limit=1))["items"][0]
        call = await agent.post(
            "/api/v1/calls", {"elder_id": elder["id"], "category": "complaint"}, status=201
        )
        elder["call_id"] = call["id"]
        page = await logged_in(browser, site, "agent1")
        await create_from_the_form(page, provider, "保洁员没有按约定时间上门，电话也打不通", elder)

        [complaint] = (await agent.get("/api/v1/complaints", provider_id=provider["id"]))["items"]
        assert (complaint["kind"], complaint["source"], complaint["target"]) == (
            "complaint",
            "phone",
            "provider",
        )
        assert (complaint["elder_id"], complaint["call_id"]) == (elder["id"], elder["call_id"])
        assert (complaint["state"], complaint["assigned_name"]) == ("assigned", "supervisor")
        assert (complaint["complainant_name"], complaint["complainant_phone"]) == ("王女士", "138****8000")
        full = await agent.get(f"/api/v1/complaints/{complaint['id']}")
        assert full["complainant_phone"] == "+8613800138000"  # one complaint, read whole (audited)
        row = complaint_row(page, complaint["id"])
        await expect(row.get_by_test_id("complaint-assignee")).to_have_text("supervisor")
        await expect(row.get_by_test_id("complaint-target")).to_have_text(provider["name"])
        detail = page.get_by_test_id("complaint-detail")
        await expect(detail).to_contain_text("保洁员没有按约定时间上门，电话也打不通")
        await expect(detail).to_contain_text("王女士 +8613800138000")
        await expect(detail.get_by_test_id("complaint-resolve-submit")).to_have_count(0)  # agents cannot

        boss = await logged_in(browser, site, "supervisor")
        await boss.get_by_test_id("view-complaints").click()
        await complaint_row(boss, complaint["id"]).click()
        detail = boss.get_by_test_id("complaint-detail")
        await detail.get_by_test_id("complaint-note-input").fill("已联系服务商核实，保洁员当天迟到两小时")
        await detail.get_by_test_id("complaint-note-submit").click()
        await expect(detail.get_by_test_id("complaint-notes")).to_contain_text("已联系服务商核实")
        await detail.get_by_test_id("complaint-resolution").fill("服务商已道歉并免费补做一次保洁")
        await detail.get_by_test_id("complaint-upheld").check()
        await detail.get_by_test_id("complaint-informed-how").select_option("phone")
        await boss.screenshot(path=tmp_path / "complaints.png")
        await detail.get_by_test_id("complaint-resolve-submit").click()
        await expect(complaint_row(boss, complaint["id"])).to_have_count(0)
        await expect(boss.get_by_role("status")).to_have_text(f"投诉 #{complaint['id']} 已办结")
        await expect(detail.get_by_test_id("complaint-state")).to_have_text("已办结")

        await boss.get_by_test_id("complaints-tab-resolved").click()
        await expect(complaint_row(boss, complaint["id"])).to_have_attribute("data-state", "resolved")
        resolved = await agent.get(f"/api/v1/complaints/{complaint['id']}")
        assert (resolved["state"], resolved["upheld"], resolved["informed_how"]) == (
            "resolved",
            True,
            "phone",
        )
        assert resolved["resolution"] == "服务商已道歉并免费补做一次保洁"
        assert [(n["by"], n["text"]) for n in resolved["notes"]] == [
            ("supervisor", "已联系服务商核实，保洁员当天迟到两小时")
        ]
