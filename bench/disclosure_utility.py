"""How much the joint disclosure plan shows, against a threshold applied view by view.

Synthetic atoms (no database): responses spread over a year with three services (6:3:1), two
channels (4:1) and two life situations (3:1). For each kind of period and each daily volume,
the groups shown (total, service, channel rows) under reports.disclosure.plan, with and
without weekly figures, and under "n ≥ 5 in the view itself" (which leaks: see
tests/anonymity/test_officer_differencing.py). Run: python -m bench.disclosure_utility
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
