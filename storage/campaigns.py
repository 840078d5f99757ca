"""Stores poll windows, staff enrollment and publications; one public method, one transaction."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Protocol, cast

from sqlalchemy import CursorResult, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.campaigns import EnrollStatus, Verdict, WindowOrigin, WindowStatus
from questionnaires.fronts import Front
from questionnaires.results import CANNOT_RATE, CompletedResponse
from storage.activity import ActivityCounter
from storage.models import Answer, DedupKey, Response
from storage.models_campaigns import InviteCode, PollWindow, Publication, StaffMember
from storage.report_answers import report_rows
from storage.responses import ANSWERS, REPORT_ANSWERS, RESPONSES, DedupClaim, response_rows
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

#: Participation keys of window 17 live in dedup_keys under scope "window:17".
WINDOW_SCOPE_PREFIX: Final = "window:"
SCORES: Final = (1, 2, 3, 4, 5)
#: What the activity counter calls a stored answer of a poll window.
STORED_POLL_ANSWERS: Final = "poll answers stored"
#: Participation keys are written once at least this many wait (or at close of business).
DEFAULT_KEY_BATCH: Final = 5

_shuffle = random.SystemRandom().shuffle


def window_scope(window_id: int) -> str:
    return f"{WINDOW_SCOPE_PREFIX}{window_id}"


class ParticipationClaims(Protocol):
    """Participation keys shared by every process at the moment of completion
    (storage.participation_redis): claimed before the response is written, confirmed after."""

    async def claim(self, scope: str, key: str) -> bool: ...

    async def confirm(self, scope: str, key: str, expires_on: date) -> bool:
        """Keep this caller's claim until ``expires_on``; False if it is no longer its own
        (the window closed meanwhile, or the claim ran out): nothing is recreated."""
        ...

    async def release(self, scope: str, key: str) -> None: ...

    async def held(self, scope: str, key: str) -> bool: ...

    async def forget(self, scope: str) -> int: ...

    async def touch_all(self) -> int:
        """Give every key one idle time (none tells when its person completed)."""
        ...


@dataclass(frozen=True, slots=True)
class WindowRow:
    """A poll window as stored."""

    id: int
    campaign_id: str
    questionnaire_id: str
    audience: str
    opens_on: date
    closes_on: date
    status: WindowStatus
    origin: WindowOrigin
    opened_at: datetime | None
    closed_at: datetime | None
    invited_at: datetime | None
    reminders_done: int
    results_sent_at: datetime | None
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class Tally:
    """Answers to the overall question of one department (None: no department) in a window."""

    department: str | None
    respondents: int  # responses, whatever their overall answer
    by_score: tuple[int, ...]  # respondents per score 1..5
    cannot_rate: int
    #: Web answers (front "web"): a window's web and messenger answers are tallied apart, so
    #: the reports can keep fake web respondents from padding the messengers' groups.
    web: bool = False


@dataclass(frozen=True, slots=True)
class PublicationRow:
    window_id: int
    campaign_id: str
    audience: str
    opens_on: date
    closes_on: date
    text_html: str
    published_on: date


def _row(window: PollWindow) -> WindowRow:
    return WindowRow(
        id=window.id,
        campaign_id=window.campaign_id,
        questionnaire_id=window.questionnaire_id,
        audience=window.audience,
        opens_on=window.opens_on,
        closes_on=window.closes_on,
        status=WindowStatus(window.status),
        origin=WindowOrigin(window.origin),
        opened_at=window.opened_at,
        closed_at=window.closed_at,
        invited_at=window.invited_at,
        reminders_done=window.reminders_done,
        results_sent_at=window.results_sent_at,
        published_at=window.published_at,
    )


class _EnrolledMeanwhile(Exception):
    """The same person enrolled in a concurrent transaction: undo this one's code use."""


