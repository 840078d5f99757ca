"""Stores completed responses anonymously, once per dedup claim, in one transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import CompletedResponse
from storage.models import DEDUP_KEY_LENGTH, Answer, DedupKey, Response
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DedupClaim:
    """A keyed hash (hex HMAC) saying "this was already answered"; valid through ``expires_on``."""

    key: str
    scope: str
    expires_on: date

    def __post_init__(self) -> None:
        # PostgreSQL would reject a longer key and SQLite would silently keep it: fail the same
        # way everywhere, before any SQL.
        if not 0 < len(self.key) <= DEDUP_KEY_LENGTH:
            raise ValueError(f"dedup key must be 1..{DEDUP_KEY_LENGTH} characters")


class ResponseStore:
    """Writes responses and their answers; owns the dedup keys that guard them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def save(self, response: CompletedResponse, *, dedup: DedupClaim | None = None) -> bool:
        """Store the response and its answers; False (and nothing stored) if ``dedup`` is taken."""
        async with self._sessions.begin() as session:
            # The claim goes first so a duplicate writes nothing at all.
            if dedup is not None and not await _claim(session, dedup, response.submitted_on):
                logger.info("duplicate %s claim, response not stored", dedup.scope)
                return False
            response_id = uuid.uuid4()
            context = response.context
            await session.execute(
                insert(Response),
                [
                    {
                        "id": response_id,
                        "questionnaire_id": response.questionnaire_id,
                        "questionnaire_version": response.questionnaire_version,
                        "kind": response.kind,
                        "audience": response.audience,
                        "service_code": context.service,
                        "channel_code": context.channel,
                        "life_situation_code": context.life_situation,
                        "submitted_on": response.submitted_on,
                    }
                ],
            )
            if response.answers:
                await session.execute(
                    insert(Answer),
                    [
                        {
                            "response_id": response_id,
                            "question_id": answer.question_id,
                            "option_id": answer.option_id,
                            "number": answer.number,
                            "text": answer.text,
                        }
                        for answer in response.answers
                    ],
                )
        # Only counts are logged: answer content never goes to the log.
        logger.info(
            "stored a %s response (%s v%d) with %d answers",
            response.kind,
            response.questionnaire_id,
            response.questionnaire_version,
            len(response.answers),
        )
        return True

    async def is_claimed(self, key: str, today: date) -> bool:
        """Whether a live (not yet expired) claim holds ``key``: lets a dialog refuse early."""
        async with self._sessions.begin() as session:
            found = await session.scalar(
                select(DedupKey.key).where(DedupKey.key == key, DedupKey.expires_on >= today)
            )
        return found is not None

    async def purge_expired_dedup_keys(self, today: date) -> int:
        """Delete keys whose ``expires_on`` is before ``today``; return how many went."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(DedupKey).where(DedupKey.expires_on < today),
                execution_options={"synchronize_session": False},
            )
        purged = cast(CursorResult[Any], result).rowcount
        logger.info("purged %d expired dedup keys", purged)
        return purged


async def _claim(session: AsyncSession, claim: DedupClaim, today: date) -> bool:
    """Insert the key, or take over an expired one; False if a live claim holds it."""
    # ON CONFLICT rather than catching IntegrityError: a duplicate is routine here (Telegram
    # redelivers updates, people double-tap) and must neither abort the PostgreSQL transaction
    # nor fill the server log with unique violations. Concurrent claims still serialize on the
    # primary key, so exactly one of them wins.
    insert_key = insert_on_conflict(session, DedupKey).values(
        key=claim.key, scope=claim.scope, expires_on=claim.expires_on
    )
    statement = insert_key.on_conflict_do_update(
        index_elements=[DedupKey.key],
        set_={"scope": insert_key.excluded.scope, "expires_on": insert_key.excluded.expires_on},
        # An expired key not yet purged must not block a new answer.
        where=DedupKey.expires_on < today,
    ).returning(DedupKey.key)
    claimed = (await session.execute(statement)).scalar_one_or_none()
    return claimed is not None
