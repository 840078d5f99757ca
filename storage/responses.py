"""Stores completed responses anonymously, once per dedup claim, in one transaction."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, cast

from sqlalchemy import CursorResult, Table, delete, insert, select
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


@dataclass(slots=True)
class _Pending:
    response: CompletedResponse
    dedup: DedupClaim | None
    done: asyncio.Future[bool]


RESPONSES: Final[Table] = Response.__table__  # type: ignore[assignment]
ANSWERS: Final[Table] = Answer.__table__  # type: ignore[assignment]

#: At most this many responses share one transaction (bounds the statement size).
MAX_BATCH: Final = 500


def response_rows(
    response: CompletedResponse,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The table rows of one response (with a fresh random id) and of its answers."""
    response_id = uuid.uuid4()
    context = response.context
    row = {
        "id": response_id,
        "questionnaire_id": response.questionnaire_id,
        "questionnaire_version": response.questionnaire_version,
        "kind": response.kind,
        "audience": response.audience,
        "service_code": context.service,
        "channel_code": context.channel,
        "life_situation_code": context.life_situation,
        "submitted_on": response.submitted_on,
        "window_id": response.window_id,
        "department": response.department,
    }
    answers = [
        {
            "response_id": response_id,
            "question_id": answer.question_id,
            "option_id": answer.option_id,
            "number": answer.number,
            "text": answer.text,
        }
        for answer in response.answers
    ]
    return row, answers


class ResponseStore:
    """Writes responses and their answers; owns the dedup keys that guard them.

    Saves are grouped: responses completed at about the same moment are written in one
    transaction (each caller still waits for its own commit), because on the answer path one
    transaction per response costs more than everything else a button press does.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, flush_interval: float = 0.002
    ) -> None:
        self._sessions = sessions
        self._flush_interval = flush_interval
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, response: CompletedResponse, *, dedup: DedupClaim | None = None) -> bool:
        """Store the response and its answers; False (and nothing stored) if ``dedup`` is taken."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(response, dedup, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="otklik-responses")
        return await done

    async def _write_loop(self) -> None:
        while self._pending:
            # Let the completions of updates being handled right now join this transaction.
            await asyncio.sleep(self._flush_interval)
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                stored = await self._write(batch)
            except Exception as error:
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(error)
                continue
            for pending, ok in zip(batch, stored, strict=True):
                if not pending.done.done():
                    pending.done.set_result(ok)

    async def _write(self, batch: list[_Pending]) -> list[bool]:
        accepted = [True] * len(batch)
        async with self._sessions.begin() as session:
            claims: dict[str, int] = {}
            for index, pending in enumerate(batch):
                if pending.dedup is None:
                    continue
                if pending.dedup.key in claims:
                    accepted[index] = False  # the same claim twice in one batch: first wins
                else:
                    claims[pending.dedup.key] = index
            if claims:
                claimed = await _claim_many(
                    session,
                    [batch[index].dedup for index in claims.values()],  # type: ignore[misc]
                    min(batch[index].response.submitted_on for index in claims.values()),
                )
                for key, index in claims.items():
                    accepted[index] = key in claimed
            responses: list[dict[str, Any]] = []
            answers: list[dict[str, Any]] = []
            for pending, ok in zip(batch, accepted, strict=True):
                if not ok:
                    continue
                response_row, answer_rows = response_rows(pending.response)
                responses.append(response_row)
                answers += answer_rows
            # Core inserts of the tables, not ORM bulk inserts: cheaper on the answer path.
            if responses:
                await session.execute(insert(RESPONSES), responses)
            if answers:
                await session.execute(insert(ANSWERS), answers)
        refused = accepted.count(False)
        # Only counts are logged: answer content never goes to the log.
        logger.info(
            "stored %d response(s) with %d answers; %d refused as repeats",
            len(responses),
            len(answers),
            refused,
        )
        return accepted

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


async def _claim_many(session: AsyncSession, claims: list[DedupClaim], today: date) -> set[str]:
    """Insert the keys, or take over expired ones; returns the keys this batch now holds."""
    # ON CONFLICT rather than catching IntegrityError: a duplicate is routine here (Telegram
    # redelivers updates, people double-tap) and must neither abort the PostgreSQL transaction
    # nor fill the server log with unique violations. Concurrent claims still serialize on the
    # primary key, so exactly one of them wins.
    insert_keys = insert_on_conflict(session, DedupKey).values(
        [{"key": c.key, "scope": c.scope, "expires_on": c.expires_on} for c in claims]
    )
    statement = insert_keys.on_conflict_do_update(
        index_elements=[DedupKey.key],
        set_={"scope": insert_keys.excluded.scope, "expires_on": insert_keys.excluded.expires_on},
        # An expired key not yet purged must not block a new answer.
        where=DedupKey.expires_on < today,
    ).returning(DedupKey.key)
    return set((await session.execute(statement)).scalars())
