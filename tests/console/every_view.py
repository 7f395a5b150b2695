"""Walking every view of the console, for the checks that must hold on all of them (accessibility, one
language at a time)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

AXE = Path(__file__).resolve().parents[2] / "console_ui" / "node_modules" / "axe-core" / "axe.min.js"
FORMS = {"orders": "new-order", "complaints": "new-complaint", "assessments": "new-assessment"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}(?:[-'][A-Za-z]+)*")
NAV_VIEWS = (
    "calls",
    "history",
    "orders",
    "followups",
    "carecalls",
    "complaints",
    "assessments",
    "providers",
    "phone",
    "sms",
    "wallboard",
    "settlement",
    "admin",
)


async def every_view(page: Page, elder_name: str) -> AsyncIterator[str]:
    """Open each view in turn (and the elder page, through the search) and yield its name once shown."""
    for view in NAV_VIEWS:
        await page.get_by_test_id(f"view-{view}").click()
        await expect(page.get_by_test_id(f"view-{view}")).to_have_attribute("aria-pressed", "true")
        if view in FORMS:  # the view with its form open, labels and choices included
            await page.get_by_test_id(FORMS[view]).click()
        await page.wait_for_load_state("networkidle")
        yield view
    await page.get_by_test_id("global-search").fill(elder_name)
    await page.get_by_test_id("search-hit").first.click()
    await expect(page.get_by_test_id("elder-page")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    yield "elder"


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations of the serious and critical kind on the page as it is now."""
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
            return result.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n')[1]),
            }));
        }"""
    )
    return found


# Latin words a zh-CN screen may show: codes, units and proper names of standards and products.
LATIN_ALLOWED = {
    "P1",
    "P2",
    "P3",
    "P4",
    "SOS",
    "ID",
    "IMEI",
    "SIM",
    "SMS",
    "km",
    "m",
    "s",
    "ms",
    "h",
    "min",
    "GPS",
    "LBS",
    "WiFi",
    "Wi-Fi",
    "App",
    "DISPATCH",
    "ETA",
    "Twilio",
    "OK",
    "PDF",
}


async def other_language_texts(page: Page, lang: str) -> list[str]:
    """Texts on the page (outside data marked translate="no", and outside inputs' values) in the other
    language: any CJK character in English; in zh-CN, Latin words not on the allow-list."""
    texts: list[str] = await page.evaluate(
        """() => {
            const out = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const element = node.parentElement;
                if (!element || element.closest('[translate=no], body [lang], script, style, .leaflet-container')) continue;
                if (!element.getClientRects().length) continue;
                const text = node.textContent.trim();
                if (text) out.push(text);
            }
            for (const element of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
                if (element.closest('[translate=no], body [lang]')) continue;
                for (const name of ['placeholder', 'aria-label', 'title']) {
                    const value = element.getAttribute(name);
                    if (value) out.push(value);
                }
            }
            return out;
        }"""
    )
    if lang == "en":
        return sorted({text for text in texts if CJK.search(text)})
    return sorted(
        {text for text in texts if any(word not in LATIN_ALLOWED for word in LATIN_WORD.findall(text))}
    )
