"""The report's groups folded by cell give the figures of summing their atoms (issue 15).

``reports.metrics._fold`` sums each period's atoms by cell once and every group of the report
(the scope, each service, channel, life situation and front) from the cells. The reference
here is the atom-by-atom path it replaced: a group's counted atoms summed, and
``Plan.publishable`` asked of them. Random atoms (small and large, some of the web, some
dropped), the web apart and pooled, every scope: the same scores, rows, problem base and web
flag.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

import pytest

from reports.disclosure import (
    Atom,
    Plan,
    clear_plan_cache,
    make_plan,
    pool_web_with_messengers,
    web_pooled,
)
from reports.metrics import (
    _DIMENSIONS,
    Counts,
    _Atoms,
    _fold,
    _group_rows,
    _Named,
    _order,
    _problem_rows,
    _scope_test,
    _sum,
    _whole_audience,
    problem_order,
    score_of,
)
from reports.model import (
    Dimension,
    GroupRow,
    Period,
    ProblemRow,
    QuestionnaireRoles,
    Scope,
    Score,
)

H2 = Period(date(2025, 7, 1), date(2025, 12, 31))
H1 = Period(date(2025, 1, 1), date(2025, 6, 30))
SERVICES = ["s1", "s2", "s3", None]
CHANNELS = ["c1", "c2", None]
SITUATIONS = ["l1", None]
FRONTS = ["telegram", "max", "web"]


@contextmanager
def use_web_pooled(pooled: bool) -> Iterator[None]:
    before = web_pooled()
    pool_web_with_messengers(pooled)
    try:
        yield
    finally:
        pool_web_with_messengers(before)


def _titles(dimension: Dimension, key: str | None) -> str:
    return f"{dimension.value}:{key}"


def _random_atoms(rnd: random.Random, period: Period, answers: int) -> _Atoms:
    atoms = _Atoms()
    for _ in range(answers):
        month = rnd.randint(period.start.month, period.end.month)
        cell = (
            rnd.choices(SERVICES, [8, 3, 1, 1])[0],
            rnd.choice(CHANNELS),
            rnd.choice(SITUATIONS),
            rnd.choices(FRONTS, [7, 2, 1])[0],
        )
        atom: Atom = (date(2025, month, 1), cell)
        counts = atoms.counts.setdefault(atom, Counts())
        if rnd.random() < 0.1:
            counts.cannot_rate += 1
        else:
            counts.by_score[rnd.randrange(5)] += 1
        if rnd.random() < 0.7:
            atoms.problem_base[atom] = atoms.problem_base.get(atom, 0) + 1
    return atoms


# --- the atom-by-atom reference (the code before the fold) --------------------------------


def _score_of_members(atoms: _Atoms, main: Plan, members: Sequence[Atom], k: int) -> Score:
    members = main.counted(members)
    return score_of(
        _sum(atoms.counts[atom] for atom in members), k, hidden=not main.publishable(members)
    )


def _reference_rows(
    where: Callable[[Atom], bool],
    now: tuple[_Atoms, Plan],
    before: tuple[_Atoms, Plan],
    k: int,
) -> tuple[GroupRow, ...]:
    rows: list[GroupRow] = []
    members = [[a for a in atoms.counts if where(a)] for atoms, _ in (now, before)]
    for position, dimension in enumerate(_DIMENSIONS):
        by_key: list[dict[str | None, list[Atom]]] = [{}, {}]
        for index, found in enumerate(members):
            for atom in found:
                by_key[index].setdefault(atom[1][position], []).append(atom)
        for key in sorted(by_key[0].keys() | by_key[1].keys(), key=_order):
            rows.append(
                GroupRow(
                    dimension=dimension,
                    key=key,
                    title=_titles(dimension, key),
                    current=_score_of_members(now[0], now[1], by_key[0].get(key, []), k),
                    previous=_score_of_members(before[0], before[1], by_key[1].get(key, []), k),
                )
            )
    return tuple(rows)


SCOPES = [
    Scope(),
    Scope(service="s1"),
    Scope(service="s3"),
    Scope(service=None, channel="c2"),
    Scope(service="s2", channel="c1"),
    Scope(life_situation="l1"),
]


@pytest.mark.parametrize("pooled", [False, True], ids=["web apart", "web pooled"])
@pytest.mark.parametrize("seed", range(12))
def test_the_fold_gives_the_figures_of_the_atoms(seed: int, pooled: bool) -> None:
    rnd = random.Random(seed)
    k = rnd.choice([2, 5, 10])
    now_atoms = _random_atoms(rnd, H2, rnd.choice([8, 30, 300, 3000]))
    before_atoms = _random_atoms(rnd, H1, rnd.choice([0, 40, 800]))
    main_now = make_plan(H2, now_atoms.sizes(), k, pool_web=pooled)
    main_before = make_plan(H1, before_atoms.sizes(), k, pool_web=pooled)
    for scope in SCOPES:
        where = _scope_test(scope)
        only = None if _whole_audience(scope) else where
        folded_now = _fold(now_atoms, main_now, only, base=True)
        folded_before = _fold(before_atoms, main_before, only)
        scoped = [atom for atom in now_atoms.counts if where(atom)]
        members = main_now.counted(scoped)
        assert folded_now.overall(k) == _score_of_members(now_atoms, main_now, scoped, k)
        before_scoped = [atom for atom in before_atoms.counts if where(atom)]
        assert folded_before.overall(k) == _score_of_members(
            before_atoms, main_before, before_scoped, k
        )
        assert _group_rows(folded_now, folded_before, _titles, k) == _reference_rows(
            where, (now_atoms, main_now), (before_atoms, main_before), k
        )
        assert sum(cell.base for cell in folded_now.cells.values()) == sum(
            now_atoms.problem_base.get(atom, 0) for atom in members
        )
        assert folded_now.dropped == any(atom in main_now.dropped for atom in scoped)


def test_the_random_data_meets_every_case() -> None:
    """The data above has shown and hidden groups, residue and dropped web atoms."""
    met: set[str] = set()
    for seed in range(12):
        rnd = random.Random(seed)
        k = rnd.choice([2, 5, 10])
        atoms = _random_atoms(rnd, H2, rnd.choice([8, 30, 300, 3000]))
        main = make_plan(H2, atoms.sizes(), k, pool_web=False)
        rows = _group_rows(_fold(atoms, main, None), _fold(atoms, main, None), _titles, k)
        met |= {"dropped"} if main.dropped else set()
        met |= {"residue"} if main.residue - main.dropped else set()
        met |= {"shown" if not row.current.suppressed else "hidden" for row in rows}
    assert met == {"dropped", "residue", "shown", "hidden"}


# --- problems: one pass an option, against summing each option's counted atoms ----------


def _reference_problem_rows(
    named: Sequence[_Named], scope: Scope, base: int, k: int, pooled: bool
) -> tuple[ProblemRow, ...]:
    by_option: dict[tuple[str, str], dict[Atom, _Named]] = {}
    for item in named:
        by_option.setdefault((item.question_id, item.option_id), {})[item.atom] = item
    where = _scope_test(scope)
    rows: list[ProblemRow] = []
    for (question, option), atoms in by_option.items():
        members = [atom for atom in atoms if where(atom)]
        if not members:
            continue
        sizes = {a: item.respondents for a, item in atoms.items()}
        option_plan = make_plan(H2, sizes, k, pool_web=pooled)
        members = option_plan.counted(members)
        if not members:
            continue
        respondents = sum(atoms[atom].respondents for atom in members)
        if respondents < max(k, 1) or not option_plan.publishable(members):
            rows.append(ProblemRow(question, option, option, 0, 0.0, None, None, True))
            continue
        scored = sum(atoms[atom].scored for atom in members)
        score_sum = sum(atoms[atom].score_sum for atom in members)
        prevalence = respondents / base
        mean = score_sum / scored if scored else None
        priority = prevalence * (5 - mean) if mean is not None else None
        rows.append(ProblemRow(question, option, option, respondents, prevalence, mean, priority))
    return tuple(sorted(rows, key=problem_order))


@pytest.mark.parametrize("pooled", [False, True], ids=["web apart", "web pooled"])
@pytest.mark.parametrize("seed", range(8))
def test_problem_rows_in_one_pass_give_the_figures_of_the_atoms(seed: int, pooled: bool) -> None:
    rnd = random.Random(seed)
    k = rnd.choice([2, 5, 10])
    atoms = _random_atoms(rnd, H2, rnd.choice([30, 300, 3000]))
    named = []
    for atom, counts in atoms.counts.items():
        for option in ("queue", "slow", "rude"):
            if rnd.random() < 0.5:
                respondents = rnd.randint(1, max(1, counts.respondents))
                scored = rnd.randint(0, respondents)
                named.append(_Named("obstacles", option, atom, respondents, scored, 3 * scored))
    roles = QuestionnaireRoles(
        overall={"rating": "overall"},
        problems={"rating": "obstacles"},
        nps={},
        comments={},
        option_titles={},
        question_titles={},
        audiences={"rating": "external"},
    )
    with use_web_pooled(pooled):
        for scope in SCOPES:
            clear_plan_cache()
            found = _problem_rows(named, roles, scope, H2, 400, k)
            assert found == _reference_problem_rows(named, scope, 400, k, pooled)
