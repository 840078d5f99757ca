"""How much the joint disclosure plan shows, against a threshold applied view by view.

Synthetic atoms (no database): responses spread over a year with three services (6:3:1), two
channels (4:1) and two life situations (3:1). For each kind of period and each daily volume,
the groups shown (total, service, channel rows) under reports.disclosure.plan, with and
without weekly figures, and under "n ≥ 5 in the view itself" (which leaks: see
tests/anonymity/test_officer_differencing.py). Then, with the front as the fourth key
(Telegram : MAX 6 : 1 and a share of web answers), what keeping the web apart from the
messengers costs against pooling them (REPORTS__POOL_WEB_WITH_MESSENGERS): service rows and
totals shown, and the share of answers (and of web answers) counted in the shown year figures.
Run: python -m bench.disclosure_utility
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from reports.disclosure import Atom, Cell, plan
from reports.model import Period
from reports.periods import half_of, month_of, quarter_of, week_of, year_of

YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
K = 5


def atoms(per_day: float, seed: int = 8) -> dict[Atom, int]:
    rng = random.Random(seed)
    sizes: Counter[Atom] = Counter()
    day = YEAR.start
    while day <= YEAR.end:
        for _ in range(int(per_day) + (rng.random() < per_day % 1)):
            cell: Cell = (
                rng.choices("abc", weights=(6, 3, 1))[0],
                rng.choices(("office", "web"), weights=(4, 1))[0],
                rng.choices((None, "moving"), weights=(3, 1))[0],
            )
            sizes[(day, cell)] += 1
        day += timedelta(days=1)
    return dict(sizes)


def front_atoms(per_day: float, web_share: float, seed: int = 8) -> dict[Atom, int]:
    """:func:`atoms` with a front: ``web_share`` of the answers through the web form."""
    rng = random.Random(seed)
    sizes: Counter[Atom] = Counter()
    for (day, cell), count in atoms(per_day, seed).items():
        for _ in range(count):
            if rng.random() < web_share:
                front = "web"
            else:
                front = rng.choices(("telegram", "max"), weights=(6, 1))[0]
            sizes[(day, (*cell, front))] += 1
    return dict(sizes)


def periods(unit: object) -> list[Period]:
    found: list[Period] = []
    day = YEAR.start
    while day <= YEAR.end:
        period = unit(day)  # type: ignore[operator]
        if period.end <= YEAR.end and period.start >= YEAR.start and period not in found:
            found.append(period)
        day += timedelta(days=1)
    return found


def main() -> None:
    for weekly in (False, True):
        print(f"\nweekly figures: {weekly}")
        table(weekly)
    print("\nweb apart (default) against web pooled with the messengers; weekly figures off")
    fronts_table()


def fronts_table() -> None:
    kinds = {"month": month_of, "quarter": quarter_of, "half": half_of, "year": year_of}
    print(
        "per day | web % | period  | service rows (apart / pooled) | totals (apart / pooled)"
        " | answers counted, web counted (apart, % of all)"
    )
    for per_day in (1.3, 6.0, 30.0):
        for web_share in (0.05, 0.15, 0.3):
            sizes = front_atoms(per_day, web_share)
            for name, unit in kinds.items():
                shown = Counter[str]()
                counted = {"all": 0, "web": 0, "all of": 0, "web of": 0}
                for period in periods(unit):
                    inside = [a for a in sizes if period.start <= a[0] <= period.end]
                    services = [[a for a in inside if a[1][0] == s] for s in "abc"]
                    for mode, pooled in (("apart", False), ("pooled", True)):
                        result = plan(period, sizes, K, pool_web=pooled)
                        for key, lists in (("total", [inside]), ("service", services)):
                            for members in lists:
                                mine = result.counted(members)
                                shown[f"{key} {mode}"] += bool(mine) and result.publishable(mine)
                                shown[f"{key} all"] += bool(members) and not pooled
                        if pooled:
                            continue
                        mine = (
                            result.counted(inside)
                            if result.publishable(result.counted(inside))
                            else []
                        )
                        counted["all"] += sum(sizes[a] for a in mine)
                        counted["web"] += sum(sizes[a] for a in mine if a[1][3] == "web")
                        counted["all of"] += sum(sizes[a] for a in inside)
                        counted["web of"] += sum(sizes[a] for a in inside if a[1][3] == "web")
                cells = [
                    f"{shown[k + ' apart']} / {shown[k + ' pooled']} of {shown[k + ' all']}"
                    for k in ("service", "total")
                ]
                share = 100 * counted["all"] / max(counted["all of"], 1)
                web = 100 * counted["web"] / max(counted["web of"], 1)
                print(
                    f"{per_day:7} | {100 * web_share:5.0f} | {name:7} | {cells[0]:29} |"
                    f" {cells[1]:23} | {share:5.1f}, {web:5.1f}"
                )


def table(weekly: bool) -> None:
    kinds = {"week": week_of, "month": month_of, "quarter": quarter_of, "half": half_of}
    kinds["year"] = year_of
    print("per day | period  | total shown (plan / naive) | service rows | channel rows")
    for per_day in (1.3, 6.0, 30.0):
        sizes = atoms(per_day)
        for name, unit in kinds.items():
            shown = Counter[str]()
            for period in periods(unit):
                result = plan(period, sizes, K, weekly=weekly)
                inside = [a for a in sizes if period.start <= a[0] <= period.end]
                groups = {"total": [inside]}
                groups["service"] = [[a for a in inside if a[1][0] == s] for s in "abc"]
                groups["channel"] = [
                    [a for a in inside if a[1][1] == c] for c in ("office", "web")
                ]
                for key, lists in groups.items():
                    for members in lists:
                        if not members:
                            continue
                        shown[key + " all"] += 1
                        shown[key + " plan"] += result.publishable(members)
                        shown[key + " naive"] += sum(sizes[a] for a in members) >= K
            cells = [
                f"{shown[k + ' plan']}/{shown[k + ' naive']} of {shown[k + ' all']}"
                for k in ("total", "service", "channel")
            ]
            print(f"{per_day:7} | {name:7} | {' | '.join(cells)}")


if __name__ == "__main__":
    main()
