"""Poll windows in reports: which windows a period's figures may use, and the window rule.

A poll window's answers are reported only as that window (docs/anonymity.md, "Poll windows
and calendar figures"): never inside a calendar figure (reports.metrics reads those with
``window_id IS NULL``), and everything else built from them — parameters and key drivers,
staff aspects, the internal report, the deep poll's complaint questions — is a sum over whole
*shown* windows: closed, run wholly inside the period, with at least the threshold of
respondents. Any difference of two such sums is a union of whole shown windows.

The window rule itself (the whole window; departments only within one window, by
:func:`department_groups`) lives here, below services.windows, so the window results and the
reports apply one rule.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.metrics import WindowRecord, closed_windows
from reports.model import Period
from storage.campaigns import Tally

OTHER_DEPARTMENTS: Final = "другие подразделения"
SCORES: Final = (1, 2, 3, 4, 5)
SATISFIED: Final = (4, 5)


# --- which windows a period uses -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownWindow:
    """A closed window whose results show figures: at least the threshold of respondents."""

    id: int
    questionnaire_id: str
    opens_on: date
    last_day: date  # the day it actually ran until (a window closed early: that day)
    respondents: int


def last_day(record: WindowRecord, zone: ZoneInfo) -> date:
    """The last day a window ran: its planned end, or the day (in the body's zone) an officer
    closed it early (the same day services.windows and services.staff_results use)."""
    if record.closed_at is None:
        return record.closes_on
    closed_on = record.closed_at.astimezone(zone).date()
    return max(min(closed_on, record.closes_on), record.opens_on)


def shown_windows(
    records: Iterable[WindowRecord],
    period: Period,
    min_group: int,
    zone: ZoneInfo,
    *,
    closing: bool = False,
) -> list[ShownWindow]:
    """The shown windows that ran wholly inside ``period`` (with ``closing``: whose last day
    falls in it, so each window belongs to exactly one quarter, the pain map's periods), oldest
    first. A hidden window (fewer respondents than ``min_group``) contributes to nothing."""
    found: list[ShownWindow] = []
    for record in records:
        end = last_day(record, zone)
        if record.respondents < max(min_group, 1):
            continue
        start = end if closing else record.opens_on
        if period.start <= start and end <= period.end:
            found.append(
                ShownWindow(
                    record.id, record.questionnaire_id, record.opens_on, end, record.respondents
                )
            )
    return found


async def windows_of(
    sessions: async_sessionmaker[AsyncSession],
    questionnaires: Collection[str],
    periods: Sequence[Period],
    min_group: int,
    zone: ZoneInfo,
    *,
    closing: bool = False,
) -> list[list[ShownWindow]]:
    """The shown windows of ``questionnaires`` in each of ``periods`` (one read)."""
    records = await closed_windows(sessions, questionnaires)
    return [shown_windows(records, period, min_group, zone, closing=closing) for period in periods]


# --- the window rule: totals and departments (pure) --------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """Overall answers of a group of respondents."""

    respondents: int = 0
    by_score: tuple[int, ...] = (0, 0, 0, 0, 0)
    cannot_rate: int = 0

    @property
    def n(self) -> int:
        """Respondents with a score 1–5: the base of CSAT and the mean."""
        return sum(self.by_score)

    @property
    def csat(self) -> float | None:
        if not self.n:
            return None
        return 100.0 * sum(self.by_score[s - 1] for s in SATISFIED) / self.n

    @property
    def mean(self) -> float | None:
        if not self.n:
            return None
        return sum(s * c for s, c in zip(SCORES, self.by_score, strict=True)) / self.n

    def __add__(self, other: GroupCounts) -> GroupCounts:
        return GroupCounts(
            self.respondents + other.respondents,
            tuple(a + b for a, b in zip(self.by_score, other.by_score, strict=True)),
            self.cannot_rate + other.cannot_rate,
        )

    @classmethod
    def of(cls, tally: Tally) -> GroupCounts:
        return cls(tally.respondents, tally.by_score, tally.cannot_rate)


def total_of(tallies: Iterable[Tally]) -> GroupCounts:
    total = GroupCounts()
    for tally in tallies:
        total = total + GroupCounts.of(tally)
    return total


def merge_tallies(
    tallies: Iterable[Tally], rename: Callable[[str | None], str | None]
) -> list[Tally]:
    """Tallies re-keyed by `rename` (None: no department shown), those with one key summed."""
    merged: dict[str | None, GroupCounts] = {}
    for tally in tallies:
        key = rename(tally.department)
        merged[key] = merged.get(key, GroupCounts()) + GroupCounts.of(tally)
    return [
        Tally(key, counts.respondents, counts.by_score, counts.cannot_rate)
        for key, counts in merged.items()
    ]


@dataclass(frozen=True, slots=True)
class DepartmentGroup:
    title: str
    counts: GroupCounts
    merged: bool = False  # «другие подразделения»: the departments below the threshold


def department_groups(tallies: Sequence[Tally], min_group: int) -> list[DepartmentGroup]:
    """The department breakdown that may be shown, or [] when none may.

    A department is shown when at least `min_group` of its respondents gave a score; the others
    are merged into «другие подразделения», shown only if that group reaches the threshold too.
    Since the total is shown, what is left out (total minus the shown groups) must not be a
    group of 1 to `min_group` − 1 either: the smallest shown department joins the merged group
    until it is not. With fewer than two departments shown there is no breakdown at all: one
    department against the rest would reveal the rest.
    """
    counts = {t.department: GroupCounts.of(t) for t in tallies}
    shown = sorted(
        (d for d, c in counts.items() if d is not None and c.n >= min_group),
        key=lambda d: (counts[d].n, counts[d].respondents, d or ""),
    )
    rest = GroupCounts()
    for department, group in counts.items():
        if department not in shown:
            rest = rest + group

    def revealing(group: GroupCounts) -> bool:
        return 0 < group.n < min_group or 0 < group.respondents < min_group

    while shown and revealing(rest):
        rest = rest + counts[shown.pop(0)]
    if len(shown) < 2:
        return []
    groups = [DepartmentGroup(str(d), counts[d]) for d in sorted(shown, key=str)]
    if rest.respondents:
        groups.append(DepartmentGroup(OTHER_DEPARTMENTS, rest, merged=True))
    return groups
