"""Parameters of the deep poll (§3.1), staff aspects (§4.2, §4.4) and their key drivers.

The deep poll and the staff poll are answered in poll windows, and a window's answers are
reported only as that window (reports.windows, docs/anonymity.md "Poll windows and calendar
figures"). So every figure here is a sum over whole *shown* windows of the questionnaire that
ran wholly inside the period (a hidden window, with fewer respondents than ``k``, counts
nowhere), and nothing is ever cut finer than a window except departments, inside one window, by
the window rule (reports.windows.department_groups):

- a parameter's figure sums the windows where at least ``k`` people scored it (so the difference
  of any two shown figures is whole windows of at least ``k`` scores each); the comparison is
  the previous period's shown windows;
- key drivers: the correlation between the parameter's score and the overall score of the same
  respondents, from the 5 × 5 table of (parameter, overall) counts per window, so no
  respondent's row leaves SQL. Spearman's ρ (ranks with ties as mid-ranks) is the driver
  strength; Pearson's r is given beside it. A window adds its pairs only when it has at least
  ``k`` of them, and a driver is shown from :data:`MIN_DRIVER_PAIRS` pairs;
- the internal report's departments: only when the period holds exactly one shown staff window,
  the groups of that window's results (the same enrolment titles and the same
  :func:`reports.windows.department_groups`); an aspect per group with complementary
  suppression inside the window. Never summed across windows: a department shown in one window
  and merged in another would come out by subtraction.

A report narrower than the whole audience (one service, channel or life situation) has no
parameter section: a window is reported whole.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.i18n import tr
from reports.disclosure import web_pooled
from reports.metrics import (
    Counts,
    WindowCount,
    WindowPair,
    score_of,
    window_counts,
    window_pairs,
)
from reports.model import DEFAULT_MIN_GROUP, Period, QuestionnaireRoles, Scope, Score
from reports.model import QUADRANT_LABELS as QUADRANT_LABELS
from reports.model import DepartmentRow as DepartmentRow
from reports.model import DriverRow as DriverRow
from reports.model import InternalReport as InternalReport
from reports.model import ParameterRow as ParameterRow
from reports.model import ParameterSection as ParameterSection

# The section's values live with the report's (reports.model); importable from here too.
from reports.model import Quadrant as Quadrant
from reports.windows import (
    BOTH,
    GroupCounts,
    ShownWindow,
    department_groups,
    of_sides,
    sides_of,
    windows_of,
)
from reports.windows import OTHER_DEPARTMENTS as OTHER_DEPARTMENTS
from storage.campaigns import CampaignStore, Tally

#: Fewest respondents with both scores before a correlation is shown. With n pairs the
#: standard error of a correlation near 0.4 is about (1 − ρ²)/√(n − 1): at 30 it is ≈ 0.16,
#: so the 95 % interval is about ±0.3 — wide, but enough to tell a strong driver (ρ ≈ 0.6)
#: from a weak one (ρ ≈ 0.1). Below 30 the ranking of parameters would mostly be noise.
MIN_DRIVER_PAIRS: Final = 30
#: Windows' days are the body's; without a zone given, a window closed early is dated in UTC.
UTC_ZONE: Final = ZoneInfo("UTC")
#: Performance at or above the "high" band (mean ≥ 4.0) counts as good.
GOOD_PERFORMANCE: Final = 4.0

Table = Mapping[tuple[int, int], int]  # (parameter score, overall score) -> respondents


# --- correlation from a 5 × 5 table (pure) -------------------------------------------------


def _mid_ranks(marginal: Mapping[int, int]) -> dict[int, float]:
    """Rank of each score with ties as the mean of the ranks they occupy (1-based)."""
    ranks: dict[int, float] = {}
    below = 0
    for score in sorted(marginal):
        count = marginal[score]
        ranks[score] = below + (count + 1) / 2
        below += count
    return ranks


def _weighted_pearson(
    table: Table, x_of: Callable[[int], float], y_of: Callable[[int], float]
) -> float | None:
    n = sum(table.values())
    if n < 2:
        return None
    mean_x = sum(x_of(x) * c for (x, _), c in table.items()) / n
    mean_y = sum(y_of(y) * c for (_, y), c in table.items()) / n
    sxy = sum((x_of(x) - mean_x) * (y_of(y) - mean_y) * c for (x, y), c in table.items())
    sxx = sum((x_of(x) - mean_x) ** 2 * c for (x, _), c in table.items())
    syy = sum((y_of(y) - mean_y) ** 2 * c for (_, y), c in table.items())
    if sxx <= 0 or syy <= 0:
        return None  # everyone gave one score: no correlation to speak of
    return sxy / math.sqrt(sxx * syy)


def pearson(table: Table) -> float | None:
    """Pearson's r of the respondents the table counts."""
    return _weighted_pearson(table, float, float)


