"""Fixtures: migrated databases on SQLite and PostgreSQL, a response writer, the services."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.catalog import load_catalog
from questionnaires.open_answers import Categoriser, load_categories
from reports.disclosure import DisclosurePolicy
from reports.model import QuestionnaireRoles
from services.open_answers import OpenAnswersService
from services.reporting import ReportingPolicy, ReportingService
from storage.open_answers import OpenAnswerStore
from tests.reports.conftest import ROLES, Responses, responses
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "responses", "sessions"]

OFFICER = 700700
#: The hand-made roles of the report tests, with a life-situation question in both polls.
SITUATION_ROLES: QuestionnaireRoles = replace(
    ROLES,
    situation={"rating": "whole", "deep": "whole"},
    situation_choice={"deep": "situation"},
)


@pytest.fixture(scope="session")
def categoriser() -> Categoriser:
    return load_categories()


def build(
    sessions: async_sessionmaker[AsyncSession],
    categoriser: Categoriser,
    *,
    min_group: int = 5,
    officers: frozenset[int] = frozenset({OFFICER}),
) -> tuple[ReportingService, OpenAnswersService]:
    reporting = ReportingService(
        sessions=sessions,
        roles=SITUATION_ROLES,
        catalog=load_catalog(),
        policy=ReportingPolicy(
            officer_ids=officers,
            disclosure=DisclosurePolicy(min_group=min_group, min_comment_group=min_group),
        ),
    )
    service = OpenAnswersService(
        reporting=reporting,
        sessions=sessions,
        store=OpenAnswerStore(sessions),
        categoriser=categoriser,
        roles=SITUATION_ROLES,
        catalog=load_catalog(),
    )
    reporting.extras = service
    return reporting, service


__all__ += ["Responses"]
