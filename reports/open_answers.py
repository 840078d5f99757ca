"""Open answers counted by category, initiative topics tallied, the life situation as a whole.

Pure functions over rows read by ``storage.open_answers`` and ``reports.metrics``; every count
passes the disclosure policy the way problem options do (``reports.metrics._problem_rows``):

- A category's count is the number of *respondents* (responses) whose open answers fall in it.
  Each category has its own plan (``reports.disclosure.plan``) over the atoms (day × cell) of
  the whole audience where someone's answer fell in it, with the comment threshold as ``k``. A
  group shows the count only when the report publishes the group itself (its overall figures)
  and the group's atoms are whole blocks of that category's plan. So whatever an officer
  subtracts (all services − one service, a quarter − its months), the rest is again a union of
  blocks of at least ``k`` respondents naming the category: no comment's category can be
  isolated. The cell carries the front: the web's atoms that join no web block of the
  category's plan are counted in none of its figures, as the report's (reports.disclosure).
- Initiative topics: the same with ``min_group`` (a topic is a figure, not a text).
- Satisfaction with a life situation as a whole: a score (``reports.metrics.score_of``) per life
  situation, with a plan of its own over the respondents who answered it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from questionnaires.open_answers import OTHER, Categoriser
from reports.disclosure import Atom, in_scope, plan
from reports.metrics import grain_of
from reports.model import Period, Scope, Score
from reports.periods import month_of, segment_of

#: Service, channel, life situation and front (the web's dropped answers count in no figure).
Cell = tuple[str | None, str | None, str | None, str]


class _Text(Protocol):
    """What the counting needs of one open answer (storage.open_answers.OpenAnswer fits)."""

    @property
    def response_id(self) -> Hashable: ...
    @property
    def answer_id(self) -> uuid.UUID: ...
    @property
    def day(self) -> date: ...
    @property
    def cell(self) -> Cell: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """Respondents whose open answers fall in one category; suppressed below the policy."""

    category: str
    title: str
    respondents: int
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class OpenAnswerCounts:
    """Open answers of one scope and period by category (Procedure §3.4, §4.4).

    ``respondents`` is how many wrote any open answer (0 when suppressed); a respondent may
    count in several categories, so the rows need not add up to it.
    """

    period: Period
    scope: Scope
    threshold: int
    respondents: int
    categories: tuple[CategoryCount, ...]
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class TopicCount:
    topic: str
    title: str
    respondents: int
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class InitiativeTally:
    """Initiative feedback of staff in a closed period: messages by topic and by category."""

    period: Period
    messages: int
    topics: tuple[TopicCount, ...]
    categories: OpenAnswerCounts
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class SituationService:
    code: str
    title: str
    score: Score  # the service's overall score in the same report


@dataclass(frozen=True, slots=True)
class SituationRow:
    """One life situation: satisfaction with resolving it as a whole (Concept §6.2), the
    overall score of the responses naming it, and the services it involves."""

    code: str | None
    title: str
    as_a_whole: Score
    overall: Score
    services: tuple[SituationService, ...]


@dataclass(frozen=True, slots=True)
class ReportExtras:
    """What a report shows besides reports.model.Report: open answers and life situations."""

    open_answers: OpenAnswerCounts
    situations: tuple[SituationRow, ...]


def categories_by_response(
    answers: Iterable[_Text],
    tags: Mapping[uuid.UUID, set[str]],
    categoriser: Categoriser,
) -> dict[Hashable, tuple[Atom, frozenset[str]]]:
    """Each response's atom and categories: the union over its open answers, each answer's
    categories being an officer's re-tag if any, else the keyword rules'. "Other" stays only
    when nothing else matched."""
    found: dict[Hashable, tuple[Atom, set[str]]] = {}
    for answer in answers:
        # The answer's id is converted only to look a re-tag up (rare: officers' work).
        tagged = tags.get(answer.answer_id) if tags else None
        mine = categoriser.known(tagged) if tagged else categoriser.categories_of(answer.text)
        entry = found.setdefault(answer.response_id, ((answer.day, answer.cell), set()))
        entry[1].update(mine or (OTHER,))
    result: dict[Hashable, tuple[Atom, frozenset[str]]] = {}
    for response, (atom, categories) in found.items():
        if len(categories) > 1:
            categories.discard(OTHER)
        result[response] = (atom, frozenset(categories))
    return result


def categorised_by_response(
    answers: Iterable[tuple[Hashable, Hashable, date, Cell]],
    categories: Mapping[Hashable, tuple[str, ...]],
    tags: Mapping[uuid.UUID, set[str]],
    categoriser: Categoriser,
    answer_id: Callable[[Hashable], uuid.UUID],
) -> dict[Hashable, tuple[Atom, frozenset[str]]]:
    """:func:`categories_by_response` over answers given as (response, answer key, day, cell)
    with each answer's keyword categories already decided (``categories`` by answer key; an
    answer without any there has no text and is no open answer). An officer's re-tag still
    overrides them; ``answer_id`` converts a key to the id re-tags are stored under."""
    found: dict[Hashable, tuple[Atom, set[str]]] = {}
    for response, key, day, cell in answers:
        mine = categories.get(key)
        if not mine:
            continue
        if tags:
            tagged = tags.get(answer_id(key))
            if tagged:
                mine = categoriser.known(tagged) or (OTHER,)
        entry = found.get(response)
        if entry is None:
            found[response] = ((day, cell), set(mine))
        else:
            entry[1].update(mine)
    result: dict[Hashable, tuple[Atom, frozenset[str]]] = {}
    for response, (atom, chosen) in found.items():
        if len(chosen) > 1:
            chosen.discard(OTHER)
        result[response] = (atom, frozenset(chosen))
    return result


def _coarsener(period: Period, weekly: bool) -> Callable[[Atom], Atom]:
    """Atoms moved to the first day of their month (or week piece) inside the period: the plan
    places whole units anyway, and a year then has 12 atoms a cell to plan, not 365 (as
    reports.metrics reads them)."""
    grain = grain_of([period], weekly)
    if grain == "day":
        return lambda atom: atom
    unit = month_of if grain == "month" else segment_of
    # A period's answers share few days: each day's unit is computed once, not per response
    # (a third of counting a half-year's open answers at 1M went into building the months).
    starts: dict[date, date] = {}

    def coarse(atom: Atom) -> Atom:
        start = starts.get(atom[0])
        if start is None:
            start = starts[atom[0]] = max(unit(atom[0]).start, period.start)
        return (start, atom[1])

    return coarse


def _sizes(items: Iterable[tuple[Atom, Iterable[str]]]) -> dict[str, dict[Atom, int]]:
    sizes: dict[str, dict[Atom, int]] = {}
    for atom, keys in items:
        for key in keys:
            per_atom = sizes.setdefault(key, {})
            per_atom[atom] = per_atom.get(atom, 0) + 1
    return sizes


def _protected(
    sizes: Mapping[Atom, int],
    period: Period,
    where: Callable[[Atom], bool],
    k: int,
    weekly: bool,
) -> int | None:
    """The count of the group's atoms, or None unless it is whole blocks of its own plan.

    The web's atoms the plan drops (fewer than ``k`` web answers, reports.disclosure) count in
    no figure, as in the report: the group is judged and counted without them."""
    own = plan(period, sizes, k, weekly=weekly)
    members = own.counted(atom for atom in sizes if where(atom))
    count = sum(sizes[atom] for atom in members)
    if not members or count < max(k, 1):
        return None
    if not own.publishable(members):
        return None
    return count


#: Whatever names a response: its UUID, or its id as stored (storage.open_answers).
ResponseKey = TypeVar("ResponseKey", bound=Hashable)


def count_categories(
    by_response: Mapping[ResponseKey, tuple[Atom, frozenset[str]]],
    categoriser: Categoriser,
    *,
    period: Period,
    scope: Scope,
    threshold: int,
    published: bool,
    weekly: bool = False,
    language: str = "ru",
) -> OpenAnswerCounts:
    """Counts per category of ``scope`` (see the module docstring for the protection).

    ``published`` is whether the report shows the scope's own figures: counts are never shown
    for a group the report hides.
    """
    coarse = _coarsener(period, weekly)
    inside = [
        (coarse(atom), cats)
        for atom, cats in by_response.values()
        if period.start <= atom[0] <= period.end
    ]
    where = in_scope(scope.service, scope.channel, scope.life_situation)
    everyone = _sizes((atom, ("*",)) for atom, _ in inside).get("*", {})
    total = _protected(everyone, period, where, threshold, weekly) if published else None
    if total is None:
        return OpenAnswerCounts(period, scope, threshold, 0, (), suppressed=True)
    per_category = _sizes(inside)
    rows: list[CategoryCount] = []
    for category in categoriser.ids:
        sizes = per_category.get(category)
        if not sizes or not any(where(atom) for atom in sizes):
            continue
        count = _protected(sizes, period, where, threshold, weekly)
        title = categoriser.title(category, language)
        rows.append(CategoryCount(category, title, count or 0, suppressed=count is None))
    rows.sort(key=lambda row: (row.suppressed, -row.respondents, row.category == OTHER))
    return OpenAnswerCounts(period, scope, threshold, total, tuple(rows))


def tally_topics(
    chosen: Iterable[tuple[date, Cell, str]],
    titles: Mapping[str, str],
    *,
    period: Period,
    min_group: int,
    weekly: bool = False,
) -> tuple[int, tuple[TopicCount, ...]]:
    """Initiative messages by topic: (messages, rows), each topic with a plan of its own."""
    coarse = _coarsener(period, weekly)
    inside = [
        (coarse((day, cell)), (topic,))
        for day, cell, topic in chosen
        if period.start <= day <= period.end
    ]
    everyone = _sizes((atom, ("*",)) for atom, _ in inside).get("*", {})

    def anywhere(atom: Atom) -> bool:
        return True

    messages = _protected(everyone, period, anywhere, min_group, weekly)
    if messages is None:
        return 0, ()
    rows = []
    for topic, sizes in _sizes(inside).items():
        count = _protected(sizes, period, anywhere, min_group, weekly)
        rows.append(TopicCount(topic, titles.get(topic, topic), count or 0, count is None))
    rows.sort(key=lambda row: (row.suppressed, -row.respondents, row.title))
    return messages, tuple(rows)


def situation_rows(
    atoms: Mapping[Atom, Sequence[int]],
    *,
    period: Period,
    scope: Scope,
    min_group: int,
    weekly: bool,
    titles: Callable[[str | None], str],
    overall: Callable[[str | None], Score],
    services: Callable[[str | None], Sequence[SituationService]],
    score: Callable[[Sequence[int] | None, bool], Score],
) -> tuple[SituationRow, ...]:
    """Per life situation of the scope: the as-a-whole score under its own plan.

    ``atoms`` maps (day, cell) to counts of scores 1–5 then "cannot rate"; the life situation
    of a cell is the link's, or the one the person chose in the poll.
    """
    coarse = _coarsener(period, weekly)
    folded: dict[Atom, list[int]] = {}
    for atom, counts in atoms.items():
        if period.start <= atom[0] <= period.end:
            total = folded.setdefault(coarse(atom), [0] * len(counts))
            for index, value in enumerate(counts):
                total[index] += value
    atoms = folded
    sizes = {atom: sum(counts[:5]) for atom, counts in atoms.items()}
    situation_plan = plan(period, sizes, min_group, weekly=weekly)
    where = in_scope(scope.service, scope.channel, scope.life_situation)
    by_situation: dict[str | None, list[Atom]] = {}
    for atom in atoms:
        if where(atom) and period.start <= atom[0] <= period.end:
            by_situation.setdefault(atom[1][2], []).append(atom)
    rows: list[SituationRow] = []
    for code in sorted(by_situation, key=lambda c: (c is None, c or "")):
        if code is None:
            continue  # no life situation named: the question was not asked
        members = situation_plan.counted(by_situation[code])  # without the web's dropped
        summed = [sum(atoms[atom][i] for atom in members) for i in range(6)]
        rows.append(
            SituationRow(
                code=code,
                title=titles(code),
                as_a_whole=score(summed, not situation_plan.publishable(members)),
                overall=overall(code),
                services=tuple(services(code)),
            )
        )
    return tuple(rows)
