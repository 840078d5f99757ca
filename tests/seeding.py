"""Ratings written into a migrated database before a command-line test runs against it."""

from __future__ import annotations

import asyncio
from datetime import date

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.database import create_engine, create_session_factory
from storage.responses import ResponseStore


def seed_ratings(url: str, scores: list[int], day: date, service: str) -> None:
    """One post-service rating at the office per score, all on ``day``."""

    async def seed() -> None:
        engine = create_engine(url)
        store = ResponseStore(create_session_factory(engine))
        for value in scores:
            await store.save(
                CompletedResponse(
                    questionnaire_id="post_service",
                    questionnaire_version=1,
                    kind="post_service",
                    audience="external",
                    context=ResponseContext(service=service, channel="office"),
                    submitted_on=day,
                    answers=(AnswerRow("overall", number=value),),
                )
            )
        await engine.dispose()

    asyncio.run(seed())
