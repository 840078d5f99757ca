"""The public site in a real browser (issue 11): Debian's Chromium driven by Playwright.

Screenshots at a phone width (390 px) and a desktop width (1280 px); the figures the browser
shows are the report model's; axe-core finds no serious or critical violation; the pages make
no request beyond their own folder. The browser is /usr/bin/chromium (`apt-get install
chromium`, see .ci/run): Playwright never downloads one here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, Route, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import Content
from reports.disclosure import PeriodKind, last_closed
from reports.model import Dimension, Report, Scope
from reports.telegram import is_hidden, protect
from tests.site.conftest import (
    MEASURES,
    TODAY,
    WINDOWS,
    FakeMeasures,
    FakeWindows,
    make_publication,
    seed,
)
from tests.storage.conftest import ScratchDatabase

CHROMIUM: Final = Path("/usr/bin/chromium")
FLAGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS: Final = {"phone": 390, "desktop": 1280}
#: Where the committed screenshots go (README shows them); rewritten on OTKLIK_SCREENSHOTS=1.
DOCS: Final = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)"
)


@pytest.fixture
async def site(tmp_path: Path, content: Content) -> AsyncIterator[tuple[Path, Report]]:
    database = ScratchDatabase("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}")
    await database.upgrade()
    engine = database.engine()
    from storage.database import create_session_factory

    sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    try:
        await seed(sessions, content)
        reporting, publication = make_publication(
            sessions, content, FakeWindows(WINDOWS), FakeMeasures(MEASURES)
        )
        out = tmp_path / "site"
        await publication.publish(out)
        main = protect(await reporting.report(last_closed(PeriodKind.QUARTER, TODAY), Scope()))
        yield out, main
    finally:
        await engine.dispose()


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


async def open_page(browser: Browser, url: str, width: int) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="ru-RU")
    page = await context.new_page()
    foreign: list[str] = []

    async def only_files(route: Route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            await route.continue_()
        else:
            foreign.append(url)
            await route.abort()

    await page.route("**/*", only_files)
    await page.goto(url)
    await page.wait_for_load_state("load")
    return page, foreign


async def test_site_in_chromium_at_phone_and_desktop_widths(
    site: tuple[Path, Report], browser: Browser, tmp_path: Path
) -> None:
    out, main = site
    shots = DOCS if os.environ.get("OTKLIK_SCREENSHOTS") == "1" else tmp_path
    for name, width in WIDTHS.items():
        page, foreign = await open_page(browser, (out / "ru" / "index.html").as_uri(), width)
        # The overall figures the browser renders are the model's.
        cells = await page.locator("table.scores").first.locator("tbody td").all_inner_texts()
        overall = main.overall
        assert overall.csat is not None and overall.mean is not None
        assert cells[:3] == [
            str(overall.n),
            f"{overall.csat:.1f}".replace(".", ","),
            f"{overall.mean:.2f}".replace(".", ","),
        ]
        # The chart image loaded (an SVG from the site's own folder).
        loaded = await page.evaluate(
            "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded
        # Nothing wider than the screen: tables scroll inside their own region.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow} px"
        await page.screenshot(path=str(shots / f"site-{name}.png"), full_page=True)
        assert foreign == []
        await page.context.close()


async def test_breakdown_figures_in_the_browser_equal_the_model(
    site: tuple[Path, Report], browser: Browser
) -> None:
    out, main = site
    page, foreign = await open_page(browser, (out / "ru" / "services.html").as_uri(), 390)
    rows = page.locator("table.scores tbody tr")
    groups = main.by(Dimension.SERVICE)
    assert await rows.count() == len(groups)
    for index, group in enumerate(groups):
        row = rows.nth(index)
        assert (await row.locator("th").inner_text()).strip() == group.title
        cells = await row.locator("td").all_inner_texts()
        if is_hidden(group.current, 5):
            assert cells == ["Меньше 5 оценок: цифры не публикуются"]
        else:
            assert group.current.csat is not None
            assert cells[0] == str(group.current.n)
            assert cells[1] == f"{group.current.csat:.1f}".replace(".", ",")
    assert foreign == []
    await page.context.close()


async def test_axe_finds_no_serious_or_critical_violation(
    site: tuple[Path, Report], browser: Browser
) -> None:
    out, _ = site
    axe = Axe()
    # One page of each template in both languages (every page shares them).
    pages = [out / "index.html"] + [
        out / language / name
        for language in ("ru", "en")
        for name in (
            "index.html",
            "services.html",
            "life-situations.html",
            "channels.html",
            "services/licensing.html",
            "services/inspections.html",
            "polls.html",
            "done.html",
            "methodology.html",
        )
    ]
    problems = []
    # Phone width for every page (mobile first), desktop width for the overview.
    runs = [(path, WIDTHS["phone"]) for path in pages] + [(out / "ru" / "index.html", 1280)]
    for path, width in runs:
        page, _ = await open_page(browser, path.as_uri(), width)
        results = await axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                problems.append((path.relative_to(out).as_posix(), width, violation["id"]))
        await page.context.close()
    assert problems == []


async def test_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_main(
    site: tuple[Path, Report], browser: Browser
) -> None:
    out, _ = site
    page, _ = await open_page(browser, (out / "en" / "services.html").as_uri(), 1280)
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.className")
    assert focused == "skip"
    assert await page.locator("a.skip").is_visible()
    await page.keyboard.press("Enter")
    assert await page.evaluate("location.hash") == "#main"
    await page.context.close()
