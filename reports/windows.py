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

from questionnaires.fronts import Front
from reports.disclosure import web_pooled
from reports.metrics import WindowRecord, closed_windows
from reports.model import Period
from storage.campaigns import Tally

OTHER_DEPARTMENTS: Final = "другие подразделения"
SCORES: Final = (1, 2, 3, 4, 5)
SATISFIED: Final = (4, 5)

#: The two sides of a window when the web is kept apart (REPORTS__POOL_WEB_WITH_MESSENGERS,
#: reports.disclosure.web_pooled): the messengers' answers (Telegram and MAX, each behind an
#: account) and the web's (free: anyone can be any number of web respondents at ``/w/<id>``).
MESSENGERS: Final = "messengers"
WEB: Final[str] = Front.WEB.value
BOTH: Final = frozenset({MESSENGERS, WEB})


def counted_sides(
    respondents: int, web: int, min_group: int, *, pooled: bool | None = None
) -> frozenset[str]:
    """The sides of a window whose answers count in its figures (none: the window is hidden).

    Pooled (the body's choice), the whole window counts when it reaches the threshold. Apart
    (the default), each side counts only when it reaches the threshold on its own, so fake web
    answers never lift a window's messenger answers over it: an officer who knows of one
    genuine Telegram answer and adds 4 web ones sees nothing, and a side too small is counted
    in no figure (its web answers *dropped*, as reports.disclosure.Plan.dropped).
    """
    k = max(min_group, 1)
    if web_pooled() if pooled is None else pooled:
        return BOTH if respondents >= k else frozenset()
    sides = {MESSENGERS} if respondents - web >= k else set()
    if web >= k:
        sides.add(WEB)
    return frozenset(sides)


# --- which windows a period uses -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownWindow:
    """A closed window whose results show figures: at least the threshold of respondents."""

    id: int
    questionnaire_id: str
    opens_on: date
    last_day: date  # the day it actually ran until (a window closed early: that day)
    respondents: int  # of the counted sides
    #: The sides whose answers count (:func:`counted_sides`): every figure built on the window
    #: sums only their answers (reports.metrics.window_counts ``sides``).
    sides: frozenset[str] = BOTH


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
    first. A hidden window (fewer respondents than ``min_group``, on each side while the web
    is kept apart: :func:`counted_sides`) contributes to nothing."""
    found: list[ShownWindow] = []
    for record in records:
        end = last_day(record, zone)
        sides = counted_sides(record.respondents, record.web, min_group)
        if not sides:
            continue
        start = end if closing else record.opens_on
        if period.start <= start and end <= period.end:
            respondents = (record.respondents - record.web if MESSENGERS in sides else 0) + (
                record.web if WEB in sides else 0
            )
            found.append(
                ShownWindow(
                    record.id, record.questionnaire_id, record.opens_on, end, respondents, sides
                )
            )
    return found


def of_sides(tallies: Iterable[Tally], window: ShownWindow) -> list[Tally]:
    """The tallies of the window's counted sides."""
    return [tally for tally in tallies if (WEB if tally.web else MESSENGERS) in window.sides]


def sides_of(windows: Iterable[ShownWindow]) -> dict[int, frozenset[str]]:
    """The counted sides of each window, for the queries that sum their answers."""
    return {window.id: window.sides for window in windows}


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
    merged: dict[tuple[str | None, bool], GroupCounts] = {}
    for tally in tallies:
        key = (rename(tally.department), tally.web)  # the sides stay apart
        merged[key] = merged.get(key, GroupCounts()) + GroupCounts.of(tally)
    return [
        Tally(key, counts.respondents, counts.by_score, counts.cannot_rate, web=web)
        for (key, web), counts in merged.items()
    ]


def counted_tallies(
    tallies: Sequence[Tally], min_group: int, *, pooled: bool | None = None
) -> list[Tally]:
    """The tallies of the window's counted sides (:func:`counted_sides`): what its total and
    departments may sum. Apart, a side below the threshold is left out of every figure."""
    respondents = sum(tally.respondents for tally in tallies)
    web = sum(tally.respondents for tally in tallies if tally.web)
    sides = counted_sides(respondents, web, min_group, pooled=pooled)
    return [tally for tally in tallies if (WEB if tally.web else MESSENGERS) in sides]


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
    counts: dict[str | None, GroupCounts] = {}
    for tally in tallies:  # a department's sides summed (pooled, or one side only)
        counts[tally.department] = counts.get(tally.department, GroupCounts()) + GroupCounts.of(
            tally
        )
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


def window_departments(
    tallies: Sequence[Tally], min_group: int, *, pooled: bool | None = None
) -> list[DepartmentGroup]:
    """The department breakdown of a window's counted tallies (:func:`counted_tallies`).

    Pooled, or with one side only, :func:`department_groups`. With both sides counted while
    the web is kept apart, the rule runs on each side alone, so every figure is a sum of groups
    of at least ``min_group`` answers of one side: a department is shown with the groups each
    side shows of it, and «другие подразделения» holds each side's merged rest (a side without
    a breakdown of its own joins it whole). Fake web answers padding a department, or the
    rest, of one genuine Telegram answer then show nothing of it.
    """
    sides = [[t for t in tallies if not t.web], [t for t in tallies if t.web]]
    if (web_pooled() if pooled is None else pooled) or not all(sides):
        return department_groups(tallies, min_group)
    shown: dict[str, GroupCounts] = {}
    rest = GroupCounts()
    for side in sides:
        groups = department_groups(side, min_group)
        if not groups:
            rest = rest + total_of(side)
        for group in groups:
            if group.merged:
                rest = rest + group.counts
            else:
                shown[group.title] = shown.get(group.title, GroupCounts()) + group.counts
    if len(shown) < 2:
        return []
    found = [DepartmentGroup(title, shown[title]) for title in sorted(shown)]
    if rest.respondents:
        found.append(DepartmentGroup(OTHER_DEPARTMENTS, rest, merged=True))
    return found