def spearman(table: Table) -> float | None:
    """Spearman's ρ: Pearson's r of the mid-ranks (what scipy.stats.spearmanr computes)."""
    xs: dict[int, int] = {}
    ys: dict[int, int] = {}
    for (x, y), count in table.items():
        xs[x] = xs.get(x, 0) + count
        ys[y] = ys.get(y, 0) + count
    rank_x, rank_y = _mid_ranks(xs), _mid_ranks(ys)
    return _weighted_pearson(table, rank_x.__getitem__, rank_y.__getitem__)


# --- building the section from shown windows (pure) ------------------------------------------


Key = tuple[str, str]  # questionnaire id, question id
Cells = dict[tuple[int, int], int]  # (parameter score, overall score) -> respondents


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in counts:
        total.add(item)
    return total


def _per_window(items: Iterable[WindowCount]) -> dict[Key, dict[int, Counts]]:
    """Counts per key and window, departments added up."""
    found: dict[Key, dict[int, Counts]] = {}
    for item in items:
        windows = found.setdefault((item.questionnaire_id, item.question_id), {})
        windows.setdefault(item.window_id, Counts()).add(item.counts)
    return found


def window_score(by_window: Mapping[int, Counts], windows: Collection[int], k: int) -> Score:
    """The sum over ``windows`` of those where at least ``k`` scored: each window adds all its
    scores or none, so two such sums differ by whole windows of at least ``k`` scores."""
    eligible = [by_window[w] for w in windows if w in by_window and by_window[w].n >= max(k, 1)]
    if not eligible:
        return Score(n=0, suppressed=True)
    return score_of(_sum(eligible), k)


def _tables(pairs: Iterable[WindowPair]) -> dict[Key, dict[int, Cells]]:
    found: dict[Key, dict[int, Cells]] = {}
    for pair in pairs:
        cells = found.setdefault((pair.questionnaire_id, pair.question_id), {}).setdefault(
            pair.window_id, {}
        )
        cell = (pair.parameter, pair.overall)
        cells[cell] = cells.get(cell, 0) + pair.respondents
    return found


def _window_driver(
    key: Key,
    title: str,
    by_window: Mapping[int, Cells],
    windows: Collection[int],
    k: int,
    min_pairs: int,
    row: ParameterRow,
) -> DriverRow:
    table: Cells = {}
    for window in windows:
        cells = by_window.get(window, {})
        if sum(cells.values()) < max(k, 1):
            continue  # a window adds its pairs whole, or not at all
        for cell, count in cells.items():
            table[cell] = table.get(cell, 0) + count
    n = sum(table.values())
    if n < max(min_pairs, k, 1):
        return DriverRow(key[0], key[1], title, 0, suppressed=True)
    shown = not row.current.suppressed
    return DriverRow(
        key[0],
        key[1],
        title,
        n,
        spearman=spearman(table),
        pearson=pearson(table),
        performance=row.current.mean if shown else None,
        share_satisfied=row.current.csat if shown else None,
    )


def quadrant_of(importance: float, performance: float, split: float) -> Quadrant:
    if importance >= split:
        return Quadrant.KEEP if performance >= GOOD_PERFORMANCE else Quadrant.IMPROVE_FIRST
    return (
        Quadrant.DO_NOT_OVERINVEST if performance >= GOOD_PERFORMANCE else Quadrant.IMPROVE_LATER
    )


