"""Supervision and administration in real headless Chromium: an admin sees who is logged in, signs an agent
out everywhere, creates an account, reads the audit log and the settings (secrets hidden); a supervisor sees
only the agents' quality figures."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.console.pages import console_as
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = env_for(tmp_path_factory.mktemp("admin"))
    seeded = run(["seed-demo", "--elders", "10"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as url:
        yield url


async def test_an_admin_signs_an_agent_out_creates_an_account_and_reads_audit_and_settings(
    base: str, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=base) as agent2:
        login = await agent2.post("/api/v1/auth/login", json={"username": "agent2", "password": "demo"})
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        page = await console_as(browser, base, "admin")
        await page.get_by_test_id("view-admin").click()
        row = page.locator("[data-testid=operator-row][data-username=agent2]")
        await expect(row.get_by_test_id("operator-online")).to_have_text("在线")
        await expect(
            page.locator("[data-testid=operator-row][data-username=agent1]").get_by_test_id("operator-online")
        ).to_have_text("未登录")
        await row.get_by_test_id("operator-sign-out").click()
        await expect(row.get_by_test_id("operator-online")).to_have_text("未登录")
        assert (await agent2.get("/api/v1/auth/me", headers=token)).status_code == 401

    form = page.get_by_test_id("new-operator")
    await form.locator("input[name=username]").fill("agent9")
    await form.locator("input[name=display_name]").fill("坐席九号")
    await form.locator("input[name=password]").fill("a long enough password")
    await form.get_by_role("button").click()
    await expect(page.locator("[data-testid=operator-row][data-username=agent9]")).to_contain_text("坐席九号")

    await page.get_by_test_id("admin-tab-audit").click()
    await page.get_by_test_id("audit-action").fill("operator.sign_out")
    await expect(page.get_by_test_id("audit-row")).to_have_count(1)
    await expect(page.get_by_test_id("audit-row")).to_contain_text("admin")

    await page.get_by_test_id("admin-tab-settings").click()
    secret = page.get_by_test_id("settings-table").locator("tr", has_text="DISPATCH_SECRET_KEY")
    await expect(secret).to_contain_text("••••••")
    await expect(page.get_by_test_id("settings-table")).not_to_contain_text("insecure-dev-secret")


async def test_a_supervisor_sees_only_the_agents_quality(base: str, browser: Browser) -> None:
    page = await console_as(browser, base, "supervisor")
    await page.get_by_test_id("view-admin").click()
    await expect(page.locator("[role=tab]")).to_have_count(1)
    await expect(page.locator("[data-testid=agent-quality-row][data-username=agent1]")).to_contain_text(
        "坐席一号"
    )
    agent = await console_as(browser, base, "agent1")
    await expect(agent.get_by_test_id("view-admin")).to_have_count(0)
