"""Opening the console in a browser as an operator, in one language."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect


async def console_as(
    browser: Browser, base: str, username: str, lang: str = "zh-CN", size: tuple[int, int] = (1600, 1000)
) -> Page:
    """A new browser context logged in as `username` (password `demo`), the console live."""
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    await context.add_init_script(f"localStorage.setItem('console.lang', '{lang}')")
    page = await context.new_page()
    await page.goto(f"{base}/console/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_class("connection up")
    return page