def _with_quadrants(drivers: list[DriverRow]) -> tuple[tuple[DriverRow, ...], float | None]:
    placed = [d for d in drivers if d.spearman is not None and d.performance is not None]
    split = (
        statistics.median(d.spearman for d in placed if d.spearman is not None) if placed else None
    )
    result: list[DriverRow] = []
    for driver in drivers:
        if split is not None and driver.spearman is not None and driver.performance is not None:
            quadrant = quadrant_of(driver.spearman, driver.performance, split)
            driver = replace(driver, quadrant=quadrant)
        result.append(driver)
    result.sort(key=lambda d: (d.suppressed, d.spearman is None, -(d.spearman or 0.0), d.title))
    return tuple(result), split


def build_window_section(
    *,
    counts: Sequence[WindowCount],
    pairs: Sequence[WindowPair],
    keys: Sequence[Key],
    titles: Mapping[Key, str],
    period: Period,
    previous: Period,
    now: Collection[int],
    before: Collection[int],
    min_group: int,
    min_pairs: int = MIN_DRIVER_PAIRS,
) -> ParameterSection:
    """Rows and drivers of ``keys`` over the shown windows ``now`` (against ``before``)."""
    by_key = _per_window(counts)
    tables = _tables(pairs)
    rows: list[ParameterRow] = []
    drivers: list[DriverRow] = []
    for key in keys:
        by_window = by_key.get(key, {})
        title = titles.get(key, key[1])
        row = ParameterRow(
            key[0],
            key[1],
            title,
            window_score(by_window, now, min_group),
            window_score(by_window, before, min_group),
            asked=any(window in by_window for window in now),
        )
        rows.append(row)
        drivers.append(
            _window_driver(key, title, tables.get(key, {}), now, min_group, min_pairs, row)
        )
    ranked, split = _with_quadrants(drivers)
    return ParameterSection(
        period, previous, min_group, min_pairs, tuple(rows), ranked, importance_split=split
    )


def _keys(roles: QuestionnaireRoles, audience: str) -> list[Key]:
    return [
        (questionnaire, question)
        for questionnaire, questions in roles.parameters.items()
        if roles.audiences.get(questionnaire, "external") == audience
        for question in questions
    ]


def _titles(roles: QuestionnaireRoles, keys: Iterable[Key]) -> dict[Key, str]:
    return {key: roles.question_titles.get(key, key[1]) for key in keys}


def _questions(keys: Iterable[Key]) -> dict[str, tuple[str, ...]]:
    questions: dict[str, tuple[str, ...]] = {}
    for questionnaire, question in keys:
        questions[questionnaire] = (*questions.get(questionnaire, ()), question)
    return questions


def _ids(windows: Iterable[ShownWindow]) -> list[int]:
    return [window.id for window in windows]


# --- reading (through reports.metrics) -------------------------------------------------------


async def parameter_section(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    previous: Period,
    scope: Scope,
    min_group: int = DEFAULT_MIN_GROUP,
    weekly: bool = False,
    min_pairs: int = MIN_DRIVER_PAIRS,
    zone: ZoneInfo = UTC_ZONE,
) -> ParameterSection | None:
    """The parameters of ``scope``'s audience for the report of ``period``, over the shown
    windows that ran wholly inside it; None when its questionnaires ask none, or when the
    scope is narrower than the whole audience (a window is reported whole). ``weekly`` is
    accepted for the callers' sake: windows, not calendar units, are the parts here."""
    del weekly
    keys = _keys(roles, scope.audience)
    if not keys or (scope.service, scope.channel, scope.life_situation) != (None, None, None):
        return None
    questions = _questions(keys)
    now, before = await windows_of(sessions, list(questions), [period, previous], min_group, zone)
    wanted = _ids(now) + _ids(before)
    sides = sides_of([*now, *before])  # the web apart: each window's counted sides only
    counts = await window_counts(sessions, questions=questions, window_ids=wanted, sides=sides)
    pairs = await window_pairs(
        sessions, questions=questions, overall=roles.overall, window_ids=_ids(now), sides=sides
    )
    return build_window_section(
        counts=counts,
        pairs=pairs,
        keys=keys,
        titles=_titles(roles, keys),
        period=period,
        previous=previous,
        now=_ids(now),
        before=_ids(before),
        min_group=min_group,
        min_pairs=min_pairs,
    )


# --- the internal report --------------------------------------------------------------------


