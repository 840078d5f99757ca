"""The web form in Debian's Chromium at phone width, and axe-core on every kind of page.

Same pattern as tests/site/test_browser.py: Playwright drives /usr/bin/chromium (never a
downloaded browser); the page may load nothing but the server's own addresses.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, Route, ViewportSize, async_playwright

from tests.site.test_browser import CHROMIUM, DOCS, FLAGS
from tests.web.harness import Stack, web_stack

PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)"
)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with web_stack(tmp_path) as made:
        yield made


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def phone_page(browser: Browser, stack: Stack) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport=PHONE, locale="ru-RU", is_mobile=True)
    page = await context.new_page()
    own = str(stack.client.make_url("/"))
    foreign: list[str] = []

    async def only_own(route: Route) -> None:
        if route.request.url.startswith(own):
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_own)
    return page, foreign


async def no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


async def next_page(page: Page, button: str = "Далее") -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def test_a_phone_completes_the_form_by_tapping_labels_and_the_rows_are_stored(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    page, foreign = await phone_page(browser, stack)
    await page.goto(str(stack.client.make_url("/r/licensing_mfc")))
    await no_sideways_scroll(page)
    shots = DOCS if os.environ.get("OTKLIK_SCREENSHOTS") == "1" else tmp_path
    await page.screenshot(path=str(shots / "web-phone.png"), full_page=True)
    # A tap on a label (a large target) chooses its option.
    await page.get_by_label("2", exact=True).check()  # an inner point: its label is the number
    await next_page(page)
    await page.get_by_label("Частично").check()
    await next_page(page)
    await no_sideways_scroll(page)
    checkboxes = page.locator("input[type=checkbox]")
    await checkboxes.first.check()
    await next_page(page)
    await page.locator("input[type=radio]").nth(1).check()
    await next_page(page)
    await page.get_by_role("textbox").fill("Всё было понятно")
    await next_page(page)
    assert "Спасибо" in await page.locator("h1").inner_text()
    await page.context.close()
    rows = await stack.rows("SELECT service_code, channel_code, questionnaire_id FROM responses")
    assert rows == [
        {"service_code": "licensing", "channel_code": "mfc", "questionnaire_id": "post_service"}
    ]
    texts = await stack.rows("SELECT text FROM answers WHERE text IS NOT NULL")
    assert texts == [{"text": "Всё было понятно"}]
    assert foreign == []


async def test_an_error_moves_nothing_and_its_summary_link_focuses_the_first_option(
    stack: Stack, browser: Browser
) -> None:
    page, _ = await phone_page(browser, stack)
    await page.goto(str(stack.client.make_url("/r/licensing_site")))
    await next_page(page)
    summary = page.locator(".error-summary")
    assert await summary.is_visible()
    await summary.locator("a").click()
    focused = await page.evaluate("document.activeElement.id")
    assert focused == "q-overall-0"
    await page.context.close()


async def test_axe_finds_no_serious_or_critical_violation_on_any_kind_of_page(
    stack: Stack, browser: Browser
) -> None:
    axe = Axe()
    page, _ = await phone_page(browser, stack)
    problems: list[tuple[str, str]] = []

    async def check(name: str) -> None:
        results = await axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                problems.append((name, violation["id"]))

    await page.goto(str(stack.client.make_url("/")))
    await check("picker")
    await page.goto(str(stack.client.make_url("/r/licensing_site?lang=en")))
    await check("scale, English")
    await next_page(page, "Next")
    await check("error, English")
    await page.goto(str(stack.client.make_url("/r/licensing_site")))
    await page.get_by_label("1 — Совсем не удовлетворены").check()
    await next_page(page)
    await page.get_by_label("Нет", exact=True).check()
    await next_page(page)
    await check("multiple choice")
    await page.get_by_label("Другое", exact=False).first.check()
    await next_page(page)
    await check("other text")
    await page.get_by_role("button", name="Прервать опрос").click()
    await page.wait_for_load_state("load")
    await check("message")
    await page.context.close()
    assert problems == []
