"""The provider's job page in real headless Chromium on a phone (390x844, emulated position) against a real
`dispatch serve` (SQLite, SMS to the outbox): the link from the offer SMS → accept → check in at the home
(not flagged) → items → photo → the code texted to the elder → check out → evidenced exactly once; a second
order checked in far away is flagged; an expired and a tampered link are refused; axe-clean in both languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Geolocation, Page, ViewportSize, expect

from dispatch.jobpage import tokens
from tests.console.every_view import AXE
from tests.factories import elder_payload, provider_payload
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow

SECRET = "job-page-browser-test-secret-key"
PASSWORD = "job-page-pass"
CLEANER = "+8613900000071"
HOME = {"lon": 119.2985, "lat": 26.083}
FAR = Geolocation(longitude=119.2985, latitude=26.093)  # 1.1 km north of the home
PHONE = ViewportSize(width=390, height=844)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
LINK = re.compile(r"(https?://\S+/p/\S+)$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Site:
    base: str
    http: httpx.AsyncClient  # logged in as an admin (the agents' and supervisors' routes too)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("jobpage")
    port = free_port()
    env = env_for(
        tmp_path,
        DISPATCH_SECRET_KEY=SECRET,
        DISPATCH_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DISPATCH_DESK_TICK_SECONDS="3600",
    )
    assert run(["db", "upgrade"], env).returncode == 0
    made = run(["create-operator", "boss", "--role", "admin", "--password-stdin"], env, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    with server(["serve"], env, port=port) as base:
        yield base


@pytest.fixture
async def site(served: str) -> AsyncIterator[Site]:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD})
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield Site(base=served, http=http)


async def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def cleaner(site: Site) -> None:
    """The one active cleaner, based at the demo home, open every day."""
    if (await _json(await site.http.get("/api/v1/providers", params={"q": "洁家"})))["total"]:
        return
    body = provider_payload(
        name="洁家保洁",
        phone=CLEANER,
        service_types=["cleaning"],
        base_location={"lon": 119.2985, "lat": 26.084},
        price_list=[
            {"service_type": "cleaning", "item": "日常保洁2小时", "unit": "次", "price_cents": 8000},
            {"service_type": "cleaning", "item": "擦窗", "unit": "扇", "price_cents": 1000},
        ],
        working_hours=[{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}],
    )
    provider = await _json(await site.http.post("/api/v1/providers", json=body), 201)
    status = {"status": "active", "reason": "准入审核通过"}
    await _json(await site.http.post(f"/api/v1/providers/{provider['id']}/status", json=status))


async def ordered(site: Site, name: str, phone: str, hour: int) -> tuple[dict[str, Any], str]:
    """A cleaning order tomorrow for a new elder: the order and the link in the cleaner's offer SMS."""
    await cleaner(site)
    elder = elder_payload(name=name, phone=phone, home_location=HOME)
    created = await _json(await site.http.post("/api/v1/elders", json=elder), 201)
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    start = datetime.combine(day, clock_time(hour), SHANGHAI)
    body = {
        "elder_id": created["id"],
        "service_type": "cleaning",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
    }
    order = await _json(await site.http.post("/api/v1/service-orders", json=body), 201)
    match = LINK.search((await texts_to(site, CLEANER))[-1])
    assert match is not None
    return order, match[1]


async def texts_to(site: Site, number: str) -> list[str]:
    """Every text to this number, oldest first, read whole."""
    listed = await _json(await site.http.get("/api/v1/sms/outbox", params={"limit": 200}))
    ids = [m["id"] for m in reversed(listed["items"]) if m["to"] == number]
    return [(await _json(await site.http.get(f"/api/v1/sms/{i}")))["body"] for i in ids]


async def phone(browser: Browser, position: Geolocation | None) -> BrowserContext:
    """A phone-sized browser with (or without) a position to give."""
    if position is None:
        return await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, geolocation=position, permissions=["geolocation"]
    )


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every axe-core WCAG 2.1 A/AA violation on the page as it is now, of any impact."""
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
            return result.violations.map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target.join(' ')) }));
        }"""
    )
    return found


async def fits_the_phone(page: Page) -> None:
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


