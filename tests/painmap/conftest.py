"""Fixtures of the pain map tests: migrated databases on both backends, the real reporting
service over the shipped catalog, the pain map service on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import load_content
from bot.settings import ContentSettings
from questionnaires.catalog import Catalog
from questionnaires.schema import Language
from reports.model import QuestionnaireRoles
from services.officer_languages import OfficerLanguageReader
from services.painmap import PainMapService
from services.reporting import ReportingPolicy, ReportingService
from storage.deliveries import DeliveryStore
from storage.painmap import PainMapStore
from storage.responses import ResponseStore
from tests.reports.conftest import ROLES, Responses
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures, on SQLite and PostgreSQL

ZONE = ZoneInfo("Asia/Yakutsk")
BODY_OFFICER = 500500
LICENSING_OFFICER = 777
INTERNAL_OFFICER = 888
#: The report roles with the staff poll's aspects (§4.2), as the shipped staff poll names them.
STAFF_ROLES = replace(
    ROLES,
    parameters={"staff": ("tools", "boss", "canteen")},
    question_titles={
        **ROLES.question_titles,
        ("staff", "tools"): "Техническое оснащение",
        ("staff", "boss"): "Руководитель",
        ("staff", "canteen"): "Столовая",
    },
)


@dataclass
class Outbox:
    sent: list[tuple[int, str]] = field(default_factory=list)
    failing: set[int] = field(default_factory=set)

    async def text(self, chat_id: int, html: str) -> None:
        if chat_id in self.failing:
            raise ConnectionError("Telegram is unreachable")
        self.sent.append((chat_id, html))


@dataclass
class Desk:
    service: PainMapService
    store: PainMapStore
    responses: Responses
    outbox: Outbox
    clock: list[datetime]
    sessions: async_sessionmaker[AsyncSession]

    def restart(self) -> PainMapService:
        """A new service on the same database, as after a restart of the bot."""
        return build_service(self.sessions, self.outbox, self.clock)


def catalog() -> Catalog:
    defaults = ContentSettings()
    shipped = load_content(defaults.questionnaires_dir, defaults.catalog_path).catalog
    licensing = [
        s.model_copy(update={"officer": LICENSING_OFFICER}) if s.code == "licensing" else s
        for s in shipped.services
    ]
    return shipped.model_copy(update={"services": tuple(licensing)})


def build_service(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    clock: list[datetime],
    roles: QuestionnaireRoles = STAFF_ROLES,
    languages: OfficerLanguageReader | None = None,
) -> PainMapService:
    reporting = ReportingService(
        sessions=sessions,
        roles=roles,
        catalog=catalog(),
        policy=ReportingPolicy(
            officer_ids=frozenset({BODY_OFFICER}),
            internal_officer_ids=frozenset({INTERNAL_OFFICER}),
        ),
    )
    return PainMapService(
        store=PainMapStore(sessions),
        reporting=reporting,
        zone=ZONE,
        ledger=DeliveryStore(sessions),
        send=outbox,
        appeal_titles=lambda language: {
            "delay": "Missed deadline" if language == Language.EN else "Нарушение сроков"
        },
        clock=lambda: clock[0],
        languages=languages,
    )


@pytest.fixture
def desk(sessions: async_sessionmaker[AsyncSession]) -> Desk:
    outbox = Outbox()
    clock = [datetime(2026, 12, 5, 3, 0, tzinfo=UTC)]
    service = build_service(sessions, outbox, clock)
    return Desk(
        service,
        service.store,
        Responses(ResponseStore(sessions)),
        outbox,
        clock,
        sessions,
    )


def day(text: str) -> date:
    return datetime.strptime(text, "%d.%m.%Y").date()
