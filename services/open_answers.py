"""Open answers counted by category, re-tagged by officers; initiative topics; life situations.

The use cases behind the category counts of every report (Telegram, workbook, JSON/HTML),
the officer's re-tag buttons (``handlers/open_answers.py``) and the read API that the Appendix 2
document and the publication site use (:meth:`OpenAnswersService.counts`,
:meth:`~OpenAnswersService.situations`, :meth:`~OpenAnswersService.initiative_tally`).

Re-tagging: an officer opens the list of comments of one closed period and scope, exactly the
list the report shows (masked, alphabetical, only when the report may show comments), and moves
a comment between categories with buttons. A button carries a random token of that list and
the comment's place in the alphabetical list, never an id, a day or an order of arrival; the
list itself stays in memory (a restart makes its buttons stale, which they say).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from questionnaires.catalog import Catalog
from questionnaires.errors import DefinitionError
from questionnaires.open_answers import CATEGORIES_FILE, OTHER, Categoriser, load_categories
from questionnaires.schema import Language
from reports.disclosure import mask_contacts, web_pooled
from reports.metrics import Counts, score_of, situation_atoms
from reports.model import (
    Dimension,
    Period,
    QuestionnaireRoles,
    Report,
    Scope,
    Score,
)
from reports.open_answers import (
    InitiativeTally,
    OpenAnswerCounts,
    ReportExtras,
    SituationRow,
    SituationService,
    categories_by_response,
    categorised_by_response,
    count_categories,
    situation_rows,
    tally_topics,
)
from reports.open_answers_output import Sheet, extras_sheets, render_extras
from reports.telegram import protect
from services.reporting import ReportingService
from storage.database import Sessions
from storage.open_answers import AnswerKey, OpenAnswerStore, answer_id

logger = logging.getLogger(__name__)

#: Lists of comments kept for their buttons, per process; the oldest is forgotten first.
MAX_LISTINGS: Final = 256
#: As many comments as the report shows (reports.metrics.DEFAULT_MAX_COMMENTS).
MAX_LISTED: Final = 100
INITIATIVE_KIND: Final = "initiative"
#: Answers whose categories are remembered by their keys (:meth:`OpenAnswersService.counts`):
#: the open answers of a few half-years at 1M answers a year, 20–30 MB; the oldest go first.
MEMO_ANSWERS: Final = 200_000
#: Periods whose category counts are remembered with the open answers and re-tags they were
#: counted from (:meth:`OpenAnswersService.counts`): ~9 MB for a half-year at 1M answers.
MEMO_PERIODS: Final = 4
#: Counts remembered per period (scope, published or not, language), the oldest first out.
MEMO_COUNTS: Final = 64


def categories(path: Path) -> Categoriser:
    """The configured categories; a missing or broken file is logged, defect by defect, and
    the shipped rules are used meanwhile (counts go on, under the shipped categories)."""
    try:
        return load_categories(path)
    except DefinitionError as error:
        for defect in error.defects:
            logger.error("Categories: %s; using the shipped categories", defect)
    return load_categories(CATEGORIES_FILE)


@dataclass(frozen=True, slots=True)
class ListedComment:
    answer_id: uuid.UUID
    text: str  # masked, as the report shows it
    service: str | None


@dataclass(slots=True)
class Listing:
    """One officer's list of comments, alphabetical, behind a random token."""

    token: str
    officer: int
    period: Period
    scope: Scope
    comments: tuple[ListedComment, ...]


class Refusal(enum.StrEnum):
    STALE = "stale"  # unknown token, another officer's list, a place out of the list
    FORBIDDEN = "forbidden"  # the officer may no longer see that service
    GONE = "gone"  # the answer was deleted since
    UNKNOWN_CATEGORY = "unknown_category"


@dataclass(frozen=True, slots=True)
class Shown:
    """One comment of a listing as the officer sees it, with its current categories."""

    listing: Listing
    index: int
    comment: ListedComment
    categories: tuple[str, ...]
    retagged: bool


@dataclass(frozen=True, slots=True)
class _Counted:
    """Category counts with the inputs they were counted from (see
    :meth:`OpenAnswersService.counts`)."""

    answers: Sequence[AnswerKey]
    #: The open answers per day when ``answers`` were read (OpenAnswerStore.answer_days).
    days: Mapping[date, int]
    tags: Mapping[uuid.UUID, set[str]]
    categoriser: Categoriser
    pooled: bool
    #: By scope, whether the report publishes it, and language.
    counts: dict[tuple[Scope, bool, str], OpenAnswerCounts]


