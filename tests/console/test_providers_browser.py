"""The providers view in real headless Chromium against a real `dispatch serve` process (SQLite, in-process
bus): a supervisor completes the pending demo provider's admission checklist and admits it, then suspends
meal providers until the district falls below the minimum, and sees the warning, the alert and the red
coverage cell; a supervisor records a provider's 养老护理员证, which the detail then shows in both languages;
an agent sees the view without the supervisors' controls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from dispatch.matching.qualifications import CARE_CERTIFICATE
from dispatch.providers.admission import ADMISSION_LABELS_ZH, AdmissionCriterion
from tests.console.test_complaints_care_browser import api_as
from tests.console.test_console_browser import Site, logged_in
from tests.console.test_service_desk_browser import Client
from tests.test_cli import env_for, free_port, run, server

pytestmark = pytest.mark.slow


MEALS = "meal_assistance"
RED = "rgb(198, 40, 40)"  # --p1


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("providers")
    env = env_for(tmp_path, DISPATCH_WATCH_PORT=str(free_port()), DISPATCH_DESK_TICK_SECONDS="3600")
    seeded = run(["seed-demo", "--elders", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    with server(["serve"], env) as base:
        yield Site(base=base, watch_port=0, data_dir=tmp_path / "var")


def provider_row(page: Page, provider_id: int) -> Locator:
    return page.locator(f"[data-testid=provider-row][data-provider-id='{provider_id}']")


def coverage_cell(page: Page, district: str, service_type: str) -> Locator:
    return page.locator(
        f"[data-testid=coverage-cell][data-district='{district}'][data-service-type='{service_type}']"
    )


async def active_meal_count(api: Client, district: str) -> int:
    report = await api.get("/api/v1/coverage", district=district, service_type=MEALS)
    [row] = report["districts"]
    count: int = row["active_providers"]
    return count


async def open_provider(page: Page, provider_id: int) -> Locator:
    """Select a provider in the list tab; its detail."""
    await page.get_by_test_id("providers-tab-list").click()
    await provider_row(page, provider_id).click()
    detail = page.locator(f"[data-testid=provider-detail][data-provider-id='{provider_id}']")
    await expect(detail).to_be_visible()
    return detail


async def change_status(detail: Locator, action: str, reason: str) -> None:
    await detail.get_by_test_id(f"provider-action-{action}").click()
    await detail.get_by_test_id("provider-status-reason").fill(reason)
    await detail.get_by_test_id("provider-status-submit").click()


async def record_criterion(detail: Locator, criterion: str, evidence: str) -> None:
    row = detail.locator(f"[data-testid=admission-row][data-criterion='{criterion}']")
    await row.get_by_test_id("admission-met").check()
    await row.get_by_test_id("admission-evidence").fill(evidence)
    await row.get_by_test_id("admission-save").click()
    await expect(row).to_have_attribute("data-met", "true")
    await expect(row).to_contain_text(evidence)


async def admit_the_pending_provider(page: Page, api: Client, tmp_path: Path) -> dict[str, Any]:
    """Refused while the checklist is incomplete (naming what is missing), admitted once it is complete."""
    [pending] = (await api.get("/api/v1/providers", status="pending"))["items"]
    missing = (await api.get(f"/api/v1/providers/{pending['id']}"))["admission_missing"]
    assert missing, "the demo's pending provider is half-way through its review"
    labels = [ADMISSION_LABELS_ZH[AdmissionCriterion(c)] for c in missing]

    detail = await open_provider(page, pending["id"])
    await expect(detail.get_by_test_id("provider-status")).to_have_text("待准入")
    await expect(detail.get_by_test_id("admission-missing")).to_contain_text(f"未满足 {len(missing)} 项")
    await change_status(detail, "activate", "材料审核通过")
    error = detail.get_by_test_id("provider-status-error")
    await expect(error).to_contain_text("无法准入")
    for label in labels:
        await expect(error).to_contain_text(label)
    assert (await api.get(f"/api/v1/providers/{pending['id']}"))["status"] == "pending"
    await page.screenshot(path=tmp_path / "admission-refused.png")

    for criterion in missing:
        await record_criterion(
            detail, criterion, f"已核查：{ADMISSION_LABELS_ZH[AdmissionCriterion(criterion)]}"
        )
    await expect(detail.get_by_test_id("admission-complete")).to_have_text("准入条件已全部满足")
    await page.screenshot(path=tmp_path / "provider-detail.png")
    await change_status(detail, "activate", "材料审核通过")
    await expect(detail.get_by_test_id("provider-status")).to_have_text("正常服务")
    await expect(provider_row(page, pending["id"])).to_contain_text("正常服务")
    admitted: dict[str, Any] = await api.get(f"/api/v1/providers/{pending['id']}")
    assert (admitted["status"], admitted["status_reason"], admitted["admission_missing"]) == (
        "active",
        "材料审核通过",
        [],
    )
    return admitted


async def test_a_supervisor_admits_a_provider_and_sees_coverage_break_as_meal_providers_are_suspended(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    async with api_as(site, "supervisor") as api:
        page = await logged_in(browser, site, "supervisor")
        await page.get_by_test_id("view-providers").click()
        admitted = await admit_the_pending_provider(page, api, tmp_path)
        district = admitted["district"]

        await page.get_by_test_id("coverage-tab").click()
        count = await active_meal_count(api, district)
        assert count >= 3, "the demo district has meal providers to spare once the new one is admitted"
        cell = coverage_cell(page, district, MEALS)
        await expect(cell).to_have_text(str(count))
        await expect(cell).to_have_attribute("data-meets-minimum", "true")
        await expect(page.get_by_test_id("coverage-table")).to_contain_text("助餐")

        meal_providers = await api.get(
            "/api/v1/providers", status="active", service_type=MEALS, district=district, limit=500
        )
        to_suspend = [p["id"] for p in meal_providers["items"]][: count - 1]
        for left, provider_id in enumerate(to_suspend, start=1):
            detail = await open_provider(page, provider_id)
            await change_status(detail, "suspend", "演示：暂停整改")
            await expect(detail.get_by_test_id("provider-status")).to_have_text("已暂停")
            if count - left >= 2:
                await expect(detail.get_by_test_id("provider-coverage-warning")).to_have_count(0)
        assert await active_meal_count(api, district) == 1

        warning = detail.get_by_test_id("provider-coverage-warning")
        await expect(warning).to_contain_text(f"{district} 助餐 在营服务商只剩 1 家（要求至少 2 家）")
        alert = page.locator("[data-testid=alert-item][data-kind=coverage]")
        await expect(alert).to_contain_text(f"{district} 助餐 在营服务商只剩 1 家")
        await page.screenshot(path=tmp_path / "coverage-warning.png")
        await page.get_by_role("button", name="English").click()  # the alert in the console's language
        await expect(alert.locator(".alert-text")).to_have_text(
            f"{district}: only 1 Meals provider(s) in operation (at least 2 required)"
        )
        await expect(warning).to_contain_text(f"{district}: only 1 Meals provider(s) in operation")
        await expect(warning).not_to_contain_text("在营")
        await page.get_by_role("button", name="中文").click()

        await page.reload()
        await page.get_by_test_id("view-providers").click()
        await page.get_by_test_id("coverage-tab").click()
        await expect(cell).to_have_text(re.compile(r"^1\b"))
        await expect(cell).to_have_attribute("data-meets-minimum", "false")
        await expect(cell).to_have_css("color", RED)
        await check_uncovered(page, api, district)
        await page.screenshot(path=tmp_path / "coverage.png")


async def check_uncovered(page: Page, api: Client, district: str) -> None:
    """Per type the count of elders outside the circle is the API's; the meal list expands to their names."""
    report = await api.get("/api/v1/coverage")
    for group in report["uncovered"]:
        row = page.locator(f"[data-testid=uncovered-row][data-service-type='{group['service_type']}']")
        await expect(row.get_by_test_id("uncovered-count")).to_have_text(str(group["count"]))
    [meals] = [g for g in report["uncovered"] if g["service_type"] == MEALS]
    assert meals["count"] > 0, "one meal provider cannot reach every elder of the district"
    row = page.locator(f"[data-testid=uncovered-row][data-service-type='{MEALS}']")
    await row.get_by_test_id("uncovered-toggle").click()
    names = row.get_by_test_id("uncovered-elders").locator("li[data-elder-id]")
    await expect(names).to_have_count(len(meals["elders"]))
    await expect(names.first).to_contain_text(meals["elders"][0]["name"])
    assert meals["elders"][0]["district"] == district