def _rest_hidden(
    groups: Mapping[str | None, Counts], total: Counts, k: int
) -> dict[str | None, bool]:
    """Which groups of one window hide an aspect: fewer than ``k`` scored it in them, or, since
    the window's total is shown, hiding them would leave 1 to ``k`` − 1 scores to subtract
    (then the smallest shown groups are hidden too, like department_groups does)."""
    hidden = {key: counts.n < max(k, 1) for key, counts in groups.items()}
    shown = sorted(
        (key for key, is_hidden in hidden.items() if not is_hidden),
        key=lambda key: (groups[key].n, str(key)),
    )
    left = total.n - sum(groups[key].n for key in shown)
    while shown and 0 < left < k:
        key = shown.pop(0)
        hidden[key] = True
        left += groups[key].n
    if len(shown) < 2:
        hidden = dict.fromkeys(groups, True)  # one group against the total is the rest
    return hidden


@dataclass(frozen=True, slots=True)
class _WindowGroups:
    """One window's department groups (by the window rule) and each group's members."""

    rows: list[tuple[str | None, str, GroupCounts]]  # code (None: the rest), title, counts
    members: dict[str | None, str | None]  # stored department code -> group code


async def _window_groups(
    sessions: async_sessionmaker[AsyncSession],
    window: ShownWindow,
    overall_question: str | None,
    department_titles: Mapping[str, str],
    k: int,
    other: str = OTHER_DEPARTMENTS,
) -> _WindowGroups:
    """The groups the window's results show (services.windows: tallies by department,
    titled only while the department may be shown, then department_groups); the merged
    rest is titled ``other``."""
    tallies = of_sides(await CampaignStore(sessions).tallies(window.id, overall_question), window)
    code_of = {title: code for code, title in department_titles.items()}
    titled: dict[str | None, GroupCounts] = {}
    for tally in tallies:
        title = department_titles.get(tally.department) if tally.department else None
        titled[title] = titled.get(title, GroupCounts()) + GroupCounts.of(tally)
    groups = department_groups(
        [Tally(t, c.respondents, c.by_score, c.cannot_rate) for t, c in titled.items()], k
    )
    rows: list[tuple[str | None, str, GroupCounts]] = []
    named: set[str] = set()
    for group in groups:
        code = None if group.merged else code_of.get(group.title)
        if code is not None:
            named.add(code)
        rows.append((code, other if group.merged else group.title, group.counts))
    members = {
        tally.department: (tally.department if tally.department in named else None)
        for tally in tallies
    }
    return _WindowGroups(rows, members)


def _score(counts: GroupCounts, k: int) -> Score:
    return score_of(Counts(list(counts.by_score), counts.cannot_rate), k)


async def _department_rows(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: Sequence[ShownWindow],
    before: Sequence[ShownWindow],
    overall_question: str | None,
    aspect_counts: Sequence[WindowCount],
    keys: Sequence[Key],
    department_titles: Mapping[str, str],
    k: int,
    other: str = OTHER_DEPARTMENTS,
) -> tuple[tuple[DepartmentRow, ...], bool]:
    """Departments of the period's only shown window, by its results' groups; none when the
    period holds several windows (never summed across windows) or the window shows none."""
    if len(now) != 1:
        return (), len(now) > 1
    window = now[0]
    if window.sides == BOTH and not web_pooled():
        # Both sides counted, the web apart: a department's aspects would mix the two, and
        # fake web answers could pad a department's genuine few. Withheld, as several windows.
        return (), True
    current = await _window_groups(sessions, window, overall_question, department_titles, k, other)
    if not current.rows:
        return (), True
    earlier: dict[str | None, Score] = {}
    if len(before) == 1:
        previous = await _window_groups(
            sessions, before[0], overall_question, department_titles, k, other
        )
        earlier = {code: _score(counts, k) for code, _, counts in previous.rows}
    # Aspects per group, inside this window only.
    per_group: dict[Key, dict[str | None, Counts]] = {}
    totals: dict[Key, Counts] = {}
    for item in aspect_counts:
        if item.window_id != window.id:
            continue
        key = (item.questionnaire_id, item.question_id)
        group = current.members.get(item.department)
        per_group.setdefault(key, {}).setdefault(group, Counts()).add(item.counts)
        totals.setdefault(key, Counts()).add(item.counts)
    hidden = {
        key: _rest_hidden(per_group.get(key, {}), totals.get(key, Counts()), k) for key in keys
    }
    rows: list[DepartmentRow] = []
    for code, title, counts in current.rows:
        aspects: list[tuple[str, Score]] = []
        for key in keys:
            found = per_group.get(key, {}).get(code)
            window_total = totals.get(key, Counts())
            is_hidden = found is None or hidden[key].get(code, True) or window_total.n < max(k, 1)
            aspects.append((key[1], score_of(found, k, hidden=is_hidden)))
        rows.append(
            DepartmentRow(
                code,
                title,
                _score(counts, k),
                earlier.get(code, Score(n=0, suppressed=True)),
                tuple(aspects),
            )
        )
    return tuple(rows), False


