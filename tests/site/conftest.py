"""Seeded data for the public site: the real catalog and questionnaires, closed periods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import Content, load_content
from bot.settings import ContentSettings
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Text
from reports.disclosure import DisclosurePolicy
from reports.model import QuestionnaireRoles
from reports.window_results import WindowResult
from reports.windows import GroupCounts
from services.publication import DoneMeasure, PublicationService
from services.reporting import ReportingPolicy, ReportingService
from storage.database import create_session_factory
from storage.responses import ResponseStore
from tests.storage.conftest import ScratchDatabase, database, engine, sessions

__all__ = ["database", "engine", "sessions"]

#: The site as of this day: last closed month October, quarter Q3, half H1, year 2025.
TODAY = date(2026, 11, 30)
CITIZEN_COMMENT = "Очень долго ждала в очереди у окна 3"
STAFF_COMMENT = "Начальник отдела кадров грубит сотрудникам"
#: BODY__NAME: a setting in one language, so the English pages show it as it is.
BODY_NAME = "Министерство строительства и ЖКХ"


@pytest.fixture(scope="session")
def content() -> Content:
    settings = ContentSettings()
    return load_content(
        settings.questionnaires_dir, settings.catalog_path, settings.campaigns_path
    )


class FakeWindows:
    """Published windows as services.windows.WindowService.window_results gives them."""

    def __init__(self, results: Sequence[WindowResult] = ()) -> None:
        self.results = list(results)

    async def window_results(self) -> list[WindowResult]:
        return list(self.results)


class FakeMeasures:
    """Done measures as the pain map will give them (services/painmap.py, wired at merge)."""

    def __init__(self, measures: Sequence[DoneMeasure] = ()) -> None:
        self.measures = list(measures)

    async def done_measures(self) -> list[DoneMeasure]:
        return list(self.measures)


WINDOWS = (
    WindowResult(
        window_id=7,
        title=Text(ru="Качество лицензирования", en="Licensing quality"),
        opens_on=date(2026, 10, 5),
        closes_on=date(2026, 10, 16),
        counts=GroupCounts(respondents=23, by_score=(1, 2, 3, 7, 9), cannot_rate=1),
    ),
    WindowResult(
        window_id=5,
        title=Text(ru="Малый опрос"),
        opens_on=date(2026, 9, 1),
        closes_on=date(2026, 9, 12),
        counts=None,
    ),
)

MEASURES = (
    DoneMeasure(
        problem="Долгое ожидание в очереди",
        process="Выдача лицензий",
        measure="Запись на приём по времени через сайт",
        done_on=date(2026, 10, 20),
        metric="CSAT, %",
        before=61.5,
        after=78.25,
    ),
    DoneMeasure(
        problem="Непонятные формы",
        process="Приём обращений",
        measure="Образцы заполнения на сайте",
        done_on=date(2026, 9, 2),
        before=None,
        after=None,
    ),
)


@dataclass
class Seeded:
    reporting: ReportingService
    publication: PublicationService
    windows: FakeWindows
    measures: FakeMeasures


async def seed(sessions: async_sessionmaker[AsyncSession], content: Content) -> None:
    """Responses through ResponseStore.save, as the bot writes them."""
    store = ResponseStore(sessions)
    questionnaire = content.questionnaires["post_service"]
    staff = content.questionnaires["staff"]

    async def add(
        day: date,
        scores: Sequence[int],
        service: str,
        channel: str,
        life_situation: str | None = None,
        comment: str | None = None,
    ) -> None:
        for score in scores:
            answers = [AnswerRow("overall", number=score)]
            if comment is not None:
                answers.append(AnswerRow("comment", text=comment))
            await store.save(
                CompletedResponse(
                    questionnaire_id=questionnaire.id,
                    questionnaire_version=questionnaire.version,
                    kind="post_service",
                    audience="external",
                    context=ResponseContext(service, channel, life_situation),
                    submitted_on=day,
                    answers=tuple(answers),
                )
            )

    # Q3 2026 (the main quarter): two services that show figures; in September two small
    # ones that only form a block together (reports.disclosure), so neither shows alone.
    await add(date(2026, 7, 6), [5, 5, 4, 4, 3, 5], "licensing", "site", "license")
    await add(date(2026, 8, 3), [5, 4, 2, 5, 4, 1], "licensing", "site", "license")
    await add(
        date(2026, 7, 14),
        [4, 3, 5, 2, 4, 4, 5],
        "appeals",
        "office",
        "management",
        comment=CITIZEN_COMMENT,
    )
    await add(date(2026, 8, 18), [3, 4, 5, 5, 2], "appeals", "office", "management")
    await add(date(2026, 9, 9), [1, 2, 3], "inspections", "phone", "utilities")
    await add(date(2026, 9, 21), [4, 5, 3], "site-info", "site")
    # Q2 2026: the comparison, also in the half-year H1.
    await add(date(2026, 5, 12), [5, 3, 3, 4, 2, 4, 5, 3], "licensing", "site", "license")
    await add(date(2026, 4, 20), [4, 4, 5, 2, 5, 3], "appeals", "office", "management")
    # October 2026: the last closed month.
    await add(date(2026, 10, 7), [5, 4, 4, 3, 5, 5, 2], "licensing", "gosuslugi", "license")
    # November 2026 is still running: never shown.
    await add(date(2026, 11, 2), [1, 1, 1, 1, 1, 1], "licensing", "site", "license")
    # Staff answers with a comment: never public.
    for _ in range(12):
        await store.save(
            CompletedResponse(
                questionnaire_id=staff.id,
                questionnaire_version=staff.version,
                kind="staff",
                audience="internal",
                context=ResponseContext("hr", None, None),
                submitted_on=date(2026, 8, 10),
                answers=(
                    AnswerRow("overall", number=2),
                    AnswerRow("one_change", text=STAFF_COMMENT),
                ),
            )
        )


def make_publication(
    sessions: async_sessionmaker[AsyncSession],
    content: Content,
    windows: FakeWindows,
    measures: FakeMeasures,
    today: date = TODAY,
) -> tuple[ReportingService, PublicationService]:
    reporting = ReportingService(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(disclosure=DisclosurePolicy(min_group=5)),
    )
    publication = PublicationService(
        reporting=reporting,
        windows=windows,
        measures=measures,
        questionnaires=content.questionnaires,
        body_name=BODY_NAME,
        today=lambda: today,
        url="https://example.gov.ru/otklik/",
    )
    return reporting, publication


async def _seeded(sessions: async_sessionmaker[AsyncSession], content: Content) -> Seeded:
    await seed(sessions, content)
    windows, measures = FakeWindows(WINDOWS), FakeMeasures(MEASURES)
    reporting, publication = make_publication(sessions, content, windows, measures)
    return Seeded(reporting, publication, windows, measures)


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], content: Content) -> Seeded:
    """Seeded on SQLite and PostgreSQL."""
    return await _seeded(sessions, content)


@pytest.fixture
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    # Not in tmp_path: the tests publish there and read back every file.
    folder = tmp_path_factory.mktemp("database")
    database = ScratchDatabase("sqlite", f"sqlite+aiosqlite:///{folder / 'otklik.db'}")
    await database.upgrade()
    engine = database.engine()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def seeded_sqlite(sqlite_engine: AsyncEngine, content: Content) -> Seeded:
    """Seeded on SQLite only: for what the renderer does with the model (backend-free)."""
    return await _seeded(create_session_factory(sqlite_engine), content)
