"""An agent's seat in real headless Chromium against a real `dispatch serve` (SQLite, Redis bus): the seat
state in the header, the screen-pop when a call is offered (within a second of the announcement), the
call panel once the desk phone answers, the record the call opens, and an unknown caller found by name."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from dispatch.bus.outbox import commit_and_publish
from dispatch.bus.redis import RedisBus
from dispatch.clock import SystemClock
from dispatch.localtime import LOCAL_TZ
from dispatch.voice import agents as voice_agents
from dispatch.voice import service as voice_service
from dispatch.voice.models import CallerKind, PhoneCall, PhoneCallState, PhoneCategory, PhoneOutcome
from tests.console.phone_support import (
    PhoneSite,
    add_phone_call,
    announce,
    answered,
    database,
    elders_with_phones,
    offer,
    operator,
    phone_call_json,
    rest,
    screenshot_dir,
    the_most_ailing_elder,
)

pytestmark = pytest.mark.slow


async def logged_in(browser: Browser, site: PhoneSite, username: str, *, lang: str = "zh-CN") -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{site.base}/console/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    # The resync came: the server listens for this console, so an announced message reaches it.
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-synced", "true")
    return page


async def answer_on_the_desk_phone(
    site: PhoneSite, phone_call_id: int, agent_id: int, agent_name: str
) -> None:
    """What the telephony does when the agent picks up: the call is talking, then announced."""
    async with database(site) as session:
        pc = await session.get(PhoneCall, phone_call_id)
        assert pc is not None
        pc.state = PhoneCallState.talking
        pc.answered_at = datetime.now(UTC) - timedelta(seconds=5)
        pc.agent_id = agent_id
        pc.agent_name = agent_name
        await session.commit()
    message = await phone_call_json(site, phone_call_id)
    await announce(site, {"type": "phone", "change": "answered", "phone_call": message})


async def test_an_agent_sets_ready_in_the_header_and_sees_the_telephonys_states(
    phone_site: PhoneSite, browser: Browser
) -> None:
    agent = await operator(phone_site, "agent1")
    page = await logged_in(browser, phone_site, "agent1")
    seat = page.get_by_test_id("agent-state")
    await page.get_by_test_id("agent-state-select").select_option("ready")
    await expect(seat).to_have_attribute("data-state", "ready")
    async with rest(phone_site, "supervisor") as supervisor:
        agents = (await supervisor.get("/api/v1/agents")).json()["items"]
    assert {a["operator_id"]: a["state"] for a in agents}[agent.id] == "ready"

    # The telephony moves the seat on: its states show in the header, wrap-up with its countdown.
    since = datetime.now(UTC).isoformat()
    await announce(
        phone_site,
        {
            "type": "agent",
            "operator_id": agent.id,
            "display_name": agent.name,
            "state": "on_call",
            "since": since,
        },
    )
    await expect(page.get_by_test_id("agent-state-label")).to_have_text("通话中")
    until = (datetime.now(UTC) + timedelta(seconds=25)).isoformat()
    await announce(
        phone_site,
        {
            "type": "agent",
            "operator_id": agent.id,
            "display_name": agent.name,
            "state": "wrap_up",
            "since": since,
            "wrap_up_until": until,
        },
    )
    await expect(page.get_by_test_id("agent-state-label")).to_contain_text("话后整理")
    await expect(page.get_by_test_id("wrap-up-countdown")).to_have_text(re.compile(r"^0:2[0-5]$"))
    await page.get_by_test_id("agent-state-select").select_option("away")
    await expect(seat).to_have_attribute("data-state", "away")


async def test_an_offered_call_pops_the_elders_card_within_a_second_and_answering_opens_the_call(
    phone_site: PhoneSite, browser: Browser, tmp_path: Path
) -> None:
    agent = await operator(phone_site, "agent1")
    elder = await the_most_ailing_elder(phone_site)
    # The elder phoned last week: the card lists it among the last contacts.
    week_ago = datetime.now(UTC) - timedelta(days=7)
    earlier = await add_phone_call(
        phone_site,
        elder_id=elder.id,
        category=PhoneCategory.enquiry,
        **answered(
            queued_at=week_ago,
            offered_at=week_ago,
            answered_at=week_ago,
            created_at=week_ago,
            talk_seconds=95,
        ),
    )
    phone_call_id = await add_phone_call(
        phone_site,
        elder_id=elder.id,
        from_number=elder.phone,
        caller_kind=CallerKind.elder,
        offered_agent_id=agent.id,
    )
    page = await logged_in(browser, phone_site, "agent1")
    bystander = await logged_in(browser, phone_site, "agent2")

    ringing = {"type": "agent", "operator_id": agent.id, "display_name": agent.name, "state": "ringing"}
    await announce(phone_site, {**ringing, "since": datetime.now(UTC).isoformat()})
    await expect(page.get_by_test_id("agent-state-label")).to_have_text("振铃中")
    # The server's first caller card pays for warming up (queries compiled once): measure a later one.
    async with rest(phone_site, "agent1") as http:
        assert (await http.get(f"/api/v1/phone-calls/{earlier}/caller")).status_code == 200
    announced = time.monotonic()
    await offer(phone_site, phone_call_id, agent.id)
    panel = page.get_by_test_id("phone-panel")
    # wait_for watches every animation frame (expect's retries back off to 500 ms steps and would add that).
    await panel.wait_for(state="visible", timeout=1000)
    shown = time.monotonic() - announced
    await panel.get_by_test_id("caller-name").wait_for(state="visible", timeout=1000)
    popped = time.monotonic() - announced
    assert shown < 1.0, f"the panel showed {shown:.2f} s after the offer"
    assert popped < 1.0, f"the card popped {popped:.2f} s after the offer"
    await expect(panel.get_by_test_id("caller-name")).to_have_text(elder.name)
    await expect(panel).to_have_attribute("data-stage", "ringing")
    await expect(page.locator("body")).to_have_attribute("data-phone", "ringing")
    await expect(panel.get_by_test_id("phone-stage")).to_have_text("来电振铃")
    await expect(panel.get_by_test_id("phone-panel-number")).to_have_text(elder.phone)
    # Other tests on this shared server may have phoned this elder too: look for last week's call.
    last_week = week_ago.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")
    await expect(
        panel.get_by_test_id("caller-recent").locator("li", has_text=last_week).filter(has_text="电话")
    ).to_have_count(1)
    await page.screenshot(path=screenshot_dir(tmp_path) / "phone-ringing.png")
    # The offer was for agent1 only.
    await expect(bystander.get_by_test_id("phone-panel")).to_have_count(0)

    await answer_on_the_desk_phone(phone_site, phone_call_id, agent.id, agent.name)
    await expect(panel).to_have_attribute("data-stage", "talking")
    await expect(panel.get_by_test_id("phone-timer")).to_have_text(re.compile(r"^0:(0[5-9]|1\d)$"))
    await expect(page.locator("body")).to_have_attribute("data-phone", "idle")
    await expect(panel.get_by_test_id("phone-hangup")).to_be_visible()

    # An emergency call opens the elder's alarm call (none was open: a new one, acknowledged).
    await panel.get_by_test_id("phone-answer").click()
    await expect(page.locator(".detail .elder-name")).to_have_text(elder.name)
    await expect(page.get_by_test_id("detail-state")).to_have_text("已确认")
    async with rest(phone_site, "agent1") as http:
        calls = (await http.get("/api/v1/calls", params={"elder_id": elder.id})).json()["items"]
    assert [(c["category"], c["priority"], c["state"]) for c in calls] == [("sos", "P1", "acknowledged")]

    # Click-to-call on the elder's number: no telephony here (409), so the agent is told and logs it by hand.
    await page.locator(".profile").get_by_test_id("dial").click()
    await expect(page.get_by_role("status")).to_have_text(
        "无法外呼：系统未配置电话线路。请手工登记这次通话。"
    )
    form = page.get_by_test_id("log-call-form")
    await expect(form.get_by_test_id("log-number")).to_have_value(elder.phone)
    await expect(form.get_by_test_id("log-direction")).to_have_value("outbound")
    await expect(form.get_by_test_id("log-links")).to_have_text(f"警情 #{calls[0]['id']}")


async def test_an_unknown_number_is_said_and_the_elder_found_by_name(
    phone_site: PhoneSite, browser: Browser
) -> None:
    agent = await operator(phone_site, "agent2")
    elder = (await elders_with_phones(phone_site))[1]
    phone_call_id = await add_phone_call(phone_site, from_number="+8617700001234", offered_agent_id=agent.id)
    page = await logged_in(browser, phone_site, "agent2")
    await offer(phone_site, phone_call_id, agent.id)
    panel = page.get_by_test_id("phone-panel")
    await expect(panel.get_by_test_id("caller-unknown")).to_have_text("未知号码")
    await panel.get_by_test_id("caller-search").fill(elder.name)
    await panel.locator(f"[data-testid=caller-search-option][data-elder-id='{elder.id}']").click()
    await expect(panel.get_by_test_id("caller-name")).to_have_text(elder.name)


async def test_after_the_call_the_panel_counts_the_wrap_up_down_and_ready_ends_it(
    phone_site: PhoneSite, browser: Browser
) -> None:
    agent = await operator(phone_site, "agent1")
    elder = (await elders_with_phones(phone_site))[3]
    page = await logged_in(browser, phone_site, "agent1")
    phone_call_id = await add_phone_call(
        phone_site,
        elder_id=elder.id,
        from_number=elder.phone,
        caller_kind=CallerKind.elder,
        category=PhoneCategory.enquiry,
        offered_agent_id=agent.id,
    )
    async with rest(phone_site, "agent1") as http:  # only a ready agent is offered a call
        assert (await http.put("/api/v1/agents/me/state", json={"state": "ready"})).status_code == 200
    clock = SystemClock()
    bus = RedisBus.from_url(phone_site.redis_url)
    # The telephony's steps, through the voice services: answered on the desk phone, then hung up.
    async with database(phone_site) as session:
        pc = await session.get(PhoneCall, phone_call_id)
        assert pc is not None
        pc.state, pc.answered_at, pc.agent_id, pc.agent_name = (
            PhoneCallState.talking,
            clock.now(),
            agent.id,
            agent.name,
        )
        await voice_agents.on_call(
            session=session, clock=clock, operator_id=agent.id, phone_call_id=phone_call_id
        )
        voice_service.announce_phone(session, pc, "answered")
        await commit_and_publish(session, bus)
    panel = page.get_by_test_id("phone-panel")
    await expect(panel).to_have_attribute("data-stage", "talking")
    await expect(page.get_by_test_id("agent-state-label")).to_have_text("通话中")
    await expect(panel.get_by_test_id("phone-note")).to_be_visible()  # an enquiry: the agent notes it

    async with database(phone_site) as session:
        pc = await session.get(PhoneCall, phone_call_id)
        assert pc is not None
        pc.state, pc.outcome, pc.ended_at, pc.talk_seconds = (
            PhoneCallState.ended,
            PhoneOutcome.answered,
            clock.now(),
            42,
        )
        await voice_agents.wrap_up(
            session=session, clock=clock, operator_id=agent.id, phone_call_id=phone_call_id, seconds=30
        )
        voice_service.announce_phone(session, pc, "ended")
        await commit_and_publish(session, bus)
    await expect(panel).to_have_attribute("data-stage", "ended")
    await expect(panel.get_by_test_id("phone-wrap-up")).to_have_text(re.compile(r"^话后整理剩余 0:(2\d|30)$"))
    await expect(page.get_by_test_id("wrap-up-countdown")).to_have_text(re.compile(r"^0:(2\d|30)$"))
    await panel.get_by_test_id("phone-ready").click()
    await expect(panel).to_have_count(0)
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "ready")
    async with rest(phone_site, "agent1") as http:
        mine = [a for a in (await http.get("/api/v1/agents")).json()["items"] if a["operator_id"] == agent.id]
    assert [(a["state"], a["phone_call_id"]) for a in mine] == [("ready", None)]
