"""Parameters of the deep poll (§3.1), staff aspects (§4.2, §4.4) and their key drivers.

Every parameter is a 1–5 question with "cannot rate" apart. Its figures follow the report's
disclosure method (reports.disclosure, docs/anonymity.md) with a plan of its own, the way NPS
and each problem have one: the atoms (day × cell) of the whole audience are weighted by the
respondents who *scored that parameter*, partitioned into blocks of at least ``k``, and a group
shows the parameter only when it is a union of whole blocks. The report's main plan weighs
atoms by those who scored the overall question; a parameter is asked of fewer people (show_if,
"cannot rate"), so a block of the main plan may hold fewer than ``k`` parameter scores and two
publishable groups could differ by one person's rating. With its own plan they cannot.

Key drivers: for each parameter, the correlation between the parameter's score and the overall
score of the same respondents, computed from the 5 × 5 table of (parameter, overall) counts per
atom, so no respondent's row leaves SQL. Spearman's ρ (ranks with ties as mid-ranks) is the
driver strength; Pearson's r is given beside it. A driver is shown only when its pairs are a
union of blocks of a plan over the pairs and there are at least :data:`MIN_DRIVER_PAIRS`.

Staff (the internal report): the cell of an atom is the respondent's department (stored only
while the department may be shown, services.campaigns.reported_department); departments are
groups like services: shown when a union of blocks, the rest merged into «другие
подразделения», the breakdown omitted when fewer than two groups can be shown.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.disclosure import Atom, Plan, in_scope, plan
from reports.metrics import (
    Counts,
    ParameterAtom,
    ParameterPair,
    grain_of,
    parameter_atoms,
    parameter_pairs,
    score_of,
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

#: Fewest respondents with both scores before a correlation is shown. With n pairs the
#: standard error of a correlation near 0.4 is about (1 − ρ²)/√(n − 1): at 30 it is ≈ 0.16,
#: so the 95 % interval is about ±0.3 — wide, but enough to tell a strong driver (ρ ≈ 0.6)
#: from a weak one (ρ ≈ 0.1). Below 30 the ranking of parameters would mostly be noise.
MIN_DRIVER_PAIRS: Final = 30
#: Performance at or above the "high" band (mean ≥ 4.0) counts as good.
GOOD_PERFORMANCE: Final = 4.0
OTHER_DEPARTMENTS: Final = "другие подразделения"

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


# --- building the section (pure) -------------------------------------------------------------


Key = tuple[str, str]  # questionnaire id, question id


def _by_key(items: Iterable[ParameterAtom]) -> dict[Key, dict[Atom, Counts]]:
    found: dict[Key, dict[Atom, Counts]] = {}
    for item in items:
        found.setdefault((item.questionnaire_id, item.question_id), {})[item.atom] = item.counts
    return found


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in counts:
        total.add(item)
    return total


def _within(atoms: Mapping[Atom, Counts], period: Period) -> dict[Atom, Counts]:
    return {a: c for a, c in atoms.items() if period.start <= a[0] <= period.end}


def _plan_of(atoms: Mapping[Atom, Counts], period: Period, k: int, weekly: bool) -> Plan:
    return plan(period, {atom: counts.n for atom, counts in atoms.items()}, k, weekly=weekly)


def group_score(
    atoms: Mapping[Atom, Counts],
    where: Callable[[Atom], bool],
    period: Period,
    k: int,
    weekly: bool,
    *,
    the_plan: Plan | None = None,
) -> Score:
    """The score of the atoms passing ``where``: figures only for a union of whole blocks."""
    the_plan = the_plan or _plan_of(atoms, period, k, weekly)
    members = [atom for atom in atoms if where(atom)]
    return score_of(
        _sum(atoms[atom] for atom in members), k, hidden=not the_plan.publishable(members)
    )


def _driver(
    key: Key,
    title: str,
    pairs: Mapping[Atom, Table],
    where: Callable[[Atom], bool],
    period: Period,
    k: int,
    min_pairs: int,
    weekly: bool,
    row: ParameterRow | None,
) -> DriverRow:
    pairs_plan = plan(
        period, {atom: sum(table.values()) for atom, table in pairs.items()}, k, weekly=weekly
    )
    members = [atom for atom in pairs if where(atom)]
    table: dict[tuple[int, int], int] = {}
    for atom in members:
        for cell, count in pairs[atom].items():
            table[cell] = table.get(cell, 0) + count
    n = sum(table.values())
    if not members or n < max(min_pairs, k, 1) or not pairs_plan.publishable(members):
        return DriverRow(key[0], key[1], title, 0, suppressed=True)
    shown = row is not None and not row.current.suppressed
    return DriverRow(
        key[0],
        key[1],
        title,
        n,
        spearman=spearman(table),
        pearson=pearson(table),
        performance=row.current.mean if shown and row is not None else None,
        share_satisfied=row.current.csat if shown and row is not None else None,
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


def build_section(
    *,
    counts: Sequence[ParameterAtom],
    pairs: Sequence[ParameterPair],
    keys: Sequence[Key],
    titles: Mapping[Key, str],
    period: Period,
    previous: Period,
    where: Callable[[Atom], bool],
    min_group: int,
    weekly: bool,
    min_pairs: int = MIN_DRIVER_PAIRS,
) -> ParameterSection:
    """Rows and drivers of ``keys`` for the atoms passing ``where`` (the report's scope)."""
    by_key = _by_key(counts)
    tables: dict[Key, dict[Atom, dict[tuple[int, int], int]]] = {}
    for pair in pairs:
        per_atom = tables.setdefault((pair.questionnaire_id, pair.question_id), {})
        cells = per_atom.setdefault(pair.atom, {})
        cells[(pair.parameter, pair.overall)] = (
            cells.get((pair.parameter, pair.overall), 0) + pair.respondents
        )
    rows: list[ParameterRow] = []
    drivers: list[DriverRow] = []
    for key in keys:
        atoms = by_key.get(key, {})
        title = titles.get(key, key[1])
        now = _within(atoms, period)
        row = ParameterRow(
            key[0],
            key[1],
            title,
            group_score(now, where, period, min_group, weekly),
            group_score(_within(atoms, previous), where, previous, min_group, weekly),
            asked=bool(now),
        )
        rows.append(row)
        drivers.append(
            _driver(
                key, title, tables.get(key, {}), where, period, min_group, min_pairs, weekly, row
            )
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
) -> ParameterSection | None:
    """The parameters of ``scope``'s audience for the report of ``period``; None when its
    questionnaires ask none."""
    keys = _keys(roles, scope.audience)
    if not keys:
        return None
    questions: dict[str, tuple[str, ...]] = {}
    for questionnaire, question in keys:
        questions[questionnaire] = (*questions.get(questionnaire, ()), question)
    span = Period(min(period.start, previous.start), max(period.end, previous.end))
    grain = grain_of([period, previous], weekly)
    # Two reads side by side: on SQLite the report engine's two connections use both cores.
    async with asyncio.TaskGroup() as group:
        counts_task = group.create_task(
            parameter_atoms(
                sessions, questions=questions, audience=scope.audience, span=span, grain=grain
            )
        )
        pairs_task = group.create_task(
            parameter_pairs(
                sessions,
                questions=questions,
                overall=roles.overall,
                audience=scope.audience,
                period=period,
                grain=grain_of([period], weekly),
            )
        )
    counts, pairs = counts_task.result(), pairs_task.result()
    return build_section(
        counts=counts,
        pairs=pairs,
        keys=keys,
        titles=_titles(roles, keys),
        period=period,
        previous=previous,
        where=in_scope(scope.service, scope.channel, scope.life_situation),
        min_group=min_group,
        weekly=weekly,
        min_pairs=min_pairs,
    )


# --- the internal report --------------------------------------------------------------------


def _pooled(items: Iterable[ParameterAtom]) -> dict[Atom, Counts]:
    pooled: dict[Atom, Counts] = {}
    for item in items:
        pooled.setdefault(item.atom, Counts()).add(item.counts)
    return pooled


def _department_rows(
    overall: Mapping[Atom, Counts],
    aspects: Mapping[Key, dict[Atom, Counts]],
    keys: Sequence[Key],
    period: Period,
    previous: Period,
    department_titles: Mapping[str, str],
    k: int,
    weekly: bool,
) -> tuple[tuple[DepartmentRow, ...], bool]:
    now, before = _within(overall, period), _within(overall, previous)
    now_plan, before_plan = _plan_of(now, period, k, weekly), _plan_of(before, previous, k, weekly)
    codes = sorted({atom[1][0] for atom in now if atom[1][0] is not None}, key=str)
    shown = [
        code
        for code in codes
        if code in department_titles
        and now_plan.publishable([a for a in now if a[1][0] == code])
        and score_of(_sum(c for a, c in now.items() if a[1][0] == code), k).n >= k
    ]

    def rest(atom: Atom) -> bool:
        return atom[1][0] not in shown

    rest_shown = any(rest(a) for a in now) and now_plan.publishable([a for a in now if rest(a)])
    if len(shown) + rest_shown < 2:
        return (), bool(codes)
    aspect_plans = {
        key: _plan_of(_within(aspects.get(key, {}), period), period, k, weekly) for key in keys
    }

    def row(key: str | None, title: str, where: Callable[[Atom], bool]) -> DepartmentRow:
        return DepartmentRow(
            key,
            title,
            group_score(now, where, period, k, weekly, the_plan=now_plan),
            group_score(before, where, previous, k, weekly, the_plan=before_plan),
            tuple(
                (
                    question,
                    group_score(
                        _within(aspects.get((questionnaire, question), {}), period),
                        where,
                        period,
                        k,
                        weekly,
                        the_plan=aspect_plans[(questionnaire, question)],
                    ),
                )
                for questionnaire, question in keys
            ),
        )

    rows = [
        row(code, department_titles[code], lambda a, c=code: a[1][0] == c)  # type: ignore[misc]
        for code in shown
    ]
    if rest_shown:
        rows.append(row(None, OTHER_DEPARTMENTS, rest))
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
    title: str = "Отчёт по опросу сотрудников",
    min_pairs: int = MIN_DRIVER_PAIRS,
) -> InternalReport:
    """Staff results by aspect and by department (department titles by code; codes not in it
    are never named), against ``previous``."""
    audience = "internal"
    keys = _keys(roles, audience)
    overall_ids = {
        q: roles.overall[q]
        for q in roles.overall
        if roles.audiences.get(q, "external") == audience
    }
    questions: dict[str, tuple[str, ...]] = {q: (o,) for q, o in overall_ids.items()}
    for questionnaire, question in keys:
        questions[questionnaire] = (*questions.get(questionnaire, ()), question)
    span = Period(min(period.start, previous.start), max(period.end, previous.end))
    grain = grain_of([period, previous], weekly)
    counts = await parameter_atoms(
        sessions,
        questions=questions,
        audience=audience,
        span=span,
        grain=grain,
        by_department=True,
    )
    pairs = await parameter_pairs(
        sessions,
        questions={
            q: tuple(x for x in ids if x != overall_ids.get(q)) for q, ids in questions.items()
        },
        overall=roles.overall,
        audience=audience,
        period=period,
        grain=grain_of([period], weekly),
        by_department=True,
    )
    overall_items = [c for c in counts if overall_ids.get(c.questionnaire_id) == c.question_id]
    aspect_items = [c for c in counts if overall_ids.get(c.questionnaire_id) != c.question_id]
    overall = _pooled(overall_items)

    def everyone(atom: Atom) -> bool:
        return True

    aspects = build_section(
        counts=aspect_items,
        pairs=pairs,
        keys=keys,
        titles=_titles(roles, keys),
        period=period,
        previous=previous,
        where=everyone,
        min_group=min_group,
        weekly=weekly,
        min_pairs=min_pairs,
    )
    departments, withheld = _department_rows(
        overall,
        _by_key(aspect_items),
        keys,
        period,
        previous,
        department_titles,
        min_group,
        weekly,
    )
    return InternalReport(
        title=title,
        period=period,
        compared_with=previous,
        min_group=min_group,
        overall=group_score(_within(overall, period), everyone, period, min_group, weekly),
        overall_previous=group_score(
            _within(overall, previous), everyone, previous, min_group, weekly
        ),
        aspects=aspects,
        departments=departments,
        departments_withheld=withheld,
    )