class OpenAnswersService:
    def __init__(
        self,
        *,
        reporting: ReportingService,
        sessions: Sessions,
        store: OpenAnswerStore,
        categoriser: Categoriser,
        roles: QuestionnaireRoles,
        catalog: Catalog,
        internal_officers: frozenset[int] = frozenset(),
    ) -> None:
        self._reporting = reporting
        #: Who reads staff initiative feedback and its tally (BOT__INTERNAL_OFFICER_IDS).
        self.internal_officers = internal_officers
        self._sessions = sessions  # the report engine's: situation figures are a report query
        self._store = store
        self.categoriser = categoriser
        self._roles = roles
        self._catalog = catalog
        self._listings: OrderedDict[str, Listing] = OrderedDict()
        #: Answers' keyword categories by their keys (:meth:`_categories`), oldest first.
        self._remembered: dict[Hashable, tuple[str, ...]] = {}
        self._remembered_for = categoriser
        #: Counts by period, audience, threshold and weekly figures, each with the inputs
        #: they were counted from; the least recently asked period first.
        self._counted: OrderedDict[tuple[Period, str, int, bool], _Counted] = OrderedDict()

    # --- counts ---------------------------------------------------------------------------

    async def counts(
        self, period: Period, scope: Scope, *, published: bool, language: str = "ru"
    ) -> OpenAnswerCounts:
        """Respondents per category of ``scope`` in a closed ``period`` (comment threshold;
        ``published``: the report shows the scope's figures)."""
        disclosure = self._reporting.disclosure
        audience, start, end = scope.audience, period.start, period.end
        questions = self._roles.comments
        # Read before the answers themselves: an answer written between the two reads then
        # makes the next report read them again, never keeps it out.
        days = await self._store.answer_days(
            audience=audience, start=start, end=end, comment_questions=questions
        )
        tags = await self._store.tags(audience=audience, start=start, end=end)
        threshold = disclosure.comment_threshold(audience)
        # The open answers per day, the re-tags, the categoriser and the web rule are compared
        # whole: a late answer, a deleted one, a re-tag or another categoriser counts again.
        # Warm, the answers are not read again (35,000 keys of a half-year at 1M answers,
        # most of a warm count), nor categorised, nor every category planned again (at 1M
        # answers the plans cost more than the read: a report asks for more plans than their
        # cache keeps, issue 15). The answers are the whole audience's whatever the scope:
        # kept once per period, with the counts of each scope and language.
        reading = (period, scope.audience, threshold, disclosure.weekly)
        pooled = web_pooled()
        counted = self._counted.get(reading)
        if not (
            counted is not None
            and counted.categoriser is self.categoriser
            and counted.pooled == pooled
            and counted.tags == tags
            and counted.days == days
        ):
            answers = await self._store.answer_keys(
                audience=audience, start=start, end=end, comment_questions=questions
            )
            counted = _Counted(answers, days, tags, self.categoriser, pooled, {})
            self._counted[reading] = counted
        self._counted.move_to_end(reading)
        while len(self._counted) > MEMO_PERIODS:
            self._counted.popitem(last=False)
        wanted = (scope, published, language)
        counts = counted.counts.get(wanted)
        if counts is not None:
            return counts
        categories = await self._categories(counted.answers)
        by_response = categorised_by_response(
            counted.answers, categories, tags, self.categoriser, answer_id
        )
        counts = count_categories(
            by_response,
            self.categoriser,
            period=period,
            scope=scope,
            threshold=threshold,
            published=published,
            weekly=disclosure.weekly,
            language=language,
        )
        if len(counted.counts) >= MEMO_COUNTS:
            counted.counts.pop(next(iter(counted.counts)))
        counted.counts[wanted] = counts
        return counts

    async def _categories(self, answers: Sequence[AnswerKey]) -> dict[Hashable, tuple[str, ...]]:
        """The keyword categories of each answer by its key, () for an answer without a text.

        An answer's text never changes, so its categories are remembered by its key for as
        long as the categoriser stays the same: a report of a period already counted reads no
        text again (finding each text by its id was half of the counting's read, issue 15);
        only the answers not seen yet are read and categorised."""
        if self._remembered_for is not self.categoriser:
            self._remembered.clear()
            self._remembered_for = self.categoriser
        remembered = self._remembered
        found: dict[Hashable, tuple[str, ...]] = {}
        missing: list[Hashable] = []
        for _, key, _, _ in answers:
            known = remembered.get(key)
            if known is None:
                missing.append(key)
            else:
                found[key] = known
        if missing:
            texts = await self._store.texts(missing)
            categories_of = self.categoriser.categories_of
            for key in missing:
                text = texts.get(key)
                found[key] = remembered[key] = categories_of(text) if text else ()
            for stale in list(
                itertools.islice(remembered, max(len(remembered) - MEMO_ANSWERS, 0))
            ):
                del remembered[stale]
        return found

    def forget(self) -> None:
        """Drop the remembered categories, the answers' and the texts', and the remembered
        counts (benchmarks time the reading, categorising and planning themselves)."""
        self._remembered.clear()
        self._counted.clear()
        self.categoriser.forget()

    async def situations(
        self, report: Report, language: Language = Language.RU
    ) -> tuple[SituationRow, ...]:
        """Per life situation of the report's scope: satisfaction with it as a whole, the
        overall score of its responses and the services it involves (their scores); life
        situations and services named in ``language``."""
        disclosure = self._reporting.disclosure
        atoms = await situation_atoms(
            self._sessions,
            roles=self._roles,
            audience=report.scope.audience,
            period=report.period,
        )
        # The groups as every output shows them, complementary suppression applied.
        report = protect(report)
        situation_groups = {row.key: row.current for row in report.by(Dimension.LIFE_SITUATION)}
        service_groups = {row.key: row.current for row in report.by(Dimension.SERVICE)}
        hidden = Score(n=0, suppressed=True)

        def services(code: str | None) -> list[SituationService]:
            return [
                SituationService(
                    service.code,
                    service.title.get(language),
                    service_groups.get(service.code, hidden),
                )
                for service in self._catalog.services
                if code in service.life_situations
                and (report.scope.service is None or report.scope.service == service.code)
            ]

        def score(counts: Sequence[int] | None, suppressed: bool) -> Score:
            if counts is None:
                return hidden
            counted = Counts(list(counts[:5]), int(counts[5]))
            return score_of(counted, report.min_group, hidden=suppressed)

        return situation_rows(
            atoms,
            period=report.period,
            scope=report.scope,
            min_group=disclosure.min_group,
            weekly=disclosure.weekly,
            titles=lambda code: self._reporting.title(Dimension.LIFE_SITUATION, code, language),
            overall=lambda code: situation_groups.get(code, hidden),
            services=services,
            score=score,
        )

    async def messages(self, report: Report, language: Language) -> list[str]:
        """The report message's sections on open answers and life situations."""
        return render_extras(await self.extras(report, language), language, report.min_group)

    async def sheets(self, report: Report, language: Language = Language.RU) -> list[Sheet]:
        """The workbook sheets on open answers and life situations, in ``language``."""
        return extras_sheets(await self.extras(report, language), language)

    async def extras(self, report: Report, language: str = "ru") -> ReportExtras:
        # Read side by side (the reports' engine has two connections): each statement's
        # SQLite work runs in its own thread while the other's rows are built.
        counts, situations = await asyncio.gather(
            self.counts(
                report.period,
                report.scope,
                published=not report.overall.suppressed,
                language=language,
            ),
            self.situations(report, Language(language)),
        )
        return ReportExtras(counts, situations)

    async def initiative_tally(self, period: Period, language: str = "ru") -> InitiativeTally:
        """Staff initiative messages of a closed period by topic and by category, body-wide."""
        disclosure = self._reporting.disclosure
        initiative = {
            q
            for q, audience in self._roles.audiences.items()
            if audience == "internal" and q not in self._roles.overall
        }
        topics = {
            q: question
            for (q, question, _), _title in self._roles.option_titles.items()
            if q in initiative
        }
        chosen = await self._store.options(
            audience="internal", start=period.start, end=period.end, questions=topics
        )
        # The topics by their option titles in the reader's language.
        titles = {
            option: title
            for (q, question, option), title in self._roles.in_language(
                Language(language)
            ).option_titles.items()
            if topics.get(q) == question
        }
        messages, rows = tally_topics(
            [(item.day, item.cell, item.option_id) for item in chosen],
            titles,
            period=period,
            min_group=disclosure.min_group,
            weekly=disclosure.weekly,
        )
        answers = await self._store.answers(
            audience="internal",
            start=period.start,
            end=period.end,
            comment_questions={q: self._roles.comments.get(q, ()) for q in initiative},
            questionnaires=initiative,
        )
        tags = await self._store.tags(audience="internal", start=period.start, end=period.end)
        categories = count_categories(
            categories_by_response(answers, tags, self.categoriser),
            self.categoriser,
            period=period,
            scope=Scope(audience="internal"),
            threshold=disclosure.comment_threshold("internal"),
            published=messages > 0,
            weekly=disclosure.weekly,
            language=language,
        )
        return InitiativeTally(period, messages, rows, categories, suppressed=messages == 0)

    # --- re-tagging -----------------------------------------------------------------------

    async def open_listing(
        self,
        officer: int,
        period: Period,
        scope: Scope,
        report: Report | None = None,
        *,
        language: Language = Language.RU,
    ) -> Listing | None:
        """The comments the report of ``scope`` shows (``report``, if already built), with a
        token for their buttons, masked in the officer's ``language``; None when the report
        shows none (too few respondents, or the officer may not see it)."""
        if not self._reporting.may_see(officer, scope):
            return None
        if report is None or report.period != period or report.scope != scope:
            report = await self._reporting.report(period, scope)
        if report.comments_suppressed or not report.comments:
            return None
        found = await self._store.comments(
            scope=scope,
            start=period.start,
            end=period.end,
            comment_questions=self._comment_questions(scope.audience),
            limit=MAX_LISTED,
            # The report's own choice: the web's comments stay out with its dropped answers.
            web=report.comments_web,
        )
        comments = sorted(
            (
                ListedComment(
                    item.answer_id, mask_contacts(item.text, language=language), item.cell[0]
                )
                for item in found
            ),
            key=lambda item: (item.text.casefold(), item.text),
        )
        if not comments:
            return None
        listing = Listing(secrets.token_hex(4), officer, period, scope, tuple(comments))
        self._listings[listing.token] = listing
        while len(self._listings) > MAX_LISTINGS:
            self._listings.popitem(last=False)
        return listing

    def _comment_questions(self, audience: str) -> dict[str, tuple[str, ...]]:
        return {
            q: ids
            for q, ids in self._roles.comments.items()
            if q in self._roles.overall and self._roles.audiences.get(q, audience) == audience
        }

    def _find(self, officer: int, token: str, index: int) -> Listing | Refusal:
        listing = self._listings.get(token)
        if listing is None or listing.officer != officer or not 0 <= index < len(listing.comments):
            return Refusal.STALE
        if not self._reporting.may_see(officer, listing.scope):
            return Refusal.FORBIDDEN
        service = listing.comments[index].service
        if (
            listing.scope.service is None
            and service is not None
            and not self._reporting.may_see(officer, Scope(service=service))
        ):
            return Refusal.FORBIDDEN
        return listing

    async def show(self, officer: int, token: str, index: int) -> Shown | Refusal:
        """The comment at ``index`` of the officer's listing ``token``, with its categories."""
        found = self._find(officer, token, index)
        if isinstance(found, Refusal):
            return found
        comment = found.comments[index]
        answer = await self._store.answer(comment.answer_id)
        if answer is None:
            return Refusal.GONE
        tags = await self._store.tags_of(comment.answer_id)
        categories = (
            self.categoriser.known(tags) if tags else self.categoriser.categories_of(answer.text)
        )
        return Shown(found, index, comment, categories or (OTHER,), tags is not None)

    async def toggle(self, officer: int, token: str, index: int, category: str) -> Shown | Refusal:
        """Add ``category`` to the comment's categories, or take it away; stored at once."""
        if category not in self.categoriser.ids or category == OTHER:
            return Refusal.UNKNOWN_CATEGORY
        shown = await self.show(officer, token, index)
        if isinstance(shown, Refusal):
            return shown
        chosen = set(shown.categories) - {OTHER}
        chosen ^= {category}
        if not await self._store.retag(shown.comment.answer_id, chosen or {OTHER}):
            return Refusal.GONE
        return await self.show(officer, token, index)

    async def reset(self, officer: int, token: str, index: int) -> Shown | Refusal:
        """Back to the categories the keyword rules give."""
        shown = await self.show(officer, token, index)
        if isinstance(shown, Refusal):
            return shown
        await self._store.retag(shown.comment.answer_id, ())
        return await self.show(officer, token, index)
