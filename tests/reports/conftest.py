"""Fixtures for the report tests: migrated databases on both backends and a response writer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from reports.model import Dimension, QuestionnaireRoles
from storage.models_campaigns import PollWindow
from storage.responses import ResponseStore
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures, on SQLite and PostgreSQL

#: Hand-made roles: a rating with problems and a comment, a deep poll with NPS, a staff poll.
ROLES = QuestionnaireRoles(
    overall={"rating": "overall", "deep": "overall", "staff": "overall"},
    problems={"rating": "obstacles", "staff": "obstacles"},
    nps={"deep": "recommend"},
    comments={"rating": ("comment",), "deep": ("hindered",), "staff": ("comment",)},
    option_titles={
        ("rating", "obstacles", "queue"): "Очередь",
        ("rating", "obstacles", "rude"): "Грубость",
        ("rating", "obstacles", "slow"): "Долго",
        ("rating", "obstacles", "unclear"): "Непонятно",
        ("rating", "obstacles", "other"): "Другое",
        ("rating", "solved", "yes"): "Да",
        ("rating", "solved", "no"): "Нет",
    },
    question_titles={
        ("rating", "overall"): "Общая оценка",
        ("rating", "obstacles"): "Что помешало?",
        ("rating", "solved"): "Вопрос решён?",
        ("rating", "comment"): "Комментарий",
    },
    audiences={"rating": "external", "deep": "external", "staff": "internal"},
)

AUDIENCES = ROLES.audiences


def titles(dimension: Dimension, key: str | None) -> str:
    return f"{dimension.value}:{key}" if key is not None else f"{dimension.value}:-"


@dataclass
class Responses:
    """Stores anonymous responses the way the bot does, through ResponseStore.save."""

    store: ResponseStore

    async def add(
        self,
        day: date,
        overall: int | None = None,
        *,
        cannot_rate: bool = False,
        service: str | None = "s1",
        channel: str | None = "c1",
        life_situation: str | None = None,
        problems: Iterable[str] = (),
        comment: str | None = None,
        questionnaire: str = "rating",
        extra: Iterable[AnswerRow] = (),
        times: int = 1,
        window: int | None = None,
        department: str | None = None,
        front: Front = Front.TELEGRAM,
    ) -> None:
        answers: list[AnswerRow] = []
        if overall is not None:
            answers.append(AnswerRow("overall", number=overall))
        if cannot_rate:
            answers.append(AnswerRow("overall", option_id=CANNOT_RATE))
        answers += [AnswerRow("obstacles", option_id=option) for option in problems]
        answers += list(extra)
        if comment is not None:
            question = "hindered" if questionnaire == "deep" else "comment"
            answers.append(AnswerRow(question, text=comment))
        response = CompletedResponse(
            questionnaire_id=questionnaire,
            questionnaire_version=1,
            kind=questionnaire,
            audience=AUDIENCES[questionnaire],
            context=ResponseContext(service, channel, life_situation),
            submitted_on=day,
            answers=tuple(answers),
            window_id=window,
            department=department,
            front=front,
        )
        for _ in range(times):
            await self.store.save(response)

    async def scores(self, day: date, scores: Iterable[int], **context: str | None) -> None:
        for score in scores:
            await self.add(day, score, **context)  # type: ignore[arg-type]


async def add_window(
    sessions: async_sessionmaker[AsyncSession],
    window_id: int,
    questionnaire: str,
    opens_on: date,
    closes_on: date,
    *,
    status: str = "closed",
) -> None:
    """A poll window of ``questionnaire`` as services.windows leaves it (closed by default)."""
    audience = "staff" if AUDIENCES.get(questionnaire) == "internal" else "external"
    async with sessions.begin() as session:
        session.add(
            PollWindow(
                id=window_id,
                campaign_id=f"{questionnaire}-{window_id}",
                questionnaire_id=questionnaire,
                audience=audience,
                opens_on=opens_on,
                closes_on=closes_on,
                status=status,
                origin="schedule",
            )
        )


@pytest.fixture
def responses(sessions: async_sessionmaker[AsyncSession]) -> Responses:
    # With the roles' overall questions, as bot.composition builds it: the copies are scored.
    return Responses(ResponseStore(sessions, overall=ROLES.overall))