async def a_provider_without_the_care_certificate(api: Client) -> dict[str, Any]:
    """An active demo provider neither holding 养老护理员证 nor having an active member of staff who does."""
    for summary in (await api.get("/api/v1/providers", status="active", limit=500))["items"]:
        provider: dict[str, Any] = await api.get(f"/api/v1/providers/{summary['id']}")
        held = {q for s in provider["staff"] if s["active"] for q in s["qualifications"]}
        if CARE_CERTIFICATE not in held | set(provider["qualifications"]):
            return provider
    raise AssertionError("the demo city has providers whose staff lack the certificate")


async def test_a_supervisor_records_a_provider_s_care_certificate_and_both_languages_show_it(
    site: Site, browser: Browser
) -> None:
    async with api_as(site, "supervisor") as api:
        provider = await a_provider_without_the_care_certificate(api)
        page = await logged_in(browser, site, "supervisor")
        await page.get_by_test_id("view-providers").click()
        detail = await open_provider(page, provider["id"])
        care = detail.get_by_test_id("hands-on-care")
        await expect(care).to_have_attribute("data-ok", "false")
        await expect(care).to_have_text("无养老护理员证：不派三级及以上失能老人的护理、助浴")

        await detail.get_by_test_id("qualifications-edit").click()
        form = detail.get_by_test_id("qualifications-form")
        await form.get_by_test_id("qualification-input").fill(CARE_CERTIFICATE)
        await form.get_by_test_id("qualification-add").click()
        await expect(form.get_by_test_id("qualification-add")).to_be_disabled()  # nothing typed
        await form.get_by_test_id("qualification-input").fill("  医疗机构执业许可证 ")
        await form.get_by_test_id("qualification-input").press("Enter")
        await form.get_by_test_id("qualification-input").fill(CARE_CERTIFICATE)
        await expect(form.get_by_test_id("qualification-add")).to_be_disabled()  # it is on the list already
        licence = form.locator("li[data-qualification='医疗机构执业许可证']")  # trimmed
        await expect(form.locator("li")).to_have_count(2)
        await licence.get_by_test_id("qualification-remove").click()
        await expect(licence).to_have_count(0)
        await form.get_by_test_id("qualification-input").fill("健康证")
        await form.get_by_test_id("qualification-add").click()
        await form.get_by_test_id("qualifications-save").click()

        await expect(detail.get_by_test_id("qualifications-form")).to_have_count(0)
        shown = detail.get_by_test_id("provider-qualifications").locator("li")
        await expect(shown).to_have_text([CARE_CERTIFICATE, "健康证"])
        await expect(care).to_have_attribute("data-ok", "true")
        await expect(care).to_have_text("持养老护理员证：可为三级及以上失能老人提供护理、助浴")
        saved = await api.get(f"/api/v1/providers/{provider['id']}")
        assert saved["qualifications"] == [CARE_CERTIFICATE, "健康证"]

        await page.get_by_role("button", name="English").click()
        await expect(shown).to_have_text(["Elder-care worker's certificate (养老护理员证)", "健康证"])
        await expect(shown.locator("[lang='zh-CN'][translate=no]")).to_have_text(
            [CARE_CERTIFICATE]
        )  # as recorded
        await expect(care).to_contain_text("may nurse and bathe elders at level 3 or worse")
        await expect(detail.get_by_test_id("qualifications-edit")).to_have_text("Edit")
        await page.get_by_role("button", name="中文").click()