async def internal_report(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    previous: Period,
    department_titles: Mapping[str, str],
    min_group: int = DEFAULT_MIN_GROUP,
    weekly: bool = False,
    title: str | None = None,
    min_pairs: int = MIN_DRIVER_PAIRS,
    zone: ZoneInfo = UTC_ZONE,
    closing: bool = False,
) -> InternalReport:
    """Staff results by aspect and by department over the shown staff windows that ran wholly
    inside ``period``, against those of ``previous``. ``department_titles``: the departments
    the window results may name (catalog titles by code, those shown by enrolment); codes not
    in it are never named. ``closing``: the windows whose last day falls in the period instead
    (the pain map: each window in the quarter it closed). The title, aspect and department
    titles are in the roles' language (``department_titles`` given in it too)."""
    del weekly
    audience = "internal"
    keys = _keys(roles, audience)
    overall_ids = {
        q: roles.overall[q]
        for q in roles.overall
        if roles.audiences.get(q, "external") == audience
    }
    questionnaires = set(overall_ids) | {q for q, _ in keys}
    now, before = await windows_of(
        sessions, sorted(questionnaires), [period, previous], min_group, zone, closing=closing
    )
    aspects_asked = _questions(keys)
    questions: dict[str, tuple[str, ...]] = {q: (o,) for q, o in overall_ids.items()}
    for questionnaire, ids in aspects_asked.items():
        questions[questionnaire] = (*questions.get(questionnaire, ()), *ids)
    sides = sides_of([*now, *before])  # the web apart: each window's counted sides only
    counts = await window_counts(
        sessions,
        questions=questions,
        window_ids=_ids(now) + _ids(before),
        by_department=True,
        sides=sides,
    )
    pairs = await window_pairs(
        sessions,
        questions=aspects_asked,
        overall=roles.overall,
        window_ids=_ids(now),
        sides=sides,
    )
    overall_items = [c for c in counts if overall_ids.get(c.questionnaire_id) == c.question_id]
    aspect_items = [c for c in counts if overall_ids.get(c.questionnaire_id) != c.question_id]
    overall: dict[int, Counts] = {}
    for item in overall_items:
        overall.setdefault(item.window_id, Counts()).add(item.counts)
    aspects = build_window_section(
        counts=aspect_items,
        pairs=pairs,
        keys=keys,
        titles=_titles(roles, keys),
        period=period,
        previous=previous,
        now=_ids(now),
        before=_ids(before),
        min_group=min_group,
        min_pairs=min_pairs,
    )
    overall_question = next(
        (overall_ids[w.questionnaire_id] for w in now if w.questionnaire_id in overall_ids),
        None,
    )
    departments, withheld = await _department_rows(
        sessions,
        now=now,
        before=before,
        overall_question=overall_question,
        aspect_counts=aspect_items,
        keys=keys,
        department_titles=department_titles,
        k=min_group,
        other=tr(roles.language, "report.other_departments"),
    )
    return InternalReport(
        title=title or tr(roles.language, "report.staff_title"),
        period=period,
        compared_with=previous,
        min_group=min_group,
        overall=window_score(overall, _ids(now), min_group),
        overall_previous=window_score(overall, _ids(before), min_group),
        aspects=aspects,
        departments=departments,
        departments_withheld=withheld,
    )
