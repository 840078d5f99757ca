"""The site's English tree speaks English (issue 12 item 2): every word of the program comes
from the catalogue, every name with an English form in the catalog, the questionnaires or a
poll window is given in it. Russian may stand only where the source has no English at all,
and each such text is listed here by where it comes from, not by pattern."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.content import Content
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.model import Period, Scope
from reports.telegram import render_report_text
from services.reporting import ReportingService
from storage.database import create_session_factory
from storage.responses import ResponseStore
from tests.site.conftest import (
    BODY_NAME,
    MEASURES,
    WINDOWS,
    FakeMeasures,
    FakeWindows,
    Seeded,
    make_publication,
    seed,
)

CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _no_english() -> set[str]:
    """Texts whose source has no English: the body's name (a setting in one language), the
    done measures (typed by officers), a poll window titled in Russian only."""
    texts = {BODY_NAME}
    for measure in MEASURES:
        texts |= {measure.problem, measure.process, measure.measure}
    texts |= {window.title.ru for window in WINDOWS if not window.title.en}
    return {text for text in texts if text}


def _texts(html: str) -> list[str]:
    """What a reader meets: text nodes, and attributes read aloud or shown (title, alt,
    aria-label, the page's description)."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    # Marked as another language for readers and screen readers: the link to the Russian
    # tree names its language in it («Русский»).
    for other in soup.select("[lang]:not(html)"):
        if other.get("lang") != "en":
            other.decompose()
    found = [text.strip() for text in soup.find_all(string=True) if text.strip()]
    for tag in soup.find_all(True):
        for attribute in ("title", "alt", "aria-label", "content", "placeholder"):
            value = tag.get(attribute)
            if isinstance(value, str) and value.strip():
                found.append(value.strip())
    return found


def russian_left(page: str, allowed: set[str]) -> list[str]:
    """Texts with Cyrillic once every allowed name is taken out of them."""
    left = []
    for text in _texts(page):
        rest = text
        for name in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(name, "")
        if CYRILLIC.search(rest):
            left.append(text)
    return left


async def test_the_english_pages_carry_no_russian_but_names_without_english(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    allowed = _no_english()
    pages = sorted((tmp_path / "en").rglob("*.html"))
    assert len(pages) > 5
    found = {
        str(path.relative_to(tmp_path)): left
        for path in pages
        if (left := russian_left(path.read_text(encoding="utf-8"), allowed))
    }
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
    # Not blind: the Russian tree is Russian.
    assert russian_left((tmp_path / "ru" / "index.html").read_text(encoding="utf-8"), allowed)


async def test_the_methodology_comes_from_the_catalogue_in_both_languages(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    english = BeautifulSoup((tmp_path / "en" / "methodology.html").read_text(), "html.parser")
    russian = BeautifulSoup((tmp_path / "ru" / "methodology.html").read_text(), "html.parser")
    assert "Figures of a group of fewer than 5 ratings" in english.get_text()
    assert "Цифры группы, в которой меньше 5 оценок" in russian.get_text()
    assert "{k}" not in english.get_text() + russian.get_text()
    assert [h.get_text() for h in english.find_all("h2")] == [
        "What is asked",
        "How satisfaction is computed",
        "What is never published, and why",
    ]


# --- option and problem titles (issue 12 item 2's rest): the report in the officer's language

#: Q3 2026, the site's main quarter in the seeded data.
QUARTER = Period(date(2026, 7, 1), date(2026, 9, 30))
QUEUE_RU, QUEUE_EN = (
    "Долгое ожидание в очереди или на линии",
    "Long wait in a queue or on the line",
)
PARTLY_RU, PARTLY_EN = "Частично", "Partly"


@pytest.fixture
async def with_problems(sqlite_engine: AsyncEngine, content: Content) -> ReportingService:
    """The site's data with six strongly negative licensing ratings naming the queue and
    answering «partly» to whether the issue was solved."""
    sessions = create_session_factory(sqlite_engine)
    await seed(sessions, content)
    store = ResponseStore(sessions)
    questionnaire = content.questionnaires["post_service"]
    for score in (1, 2, 2, 1, 2, 1):
        await store.save(
            CompletedResponse(
                questionnaire_id=questionnaire.id,
                questionnaire_version=questionnaire.version,
                kind="post_service",
                audience="external",
                context=ResponseContext("licensing", "site", "license"),
                submitted_on=date(2026, 8, 5),
                answers=(
                    AnswerRow("overall", number=score),
                    AnswerRow("solved", option_id="partly"),
                    AnswerRow("obstacles", option_id="queue"),
                ),
            )
        )
    reporting, _ = make_publication(sessions, content, FakeWindows(), FakeMeasures())
    return reporting


def _cells(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    ]


async def test_an_english_report_names_problems_and_answers_in_english(
    with_problems: ReportingService,
) -> None:
    reporting = with_problems
    english = await reporting.report(QUARTER, Scope(), language=Language.EN)
    assert [row.title for row in english.problems] == [QUEUE_EN]
    text = render_report_text(english, Language.EN)
    assert QUEUE_EN in text and QUEUE_RU not in text
    digest = "\n".join(await reporting.negative_digest(QUARTER, Scope(), Language.EN))
    assert QUEUE_EN in digest and QUEUE_RU not in digest
    # The workbook: the Problems sheet and the Responses sheet's answers.
    cells = _cells(await reporting.workbook(QUARTER, Scope(), language=Language.EN))
    assert any(QUEUE_EN in cell for cell in cells) and PARTLY_EN in cells
    assert [cell for cell in cells if QUEUE_RU in cell or cell == PARTLY_RU] == []
    # Russian stays the default, and the scan is not blind.
    russian = await reporting.report(QUARTER, Scope())
    assert [row.title for row in russian.problems] == [QUEUE_RU]
    cells = _cells(await reporting.workbook(QUARTER, Scope()))
    assert any(QUEUE_RU in cell for cell in cells) and PARTLY_RU in cells


async def test_the_staff_report_is_titled_in_the_officers_language(
    with_problems: ReportingService,
) -> None:
    english = await with_problems.internal_report(QUARTER, language=Language.EN)
    assert english.title == "Staff survey report"
    assert (await with_problems.internal_report(QUARTER)).title == "Отчёт по опросу сотрудников"