async def test_an_agent_sees_providers_and_coverage_without_the_supervisors_controls(
    site: Site, browser: Browser
) -> None:
    async with api_as(site, "agent1") as api:
        [provider] = (await api.get("/api/v1/providers", status="active", limit=1))["items"]
        page = await logged_in(browser, site, "agent1")
        await page.get_by_test_id("view-providers").click()
        detail = await open_provider(page, provider["id"])
        await expect(detail.get_by_test_id("admission-row")).to_have_count(len(AdmissionCriterion))
        await expect(detail.get_by_test_id("provider-actions")).to_have_count(0)
        await expect(detail.locator("[data-testid^=provider-action-]")).to_have_count(0)
        await expect(detail.get_by_test_id("admission-met")).to_have_count(0)
        await expect(detail.get_by_test_id("admission-save")).to_have_count(0)
        await expect(detail.get_by_test_id("provider-qualifications-section")).to_be_visible()
        await expect(detail.get_by_test_id("qualifications-edit")).to_have_count(0)
        await page.get_by_test_id("coverage-tab").click()
        await expect(coverage_cell(page, provider["district"], MEALS)).to_be_visible()

        english = await logged_in(browser, site, "agent1", lang="en")
        await english.get_by_test_id("view-providers").click()
        await expect(english.get_by_test_id("coverage-tab")).to_have_text("Coverage")
        await english.get_by_test_id("coverage-tab").click()
        await expect(english.get_by_test_id("coverage-table")).to_contain_text("Medical escort")
        await expect(english.get_by_test_id("coverage-view")).to_contain_text("outside the 15-minute circle")
