"""Open answers for counting by category, officers' re-tags, and initiative topics.

Reads plain rows (day, cell, text) for the pure counting in ``reports.open_answers``; the
categories themselves are decided there from the keyword rules, unless an officer re-tagged an
answer (``open_answer_tags``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Protocol

from sqlalchemy import String, and_, delete, func, insert, or_, select, true, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from questionnaires.fronts import Front
from storage.models import Answer, Response
from storage.models_open_answers import OpenAnswerTag
from storage.models_reporting import ReportAnswer


class Scope(Protocol):
    """Which responses (reports.model.Scope fits); None means any."""

    @property
    def service(self) -> str | None: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def life_situation(self) -> str | None: ...
    @property
    def audience(self) -> str: ...


#: Service, channel, life situation and front, as the reports' atoms: the web's answers that
#: join no web block are counted in no figure (reports.disclosure, ``Plan.counted``).
Cell = tuple[str | None, str | None, str | None, str]


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class OpenAnswer:
    """One free text of a response: a comment, an "other: …" follow-up, an initiative message."""

    #: Only a grouping key: a UUID, or from :meth:`OpenAnswerStore.answers` the id as stored.
    response_id: Hashable
    #: The answer's id as the driver gives it (32 hex digits on SQLite, a UUID on
    #: PostgreSQL): converted only when asked for (:attr:`answer_id`), which the counting does
    #: only while an officer's re-tag exists in the period (issue 15).
    answer_key: Hashable
    day: date
    cell: Cell
    questionnaire_id: str
    text: str
    window_id: int | None = None

    @property
    def answer_id(self) -> uuid.UUID:
        """The answer's id, by which officers re-tag it."""
        return _uuid(self.answer_key)


@dataclass(frozen=True, slots=True)
class ChosenOption:
    """One option chosen in a response (initiative topics)."""

    day: date
    cell: Cell
    question_id: str
    option_id: str


_COLUMNS: Final = (
    Response.id,
    Answer.id,
    Response.submitted_on,
    Response.service_code,
    Response.channel_code,
    Response.life_situation_code,
    Response.questionnaire_id,
    Answer.text,
    Response.window_id,
    Response.front,
)


_copy: Final = ReportAnswer.__table__.c
_answer: Final = Answer.__table__.c

#: The same columns from the reports' copy of the answers (storage.models_reporting), the text
#: from the answer itself; Core columns, so the rows skip the ORM's loading. The response's id
#: is only a grouping key there (reports.open_answers.categories_by_response): it is read as
#: the driver returns it (text on SQLite), not converted to a UUID, which cost ~6 µs per row
#: under load, a tenth of the read at 1M answers (issue 15). Nor is the answer's id, until
#: asked for (:attr:`OpenAnswer.answer_id`): officers re-tag answers by it.
_COPY_COLUMNS: Final = (
    type_coerce(_copy.response_id, String()),
    type_coerce(_copy.id, String()),
    _copy.submitted_on,
    _copy.service_code,
    _copy.channel_code,
    _copy.life_situation_code,
    _copy.questionnaire_id,
    _answer.text,
    _copy.window_id,
    _copy.front,
)


def _uuid(value: object) -> uuid.UUID:
    """A UUID column read raw: asyncpg gives a UUID already, SQLite the 32 hex digits the
    ``Uuid`` type stores."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


def _open_answer(row: Sequence[Any]) -> OpenAnswer:
    return OpenAnswer(
        row[0],
        row[1],
        _day(row[2]),
        (row[3], row[4], row[5], str(row[9])),
        row[6],
        str(row[7]),
        row[8],
    )


#: One open answer as the counting needs it: its response's and its own key as the driver
#: gives them (see :class:`OpenAnswer`), its day and its cell; no text.
AnswerKey = tuple[Hashable, Hashable, date, Cell]

#: The copy's columns of :data:`AnswerKey`: all in the copy, no join to the answers. The day
#: too is read as the driver gives it (text on SQLite) and converted once per distinct day
#: (:meth:`OpenAnswerStore.answer_keys`): SQLAlchemy's date parsing per row was most of the
#: Python side of reading 35,000 open answers at 1M answers (issue 15).
_KEY_COLUMNS: Final = (
    type_coerce(_copy.response_id, String()),
    type_coerce(_copy.id, String()),
    type_coerce(_copy.submitted_on, String()),
    _copy.service_code,
    _copy.channel_code,
    _copy.life_situation_code,
    _copy.front,
)

#: Answers whose texts one statement of :meth:`OpenAnswerStore.texts` reads by id (well under
#: SQLite's and asyncpg's limits on bound parameters).
TEXT_BATCH: Final = 2000


def answer_id(key: Hashable) -> uuid.UUID:
    """The answer's id of an answer key (:data:`AnswerKey`), by which officers re-tag it."""
    return _uuid(key)


