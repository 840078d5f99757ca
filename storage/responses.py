"""Stores completed responses anonymously: grouped transactions, random row order, no keys."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Select,
    Table,
    delete,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from questionnaires.results import CompletedResponse
from storage.activity import ActivityCounter
from storage.database import is_infrastructure_error
from storage.models import Answer, DedupKey, Response
from storage.models_base import DEDUP_KEY_LENGTH
from storage.models_campaigns import InitiativeItem
from storage.models_reporting import ReportAnswer
from storage.report_answers import report_rows
from storage.sqlite_inline import InlineBusy, inline_engine, is_locked, pool_in_use

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
    done: asyncio.Future[bool]
    initiative_body: str | None = None
    #: Written with the response; a response whose key is stored already is not written.
    once: DedupClaim | None = None
    #: Set by the write that found ``once`` stored already (or earlier in its batch).
    repeat: bool = False


RESPONSES: Final[Table] = Response.__table__  # type: ignore[assignment]
ANSWERS: Final[Table] = Answer.__table__  # type: ignore[assignment]
REPORT_ANSWERS: Final[Table] = ReportAnswer.__table__  # type: ignore[assignment]
INITIATIVE_QUEUE: Final[Table] = InitiativeItem.__table__  # type: ignore[assignment]
DEDUP_KEYS: Final[Table] = DedupKey.__table__  # type: ignore[assignment]

#: At most this many responses share one transaction (bounds the statement size).
MAX_BATCH: Final = 500
#: A batch of at most this many responses is written on the event loop (SQLite, see
#: ResponseStore._write_inline); a larger one goes through the pool, not to hold up the loop.
INLINE_RESPONSES: Final = 100
#: What the activity counter calls a stored response.
STORED_RESPONSES: Final = "responses stored"

#: After ``reshuffled_responses`` holds the responses to move (see ResponseStore.reshuffle).
_RESHUFFLE: Final = (
    "CREATE TEMP TABLE reshuffled_answers ON COMMIT DROP AS SELECT a.* FROM answers a "
    "JOIN reshuffled_responses r ON r.id = a.response_id",
    "CREATE TEMP TABLE reshuffled_report_answers ON COMMIT DROP AS SELECT a.* "
    "FROM report_answers a JOIN reshuffled_responses r ON r.id = a.response_id",
    # Officers' re-tags of open answers (storage.open_answers) hang on the answers.
    "CREATE TEMP TABLE reshuffled_open_answer_tags ON COMMIT DROP AS SELECT t.* "
    "FROM open_answer_tags t JOIN reshuffled_answers a ON a.id = t.answer_id",
    # Answers, their reports' copies and their re-tags go with their responses (ON DELETE
    # CASCADE): every table that cascades from them is saved above and written back below.
    "DELETE FROM responses WHERE id IN (SELECT id FROM reshuffled_responses)",
    "INSERT INTO responses SELECT * FROM reshuffled_responses ORDER BY random()",
    "INSERT INTO answers SELECT * FROM reshuffled_answers ORDER BY random()",
    "INSERT INTO report_answers SELECT * FROM reshuffled_report_answers ORDER BY random()",
    "INSERT INTO open_answer_tags SELECT * FROM reshuffled_open_answer_tags ORDER BY random()",
)

#: Row order within a batch: not predictable from the process's other random numbers.
_shuffle = random.SystemRandom().shuffle


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
        "front": str(response.front),
    }
    # Random ids, sorted within the response: its answers keep the questionnaire's order
    # (reports list a multiple choice's options that way), while across responses the ids
    # say nothing about which came first.
    answer_ids = sorted(uuid.uuid4() for _ in response.answers)
    answers = [
        {
            "id": answer_id,
            "response_id": response_id,
            "question_id": answer.question_id,
            "option_id": answer.option_id,
            "number": answer.number,
            "text": answer.text,
        }
        for answer_id, answer in zip(answer_ids, response.answers, strict=True)
    ]
    return row, answers


class ResponseStore:
    """Writes responses and their answers, in no order that follows completion.

    Saves are grouped: responses completed at about the same moment are written in one
    transaction (each caller still waits for its own commit), because on the answer path one
    transaction per response costs more than everything else a button press does. The grouping
    is adaptive: a save that finds the writer idle is written at once, so a lone person (or a
    web form) never waits for a timer; saves that arrive while a batch is being written wait up
    to ``flush_interval`` for more company. Within a
    transaction the rows go in random order. If a batch fails for a reason other than the
    database being unavailable, its responses are retried one by one, so one bad row (a NUL
    character on PostgreSQL, say) fails its own caller only.

    On SQLite a batch of up to ``INLINE_RESPONSES`` responses (a lone one, or a group: through
    the pool a group paid a dozen hops to aiosqlite's thread while the loop sat idle) is
    written right on the event loop through a connection of the store's own
    (``storage.sqlite_inline``), without aiosqlite's thread hops; when another connection holds
    the write lock, or the engine's pool is in use, it goes through the pool as before.
    ``driver_shortcuts=False`` always takes the pool.

    Nothing person-derived is written here: the ballot-stuffing guard lives in memory
    (services.rating_guard), poll participation keys are written apart (storage.campaigns).
    A dialog's completion key (``save(once=...)``) is a keyed hash of a random id kept only in
    the dialog's state, never of the person.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        flush_interval: float = 0.002,
        activity: ActivityCounter | None = None,
        overall: Mapping[str, str] | None = None,
        driver_shortcuts: bool = True,
    ) -> None:
        self._sessions = sessions
        self._driver_shortcuts = driver_shortcuts
        # SQLite only: a synchronous engine over a connection of our own (False: not here).
        self._inline: Engine | Literal[False] | None = None
        self._bind: AsyncEngine | None = None
        self._forgets = False  # _forget_inline listens for the engine's disposal
        #: Each questionnaire's overall question: the reports' copies carry the response's
        #: overall score, written in the response's transaction (storage.report_answers).
        self._overall = dict(overall) if overall is not None else None
        self._flush_interval = flush_interval
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.activity = activity if activity is not None else ActivityCounter()
        #: Batches that waited for company because others were saving (a figure for tests).
        self.grouped_writes = 0

    async def save(
        self,
        response: CompletedResponse,
        *,
        initiative_body: str | None = None,
        once: DedupClaim | None = None,
    ) -> bool:
        """Store the response and its answers; returns once they are committed.

        ``initiative_body``: the message of an initiative response as the internal officer will
        read it (services.initiative), queued for the daily batch in the response's own
        transaction, so a failure between the two can neither lose it nor, on a retry, queue it
        twice (review).

        ``once``: a key written in the response's transaction (``dedup_keys``); when it is
        stored already the response is not written again and False is returned (the same
        completion repeated after its commit). The key holds no link to the response: no
        column of either names the other, and both tables' rows go in random order.
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(response, done, initiative_body, once))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="otklik-responses")
        return await done

    async def _write_loop(self) -> None:
        # Adaptive: a save that finds the writer idle is written at once (it already took
        # every save of its event-loop turn with it); only when saves arrived while the
        # previous batch was being written (others are finishing too) does the next batch
        # wait ``flush_interval`` for company.
        busy = False
        while self._pending:
            if busy:
                await asyncio.sleep(self._flush_interval)
                self.grouped_writes += 1
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._write(batch)
            except Exception as error:
                # A lone keyed response is tried once more: on PostgreSQL a key committed
                # meanwhile by another worker fails the insert, and the retry reads it (a
                # repeat, not an error that would give the winner's rating back; review).
                if is_infrastructure_error(error) or (len(batch) == 1 and batch[0].once is None):
                    _settle(batch, error)
                else:
                    await self._write_one_by_one(batch)
            else:
                _settle(batch, None)
            busy = bool(self._pending)

    async def _write_one_by_one(self, batch: list[_Pending]) -> None:
        for index, pending in enumerate(batch):
            try:
                await self._write([pending])
            except Exception as error:
                if is_infrastructure_error(error):
                    _settle(batch[index:], error)
                    return
                _settle([pending], error)
            else:
                _settle([pending], None)

    async def _write(self, batch: list[_Pending]) -> None:
        """Write ``batch`` in one transaction."""
        if not (len(batch) <= INLINE_RESPONSES and await self._write_inline(batch)):
            async with self._sessions.begin() as session:
                keys = _keys(batch)
                known = set(await session.scalars(_known(keys))) if keys else set()
                # Core inserts of the tables, not ORM bulk inserts: cheaper on the answer path.
                for table, rows in self._tables(batch, known):
                    await session.execute(insert(table), rows)
        # Counted, not logged: a line per response would give each one its time of day.
        self.activity.add(STORED_RESPONSES, sum(not pending.repeat for pending in batch))

    def _tables(
        self, batch: list[_Pending], known: set[str]
    ) -> list[tuple[Table, list[dict[str, Any]]]]:
        """The rows of ``batch`` to insert, table by table, each table's rows shuffled; a
        response whose ``once`` key is in ``known`` (or earlier in the batch) is marked a
        repeat and left out."""
        responses: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        copies: list[dict[str, Any]] = []
        queued: list[dict[str, Any]] = []
        claimed: list[dict[str, Any]] = []
        seen = set(known)
        for pending in batch:
            once = pending.once
            pending.repeat = once is not None and once.key in seen
            if pending.repeat:
                continue
            if once is not None:
                seen.add(once.key)
                claimed.append(
                    {"key": once.key, "scope": once.scope, "expires_on": once.expires_on}
                )
            response_row, answer_rows = response_rows(pending.response)
            responses.append(response_row)
            answers += answer_rows
            copies += report_rows(response_row, answer_rows, self._overall)
            if pending.initiative_body is not None:
                queued.append(_queued_row(pending.response, pending.initiative_body))
        _shuffle(responses)
        _shuffle(answers)
        _shuffle(copies)
        _shuffle(queued)
        _shuffle(claimed)
        tables = [(RESPONSES, responses), (ANSWERS, answers), (REPORT_ANSWERS, copies)]
        tables += [(INITIATIVE_QUEUE, queued), (DEDUP_KEYS, claimed)]
        return [(table, rows) for table, rows in tables if rows]

    async def _write_inline(self, batch: list[_Pending]) -> bool:
        """``batch`` committed right here on the event loop (SQLite, see the class); False,
        nothing done, when that is not possible now. Its keys already stored are read in the
        same transaction, as on the pooled path."""
        inline = await self._inline_engine()
        if inline is None or self._bind is None or pool_in_use(self._bind):
            return False
        with inline.connect() as connection:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except Exception as error:
                if is_locked(error):
                    return False  # someone else is writing: queue behind them in the pool
                raise
            try:
                keys = _keys(batch)
                known = set(connection.scalars(_known(keys))) if keys else set()
                _insert_all(connection, self._tables(batch, known))
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        return True

    async def _inline_engine(self) -> Engine | None:
        if self._inline is None:
            self._inline = False
            if self._driver_shortcuts:
                bind = self._sessions.kw.get("bind")
                if bind is None:
                    async with self._sessions() as session:
                        bind = session.bind
                if isinstance(bind, AsyncEngine):
                    self._bind = bind
                    try:
                        self._inline = inline_engine(bind) or False
                    except InlineBusy:
                        # Locked now (another process recovering the WAL): through the pool
                        # this time, and the inline connection is tried again next time.
                        self._inline = None
                        return None
                    if self._inline and not self._forgets:
                        # Closed with the engine; an engine used again after dispose() gets
                        # a new one at the next lone save.
                        event.listen(bind.sync_engine, "engine_disposed", self._forget_inline)
                        self._forgets = True
        return self._inline or None

    def _forget_inline(self, _engine: Engine) -> None:
        self._inline = None

    async def reshuffle(self, since: date) -> int:
        """On PostgreSQL, rewrite the responses dated ``since`` or later, and their answers, in
        random order in one transaction; return how many responses moved (0 on SQLite).

        A PostgreSQL heap keeps rows where they were appended and stamps each with the id of
        the transaction that wrote it (``xmin``, readable by any SQL user): both order the
        responses as they were completed, even though each batch is shuffled. Rewritten, they
        share one ``xmin`` and lie in random order. SQLite keeps these tables as B-trees of
        their random keys, so there the order is random from the start.
        """
        async with self._sessions.begin() as session:
            connection = await session.connection()
            if connection.dialect.name != "postgresql":
                return 0
            copied = await connection.execute(
                text(
                    "CREATE TEMP TABLE reshuffled_responses ON COMMIT DROP AS "
                    "SELECT * FROM responses WHERE submitted_on >= :since"
                ),
                {"since": since},
            )
            moved = cast(CursorResult[Any], copied).rowcount
            if moved:
                for statement in _RESHUFFLE:
                    await connection.execute(text(statement))
        return moved

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


def _insert_all(connection: Connection, tables: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    for table, rows in tables:
        connection.execute(insert(table), rows)


def _queued_row(response: CompletedResponse, body: str) -> dict[str, Any]:
    """The initiative queue row of a response (storage.staff reads and deletes it): a random
    id, the day, the department as the response has it; no link to the response."""
    return {
        "id": uuid.uuid4().hex,
        "received_on": response.submitted_on,
        "department": response.department,
        "body_html": body,
    }


def _keys(batch: list[_Pending]) -> list[str]:
    """The ``once`` keys of ``batch``."""
    return [pending.once.key for pending in batch if pending.once is not None]


def _known(keys: list[str]) -> Select[str]:
    """Which of ``keys`` are stored already."""
    return select(DedupKey.key).where(DedupKey.key.in_(keys))


def _settle(batch: list[_Pending], error: Exception | None) -> None:
    for pending in batch:
        if pending.done.done():
            continue
        if error is None:
            pending.done.set_result(not pending.repeat)
        else:
            pending.done.set_exception(error)