class CampaignStore:
    """Windows and their markers, participation keys, staff members, invite codes, results.

    Participation keys (one answer per person and window, no reminder to who answered) are
    ``HMAC(pepper, window, person)``: whoever holds the pepper and a chat id can recompute them.
    So a key is never written in its response's transaction, nor right after it: it waits in
    memory (where :meth:`has_participation` sees it) and goes to the database with at least
    ``key_batch`` others, in random order (:meth:`flush_participation`, every scheduler tick and
    at shutdown). A reader with the pepper learns who took part in an open window, never which
    response is whose beyond "one of the responses written since the previous batch". A crash
    loses the keys still waiting: those people could answer once more, or get a reminder.

    With several processes the memory of one is not seen by the others, so ``claims`` (Redis)
    holds every key from the moment of completion: a response is written only by the process
    that claimed its key, and a second attempt on any worker is refused. The batches to the
    database go on as before (the durable record, and the check without Redis).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        key_batch: int = DEFAULT_KEY_BATCH,
        activity: ActivityCounter | None = None,
        claims: ParticipationClaims | None = None,
        overall: Mapping[str, str] | None = None,
    ) -> None:
        """``overall``: each questionnaire's overall question, so a window's answers carry
        their overall score in the reports' copy (storage.report_answers), as
        ResponseStore's do."""
        if key_batch < 1:
            raise ValueError("key_batch must be at least 1")
        self._sessions = sessions
        self._overall = dict(overall) if overall is not None else None
        self._claims = claims
        self._key_batch = key_batch
        self.activity = activity if activity is not None else ActivityCounter()
        # Keys of stored answers not yet written, and keys whose answer is being written.
        self._waiting: dict[str, DedupClaim] = {}
        self._writing: set[str] = set()

    # --- windows --------------------------------------------------------------------------

    async def window(self, window_id: int) -> WindowRow | None:
        async with self._sessions.begin() as session:
            found = await session.get(PollWindow, window_id)
            return _row(found) if found is not None else None

    async def windows(
        self,
        *,
        campaign_id: str | None = None,
        statuses: Collection[WindowStatus] | None = None,
        audience: str | None = None,
    ) -> list[WindowRow]:
        """Windows matching every filter given, oldest opening first."""
        statement = select(PollWindow).order_by(PollWindow.opens_on, PollWindow.id)
        if campaign_id is not None:
            statement = statement.where(PollWindow.campaign_id == campaign_id)
        if statuses is not None:
            statement = statement.where(PollWindow.status.in_([str(s) for s in statuses]))
        if audience is not None:
            statement = statement.where(PollWindow.audience == audience)
        async with self._sessions.begin() as session:
            return [_row(window) for window in await session.scalars(statement)]

    async def open_window(
        self,
        *,
        campaign_id: str,
        questionnaire_id: str,
        audience: str,
        opens_on: date,
        closes_on: date,
        origin: WindowOrigin,
        now: datetime,
    ) -> tuple[WindowRow, bool]:
        """Open the run of the campaign that opens on `opens_on`; True if this call opened it.

        Idempotent: the row is created open, or a scheduled row turns open; an open or closed
        one is returned unchanged.
        """
        async with self._sessions.begin() as session:
            created = await session.scalar(
                insert_on_conflict(session, PollWindow)
                .values(
                    campaign_id=campaign_id,
                    questionnaire_id=questionnaire_id,
                    audience=audience,
                    opens_on=opens_on,
                    closes_on=closes_on,
                    status=WindowStatus.OPEN,
                    origin=origin,
                    opened_at=now,
                    reminders_done=0,
                )
                .on_conflict_do_nothing(
                    index_elements=[PollWindow.campaign_id, PollWindow.opens_on]
                )
                .returning(PollWindow.id)
            )
            opened = created is not None
            if not opened:
                turned = await session.scalar(
                    update(PollWindow)
                    .where(
                        PollWindow.campaign_id == campaign_id,
                        PollWindow.opens_on == opens_on,
                        PollWindow.status == WindowStatus.SCHEDULED,
                    )
                    .values(
                        status=WindowStatus.OPEN,
                        origin=origin,
                        closes_on=closes_on,
                        questionnaire_id=questionnaire_id,
                        opened_at=now,
                    )
                    .returning(PollWindow.id)
                )
                opened = turned is not None
            window = (
                await session.scalars(
                    select(PollWindow)
                    .where(PollWindow.campaign_id == campaign_id, PollWindow.opens_on == opens_on)
                    .execution_options(populate_existing=True)
                )
            ).one()
            return _row(window), opened

    async def schedule_window(
        self,
        *,
        campaign_id: str,
        questionnaire_id: str,
        audience: str,
        opens_on: date,
        closes_on: date,
    ) -> None:
        """Record the next run in advance (so a link may point at it); idempotent."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert_on_conflict(session, PollWindow)
                .values(
                    campaign_id=campaign_id,
                    questionnaire_id=questionnaire_id,
                    audience=audience,
                    opens_on=opens_on,
                    closes_on=closes_on,
                    status=WindowStatus.SCHEDULED,
                    origin=WindowOrigin.SCHEDULE,
                    reminders_done=0,
                )
                .on_conflict_do_nothing(
                    index_elements=[PollWindow.campaign_id, PollWindow.opens_on]
                )
            )

    async def drop_scheduled(self, keep: Mapping[str, date]) -> int:
        """Forget every scheduled (never opened) run but the one opening day kept per campaign.

        A campaign missing from `keep` (removed from the file, or with no run ahead) loses all
        of its scheduled runs; open and closed windows are never touched.
        """
        statement = delete(PollWindow).where(PollWindow.status == WindowStatus.SCHEDULED)
        for campaign_id, day in keep.items():
            statement = statement.where(
                or_(PollWindow.campaign_id != campaign_id, PollWindow.opens_on != day)
            )
        async with self._sessions.begin() as session:
            result = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
        return cast(CursorResult[Any], result).rowcount

    async def close_window(self, window_id: int, now: datetime) -> bool:
        """Close an open window; True if this call closed it.

        The participation keys go in the same transaction: nobody can answer any more, so
        nothing needs them, and no trace of who took part outlives the window.
        """
        async with self._sessions.begin() as session:
            closed = await session.scalar(
                update(PollWindow)
                .where(PollWindow.id == window_id, PollWindow.status == WindowStatus.OPEN)
                .values(status=WindowStatus.CLOSED, closed_at=now)
                .returning(PollWindow.id)
            )
            if closed is None:
                return False
            await session.execute(
                delete(DedupKey).where(DedupKey.scope == window_scope(window_id)),
                execution_options={"synchronize_session": False},
            )
        scope = window_scope(window_id)
        for key in [key for key, claim in self._waiting.items() if claim.scope == scope]:
            del self._waiting[key]
        if self._claims is not None:
            try:
                await self._claims.forget(scope)
            except Exception as error:  # they expire by themselves two days after the close
                logger.warning("window %d: shared keys not deleted: %s", window_id, error)
        return True

    async def mark(self, window_id: int, **values: object) -> None:
        """Record a marker: invited_at, reminders_done, results_sent_at or published_at."""
        allowed = {"invited_at", "reminders_done", "results_sent_at", "published_at"}
        if not values or set(values) - allowed:
            raise ValueError(f"markers are {sorted(allowed)}")
        async with self._sessions.begin() as session:
            await session.execute(
                update(PollWindow).where(PollWindow.id == window_id).values(**values)
            )

    # --- answers --------------------------------------------------------------------------

    async def participation_keys(self, window_id: int) -> set[str]:
        scope = window_scope(window_id)
        async with self._sessions.begin() as session:
            keys = set(await session.scalars(select(DedupKey.key).where(DedupKey.scope == scope)))
        return keys | {key for key, claim in self._waiting.items() if claim.scope == scope}

    async def has_participation(self, window_id: int, key: str) -> bool:
        scope = window_scope(window_id)
        waiting = self._waiting.get(key)
        if (waiting is not None and waiting.scope == scope) or key in self._writing:
            return True
        if self._claims is not None and await self._claims.held(scope, key):
            return True
        async with self._sessions.begin() as session:
            found = await session.scalar(
                select(DedupKey.key).where(DedupKey.key == key, DedupKey.scope == scope)
            )
        return found is not None

    async def touch_claims(self) -> int:
        """Touch every shared participation key (``claims``), so that Redis's idle times
        tell no order of completion; 0 without them. Every process, every minute."""
        if self._claims is None:
            return 0
        return await self._claims.touch_all()

    @property
    def waiting_keys(self) -> int:
        """Participation keys not yet written."""
        return len(self._waiting)

    async def save_answer(
        self, window_id: int, response: CompletedResponse, claim: DedupClaim, today: date
    ) -> Verdict:
        """Store a window's response if the window is still open and the key is new.

        The response is committed on its own; its key joins the waiting ones (see the class).
        """
        if claim.scope != window_scope(window_id) or response.window_id != window_id:
            raise ValueError("the response and the claim must name this window")
        if claim.key in self._waiting or claim.key in self._writing:
            return Verdict.ALREADY_ANSWERED
        # Held while the response is written: a double tap cannot pass the check meanwhile.
        self._writing.add(claim.key)
        try:
            verdict = await self._store_shared(window_id, response, claim, today)
            if verdict is Verdict.OK:
                self._waiting[claim.key] = claim
        finally:
            self._writing.discard(claim.key)
        if verdict is Verdict.OK:
            self.activity.add(STORED_POLL_ANSWERS)
        return verdict

    async def _store_shared(
        self, window_id: int, response: CompletedResponse, claim: DedupClaim, today: date
    ) -> Verdict:
        """The response, written only by the process that claimed its key (with ``claims``)."""
        claims = self._claims
        if claims is None:
            return await self._store_answer(window_id, response, claim.key, today)
        if not await claims.claim(claim.scope, claim.key):
            return Verdict.ALREADY_ANSWERED
        try:
            verdict = await self._store_answer(window_id, response, claim.key, today)
        except BaseException:
            await _give_back(claims, claim)
            raise
        if verdict is not Verdict.OK:
            await _give_back(claims, claim)
            return verdict
        try:
            await claims.confirm(claim.scope, claim.key, claim.expires_on)
        except Exception as error:  # stored: the claim stays until it expires, then memory
            logger.warning("participation claim not confirmed: %s", type(error).__name__)
        return verdict

    async def _store_answer(
        self, window_id: int, response: CompletedResponse, key: str, today: date
    ) -> Verdict:
        async with self._sessions.begin() as session:
            # FOR SHARE: answers do not wait for each other, but closing (an UPDATE of this
            # row) waits for them, and an answer arriving after the close sees it closed.
            window = (
                await session.execute(
                    select(PollWindow.status, PollWindow.opens_on, PollWindow.closes_on)
                    .where(PollWindow.id == window_id)
                    .with_for_update(read=True)
                )
            ).one_or_none()
            if window is None:
                return Verdict.UNKNOWN
            status, opens_on, closes_on = window
            if status == WindowStatus.SCHEDULED or today < opens_on:
                return Verdict.NOT_OPEN
            if status == WindowStatus.CLOSED or today > closes_on:
                return Verdict.CLOSED
            # Read only: the key itself is written later, with others (see the class).
            known = await session.scalar(select(DedupKey.key).where(DedupKey.key == key))
            if known is not None:
                return Verdict.ALREADY_ANSWERED
            await insert_response(session, response, self._overall)
        return Verdict.OK

    async def flush_participation(self, *, force: bool = False) -> int:
        """Write the waiting keys of open windows, shuffled, once ``key_batch`` of them wait
        (any number with ``force``); return how many were written."""
        if not self._waiting or (len(self._waiting) < self._key_batch and not force):
            return 0
        batch, self._waiting = self._waiting, {}
        claims = list(batch.values())
        _shuffle(claims)
        try:
            async with self._sessions.begin() as session:
                scopes = {claim.scope for claim in claims}
                ids = [int(scope.removeprefix(WINDOW_SCOPE_PREFIX)) for scope in scopes]
                # FOR SHARE, like an answer: a window closing meanwhile waits, then deletes
                # these keys with the others; a window already closed gets none.
                open_ids = set(
                    await session.scalars(
                        select(PollWindow.id)
                        .where(PollWindow.id.in_(ids), PollWindow.status == WindowStatus.OPEN)
                        .with_for_update(read=True)
                    )
                )
                rows = [
                    {"key": c.key, "scope": c.scope, "expires_on": c.expires_on}
                    for c in claims
                    if int(c.scope.removeprefix(WINDOW_SCOPE_PREFIX)) in open_ids
                ]
                if rows:
                    statement = insert_on_conflict(session, DedupKey).on_conflict_do_nothing(
                        index_elements=[DedupKey.key]
                    )
                    await session.execute(statement, rows)
        except BaseException:
            for key, claim in batch.items():  # kept for the next try
                self._waiting.setdefault(key, claim)
            raise
        return len(rows)

    # --- staff ----------------------------------------------------------------------------

    async def add_invite_codes(
        self, code_hashes: Iterable[str], department: str, today: date
    ) -> set[str]:
        """Store new code hashes; return those stored (a collision with an old one is not)."""
        rows = [
            {"code_hash": code_hash, "department": department, "created_on": today}
            for code_hash in code_hashes
        ]
        if not rows:
            return set()
        async with self._sessions.begin() as session:
            statement = (
                insert_on_conflict(session, InviteCode)
                .on_conflict_do_nothing(index_elements=[InviteCode.code_hash])
                .returning(InviteCode.code_hash)
            )
            stored: set[str] = set()
            for row in rows:
                stored.update(await session.scalars(statement.values(**row)))
        return stored

    async def enroll(
        self, code_hash: str, member_key: str, today: date
    ) -> tuple[EnrollStatus, str | None]:
        """Use a one-time code to enroll a member; the status and the member's department."""
        try:
            async with self._sessions.begin() as session:
                current = await session.scalar(
                    select(StaffMember.department).where(StaffMember.member_key == member_key)
                )
                if current is not None:
                    return EnrollStatus.ALREADY_ENROLLED, current
                # Taking the code and checking it was unused is one statement: two people
                # racing for one code cannot both win.
                department = await session.scalar(
                    update(InviteCode)
                    .where(InviteCode.code_hash == code_hash, InviteCode.used_on.is_(None))
                    .values(used_on=today)
                    .returning(InviteCode.department)
                )
                if department is None:
                    known = await session.scalar(
                        select(InviteCode.code_hash).where(InviteCode.code_hash == code_hash)
                    )
                    return (EnrollStatus.USED if known else EnrollStatus.UNKNOWN), None
                added = await session.scalar(
                    insert_on_conflict(session, StaffMember)
                    .values(member_key=member_key, department=department, enrolled_on=today)
                    .on_conflict_do_nothing(index_elements=[StaffMember.member_key])
                    .returning(StaffMember.member_key)
                )
                if added is None:
                    raise _EnrolledMeanwhile
                return EnrollStatus.OK, department
        except _EnrolledMeanwhile:
            return EnrollStatus.ALREADY_ENROLLED, await self.department_of(member_key)

    async def department_of(self, member_key: str) -> str | None:
        async with self._sessions.begin() as session:
            return await session.scalar(
                select(StaffMember.department).where(StaffMember.member_key == member_key)
            )

    # --- results --------------------------------------------------------------------------

    async def tallies(self, window_id: int, overall_question: str | None) -> list[Tally]:
        """Respondents and overall scores of a window per department, in one query."""
        number, option = Answer.number, Answer.option_id
        web = Response.front == Front.WEB.value
        statement = (
            select(
                Response.department,
                web,
                func.count(Response.id),
                *(func.count(Answer.id).filter(number == score) for score in SCORES),
                func.count(Answer.id).filter(option == CANNOT_RATE),
            )
            .select_from(Response)
            .outerjoin(
                Answer,
                (Answer.response_id == Response.id)
                & (Answer.question_id == (overall_question or "")),
            )
            .where(Response.window_id == window_id)
            .group_by(Response.department, web)
        )
        async with self._sessions.begin() as session:
            rows: Sequence[Any] = (await session.execute(statement)).all()
        return [
            Tally(
                department=row[0],
                respondents=int(row[2]),
                by_score=tuple(int(v) for v in row[3 : 3 + len(SCORES)]),
                cannot_rate=int(row[3 + len(SCORES)]),
                web=bool(row[1]),
            )
            for row in rows
        ]

    async def comments(
        self,
        window_id: int,
        question_ids: Collection[str],
        limit: int,
        *,
        web: bool | None = None,
    ) -> list[str]:
        """The newest free texts of the comment questions in a window (with ``web``: of its
        web answers only, or only of the others)."""
        if not question_ids or limit <= 0:
            return []
        side = Response.front == Front.WEB.value if web else Response.front != Front.WEB.value
        sides = [] if web is None else [side]
        statement = (
            select(Answer.text)
            .join(Response, Response.id == Answer.response_id)
            .where(
                Response.window_id == window_id,
                Answer.question_id.in_(list(question_ids)),
                Answer.text.is_not(None),
                Answer.text != "",
                *sides,
            )
            .order_by(Response.submitted_on.desc(), Answer.id.desc())
            .limit(limit)
        )
        async with self._sessions.begin() as session:
            return [str(text) for text in await session.scalars(statement)]

    async def add_publication(self, window_id: int, text_html: str, today: date) -> str:
        """Store the window's publication once; return the stored text (the first one wins)."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert_on_conflict(session, Publication)
                .values(window_id=window_id, text_html=text_html, published_on=today)
                .on_conflict_do_nothing(index_elements=[Publication.window_id])
            )
            stored = await session.scalar(
                select(Publication.text_html).where(Publication.window_id == window_id)
            )
        return str(stored)

    async def publications(self, audience: str | None = None) -> list[PublicationRow]:
        """Published results, newest first."""
        statement = (
            select(Publication, PollWindow)
            .join(PollWindow, PollWindow.id == Publication.window_id)
            .order_by(Publication.published_on.desc(), PollWindow.closes_on.desc())
        )
        if audience is not None:
            statement = statement.where(PollWindow.audience == audience)
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        return [
            PublicationRow(
                window_id=publication.window_id,
                campaign_id=window.campaign_id,
                audience=window.audience,
                opens_on=window.opens_on,
                closes_on=window.closes_on,
                text_html=publication.text_html,
                published_on=publication.published_on,
            )
            for publication, window in rows
        ]


async def _give_back(claims: ParticipationClaims, claim: DedupClaim) -> None:
    try:
        await claims.release(claim.scope, claim.key)
    except Exception as error:  # the claim expires after a couple of minutes by itself
        logger.warning("participation claim not released: %s", type(error).__name__)


async def insert_response(
    session: AsyncSession,
    response: CompletedResponse,
    overall: Mapping[str, str] | None = None,
) -> uuid.UUID:
    """Stage a response and its answers in the caller's transaction.

    ResponseStore.save groups responses into shared transactions; a window's answer needs the
    window check and the response in one (tests compare both paths).
    """
    row, answers = response_rows(response)
    await session.execute(insert(RESPONSES), [row])
    if answers:
        await session.execute(insert(ANSWERS), answers)
        # The reports read answers from their copy: a window's answer must be there too.
        await session.execute(insert(REPORT_ANSWERS), report_rows(row, answers, overall))
    response_id: uuid.UUID = row["id"]
    return response_id