def _open_terms(
    audience: str,
    start: date,
    end: date,
    comment_questions: Mapping[str, Collection[str]],
    questionnaires: Collection[str] | None,
) -> list[ColumnElement[bool]]:
    """The copy's rows of the audience's open answers in the period, outside poll windows.

    The period's answers with a text are one range of the copy's partial index (revision
    0030): the condition ``has_text = 1`` as the index spells it lets SQLite use it. Read from
    the responses, every answer of the period was read to find the few with a text. An answer
    is open when it is an "other: …" follow-up or a comment question's text."""
    copy = _copy
    open_terms: list[ColumnElement[bool]] = [copy.option_id.is_not(None)]
    for questionnaire, ids in comment_questions.items():
        if ids:
            open_terms.append(
                and_(copy.questionnaire_id == questionnaire, copy.question_id.in_(ids))
            )
    terms = [
        copy.has_text == true(),
        copy.audience == audience,
        copy.submitted_on.between(start, end),
        copy.window_id.is_(None),
        or_(*open_terms),
    ]
    if questionnaires is not None:
        terms.append(copy.questionnaire_id.in_(list(questionnaires)))
    return terms


class OpenAnswerStore:
    """Reads open answers and keeps officers' re-tags."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def answers(
        self,
        *,
        audience: str,
        start: date,
        end: date,
        comment_questions: Mapping[str, Collection[str]],
        questionnaires: Collection[str] | None = None,
    ) -> list[OpenAnswer]:
        """Every open answer of the audience in the period (the whole audience: the disclosure
        plan of a count is built over all of it, whatever the scope), poll windows' answers
        excluded like every calendar figure's (docs/anonymity.md, "Poll windows and calendar
        figures"): pooled, a count minus the report's comments isolated a hidden window."""
        # Each text is found by its answer's id (see _open_terms for the copy's side).
        statement = (
            select(*_COPY_COLUMNS)
            .select_from(ReportAnswer.__table__)
            .join(
                Answer.__table__,
                and_(_answer.id == _copy.id, _answer.response_id == _copy.response_id),
            )
            .where(
                *_open_terms(audience, start, end, comment_questions, questionnaires),
                _answer.text.is_not(None),
            )
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [
            OpenAnswer(
                row[0],
                row[1],
                _day(row[2]),
                (row[3], row[4], row[5], str(row[9])),
                row[6],
                row[7],
                row[8],
            )
            for row in rows
            if row[7]
        ]

    async def answer_keys(
        self,
        *,
        audience: str,
        start: date,
        end: date,
        comment_questions: Mapping[str, Collection[str]],
        questionnaires: Collection[str] | None = None,
    ) -> list[AnswerKey]:
        """The open answers :meth:`answers` gives, without their texts: (response key, answer
        key, day, cell) from the reports' copy alone (the counting takes each answer's
        categories by its key, reading the texts it has not categorised yet with
        :meth:`texts`). Half of reading :meth:`answers` at 1M answers was finding each text by
        its answer's id (issue 15)."""
        statement = (
            select(*_KEY_COLUMNS)
            .select_from(ReportAnswer.__table__)
            .where(*_open_terms(audience, start, end, comment_questions, questionnaires))
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        # A period has a few hundred days and a few thousand cells: each is built once, and
        # the answers share them (equal lists then compare mostly by identity, which
        # services.open_answers does to reuse its counts).
        days: dict[object, date] = {}
        cells: dict[tuple[object, ...], Cell] = {}
        keys: list[AnswerKey] = []
        for response, key, raw_day, service, channel, situation, front in rows:
            day = days.get(raw_day)
            if day is None:
                day = days[raw_day] = _day(raw_day)
            place = (service, channel, situation, front)
            cell = cells.get(place)
            if cell is None:
                cell = cells[place] = (service, channel, situation, str(front))
            keys.append((response, key, day, cell))
        return keys

    async def answer_days(
        self,
        *,
        audience: str,
        start: date,
        end: date,
        comment_questions: Mapping[str, Collection[str]],
    ) -> dict[date, int]:
        """How many open answers :meth:`answer_keys` gives per day: one range of the texts'
        covering index grouped in its order, a few hundred rows instead of every answer. It
        tells whether a period's open answers changed since they were read (a late answer, a
        deleted one), as the reports' month memo tells it by the responses (issue 15)."""
        day = type_coerce(_copy.submitted_on, String())
        statement = (
            select(day, func.count())
            .select_from(ReportAnswer.__table__)
            .where(*_open_terms(audience, start, end, comment_questions, None))
            .group_by(_copy.submitted_on)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return {_day(raw): int(count) for raw, count in rows}

    async def texts(self, keys: Collection[Hashable]) -> dict[Hashable, str]:
        """The non-empty texts of the answers of ``keys`` (as :meth:`answer_keys` gives them),
        by key; an answer without a text (or gone) is left out."""
        wanted = {_uuid(key): key for key in keys}
        found: dict[Hashable, str] = {}
        ids = list(wanted)
        async with self._sessions() as session:
            for first in range(0, len(ids), TEXT_BATCH):
                statement = select(_answer.id, _answer.text).where(
                    _answer.id.in_(ids[first : first + TEXT_BATCH]), _answer.text.is_not(None)
                )
                for answer_id, text in await session.execute(statement):
                    if text:
                        found[wanted[answer_id]] = str(text)
        return found

    async def tags(self, *, audience: str, start: date, end: date) -> dict[uuid.UUID, set[str]]:
        """Officers' re-tags of the answers of the audience's responses in the period (outside
        poll windows, as :meth:`answers`)."""
        # From the re-tags (a few, officers' work) to their answers and responses by key: a
        # join let SQLite read every response of the period to find the few re-tagged.
        tagged = (
            select(Answer.id)
            .join(Response, Response.id == Answer.response_id)
            .where(
                Answer.id == OpenAnswerTag.answer_id,
                Response.audience == audience,
                Response.submitted_on.between(start, end),
                Response.window_id.is_(None),
            )
            .correlate(OpenAnswerTag)
        )
        statement = select(OpenAnswerTag.answer_id, OpenAnswerTag.category).where(tagged.exists())
        found: dict[uuid.UUID, set[str]] = {}
        async with self._sessions() as session:
            for answer_id, category in await session.execute(statement):
                found.setdefault(answer_id, set()).add(category)
        return found

    async def tags_of(self, answer_id: uuid.UUID) -> set[str] | None:
        """The re-tag of one answer, or None when no officer changed its categories."""
        statement = select(OpenAnswerTag.category).where(OpenAnswerTag.answer_id == answer_id)
        async with self._sessions() as session:
            found = set((await session.execute(statement)).scalars())
        return found or None

    async def retag(self, answer_id: uuid.UUID, categories: Collection[str]) -> bool:
        """Count the answer in exactly ``categories`` from now on (one transaction).

        False when the answer no longer exists (deleted since the list was drawn).
        """
        async with self._sessions.begin() as session:
            exists = await session.scalar(select(Answer.id).where(Answer.id == answer_id))
            if exists is None:
                return False
            await session.execute(
                delete(OpenAnswerTag).where(OpenAnswerTag.answer_id == answer_id)
            )
            if categories:
                await session.execute(
                    insert(OpenAnswerTag),
                    [{"answer_id": answer_id, "category": c} for c in sorted(categories)],
                )
        return True

    async def comments(
        self,
        *,
        scope: Scope,
        start: date,
        end: date,
        comment_questions: Mapping[str, Collection[str]],
        limit: int,
        web: bool = True,
    ) -> list[OpenAnswer]:
        """The newest ``limit`` comments of the scope, as reports.metrics reads them for the
        report (poll windows' answers excluded: they reach officers with the window); without
        the web's with ``web`` false, as the report leaves them out when some web answers of
        the scope were dropped (reports.disclosure, ``Report.comments_web``)."""
        if not comment_questions or limit <= 0:
            return []
        terms = [
            Response.audience == scope.audience,
            Response.submitted_on.between(start, end),
            Response.window_id.is_(None),
            Answer.text.is_not(None),
            or_(
                *(
                    and_(Response.questionnaire_id == q, Answer.question_id.in_(list(ids)))
                    for q, ids in comment_questions.items()
                )
            ),
        ]
        if not web:
            terms.append(Response.front != Front.WEB)
        for column, code in (
            (Response.service_code, scope.service),
            (Response.channel_code, scope.channel),
            (Response.life_situation_code, scope.life_situation),
        ):
            if code is not None:
                terms.append(column == code)
        statement = (
            select(*_COLUMNS)
            .join(Answer, Answer.response_id == Response.id)
            .where(*terms)
            .order_by(Response.submitted_on.desc(), Answer.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [_open_answer(row) for row in rows if row[7]]

    async def answer(self, answer_id: uuid.UUID) -> OpenAnswer | None:
        """One answer with its response's context, for the checks of a re-tag press."""
        statement = (
            select(*_COLUMNS)
            .join(Answer, Answer.response_id == Response.id)
            .where(Answer.id == answer_id)
        )
        async with self._sessions() as session:
            row = (await session.execute(statement)).first()
        if row is None or not row[7]:
            return None
        return _open_answer(row)

    async def options(
        self,
        *,
        audience: str,
        start: date,
        end: date,
        questions: Mapping[str, str],
    ) -> list[ChosenOption]:
        """Options chosen for one question per questionnaire (initiative topics), outside poll
        windows like every calendar figure."""
        if not questions:
            return []
        terms = [
            and_(Response.questionnaire_id == questionnaire, Answer.question_id == question)
            for questionnaire, question in questions.items()
        ]
        statement = (
            select(
                Response.submitted_on,
                Response.service_code,
                Response.channel_code,
                Response.life_situation_code,
                Response.front,
                Answer.question_id,
                Answer.option_id,
            )
            .join(Answer, Answer.response_id == Response.id)
            .where(
                Response.audience == audience,
                Response.submitted_on.between(start, end),
                Response.window_id.is_(None),
                Answer.option_id.is_not(None),
                or_(*terms),
            )
        )
        async with self._sessions() as session:
            rows: Sequence[tuple[object, ...]] = (await session.execute(statement)).all()
        return [
            ChosenOption(_day(r[0]), (r[1], r[2], r[3], str(r[4])), str(r[5]), str(r[6]))  # type: ignore[arg-type]
            for r in rows
        ]