async def test_a_provider_proves_a_visit_on_the_job_page_and_it_is_evidenced_once(
    browser: Browser, site: Site
) -> None:
    order, link = await ordered(site, "林淑珍", "13905910071", hour=9)
    context = await phone(browser, Geolocation(longitude=HOME["lon"], latitude=HOME["lat"]))
    page = await context.new_page()
    await page.goto(link)
    accept = page.get_by_role("button", name="接单", exact=True)
    await expect(accept).to_be_visible()
    await expect(page.get_by_test_id("service")).to_have_text("保洁")
    start = datetime.fromisoformat(order["window_start"]).astimezone(SHANGHAI)
    # The window as the offer SMS says it, in Shanghai time.
    await expect(page.get_by_test_id("window")).to_have_text(f"{start:%m-%d} 09:00–11:00")
    await expect(page.locator("main")).not_to_contain_text("null")
    await expect(page.get_by_text("林淑珍")).to_have_count(0)  # no elder before acceptance
    assert await axe_violations(page) == []
    await fits_the_phone(page)
    box = await accept.bounding_box()
    assert box is not None
    assert box["height"] >= 44

    await accept.click()
    await expect(page.get_by_test_id("elder-name")).to_have_text("林淑珍")
    await expect(page.get_by_role("link", name="+8613905910071")).to_have_attribute(
        "href", "tel:+8613905910071"
    )
    amap = page.get_by_role("link", name="高德地图")
    await expect(amap).to_have_attribute(
        "href", re.compile(r"^https://uri\.amap\.com/marker\?position=119\.298500,26\.083000&name=")
    )
    await expect(page.get_by_role("link", name="百度地图")).to_have_attribute(
        "href", re.compile(r"api\.map\.baidu\.com/marker")
    )

    await page.get_by_role("button", name="到达签到（获取位置）").click()
    await expect(page.get_by_test_id("checkin")).to_have_text("已签到，距老人家 0 米")
    await expect(page.get_by_test_id("flag")).to_have_count(0)

    await page.get_by_label("日常保洁2小时 数量").fill("1")
    await page.get_by_label("擦窗 数量").fill("2")
    await page.get_by_role("button", name="保存服务项目").click()
    await expect(page.get_by_test_id("message")).to_have_text("服务项目已保存")

    await page.get_by_label("选择或拍摄照片（JPEG/PNG/WebP）").set_input_files(
        {"name": "visit.jpg", "mimeType": "image/jpeg", "buffer": JPEG}
    )
    await expect(page.get_by_test_id("message")).to_have_text("照片已上传")

    code = re.search(r"确认码(\d{6})", (await texts_to(site, "+8613905910071"))[-1])
    assert code is not None
    await page.get_by_label("6 位确认码").fill(code[1])
    await page.get_by_role("button", name="提交确认码").click()
    await expect(page.get_by_test_id("confirmed")).to_have_text("老人已确认")
    assert await axe_violations(page) == []

    await page.get_by_role("button", name="完成签退").click()
    await expect(page.get_by_test_id("evidenced")).to_be_visible()
    await fits_the_phone(page)

    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_test_id("evidenced")).to_have_text("The service is fully evidenced. Thank you!")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_text("服务凭证已齐全")).to_have_count(0)  # one language at a time
    assert await axe_violations(page) == []

    evidenced = await _json(await site.http.get("/api/v1/service-evidence", params={"state": "evidenced"}))
    [mine] = [i for i in evidenced["items"] if i["order_id"] == order["id"]]
    assert (mine["confirmed_by"], mine["checkin_flag"], mine["photo"]) == ("code", None, True)
    assert [(i["item"], i["quantity"]) for i in mine["items"]] == [("日常保洁2小时", 1), ("擦窗", 2)]
    audit = await _json(
        await site.http.get(
            "/api/v1/audit", params={"action": "service_evidence.evidenced", "entity_id": order["id"]}
        )
    )
    assert audit["total"] == 1
    done = await _json(await site.http.get(f"/api/v1/service-orders/{order['id']}"))
    # charged at the items done (80 + 2 x 10 yuan), all of it the 低保 elder's subsidy (cleaning's cap: 100)
    assert (done["state"], done["price_cents"], done["subsidy_cents"], done["self_pay_cents"]) == (
        "completed",
        10000,
        10000,
        0,
    )
    allowance = await _json(await site.http.get(f"/api/v1/elders/{order['elder_id']}/allowance"))
    assert allowance["spent_fen"] == 10000  # charged once
    await context.close()


async def test_a_check_in_far_from_the_home_is_flagged_not_refused(browser: Browser, site: Site) -> None:
    order, link = await ordered(site, "王桂兰", "13905910072", hour=14)
    context = await phone(browser, FAR)
    page = await context.new_page()
    await page.goto(link)
    await page.get_by_role("button", name="接单", exact=True).click()
    await page.get_by_role("button", name="到达签到（获取位置）").click()
    await expect(page.get_by_test_id("flag")).to_have_text("距离较远，已标记待核查")
    await expect(page.get_by_test_id("checkin")).to_have_text(re.compile(r"^已签到，距老人家 11\d\d 米$"))
    assert (await _json(await site.http.get(f"/api/v1/service-orders/{order['id']}")))[
        "state"
    ] == "in_progress"
    flagged = await _json(await site.http.get("/api/v1/service-evidence", params={"state": "flagged"}))
    assert [i["checkin_flag"] for i in flagged["items"] if i["order_id"] == order["id"]] == ["far"]
    await context.close()


async def test_an_expired_and_a_tampered_link_are_refused(browser: Browser, site: Site) -> None:
    order, link = await ordered(site, "陈秀英", "13905910073", hour=16)
    offer = (await _json(await site.http.get(f"/api/v1/service-orders/{order['id']}")))["job"]["offers"][0]
    expired = tokens.make_token(SECRET, offer["id"], datetime.now(UTC) - timedelta(minutes=1))
    context = await phone(browser, None)
    page = await context.new_page()
    response = await page.goto(f"{site.base}/p/{expired}")
    assert response is not None
    assert response.status == 410
    await expect(page.get_by_role("heading", name="链接已过期")).to_be_visible()
    assert await axe_violations(page) == []
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    response = await page.goto(tampered)
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("heading", name="链接无效")).to_be_visible()
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Invalid link")).to_be_visible()
    await fits_the_phone(page)
    await context.close()
