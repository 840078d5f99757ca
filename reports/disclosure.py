"""The disclosure policy every officer output goes through: one partition into safe blocks.

Every figure an officer can see (a report, a chart, a workbook sheet or row, a digest, an
alert) is a sum over *atoms*: the responses of one day in one cell (service × channel × life
situation × front). :func:`plan` partitions the atoms of a period into *blocks* of at least ``k``
respondents each, the same way whoever asks; a group of responses may show figures only when it
is a union of whole blocks (:meth:`Plan.publishable`). Whatever an officer then adds or
subtracts (total − service B − service C, a month − its weeks, a quarter − a month, a digest −
an export), the result is again a union of blocks, so no group of 1 to ``k`` − 1 respondents
can be isolated, and nothing finer than a block can be learnt.

Blocks are formed bottom-up in calendar units that nest: *segment* (a Monday–Sunday week cut
at month ends) ⊂ month ⊂ quarter ⊂ half-year ⊂ year. In each unit the atoms not yet in a
block are merged by cell, then by cell whatever the front, then by service and channel, then by
service, then across the unit;
whatever reaches ``k`` becomes a block. Web answers (``front`` = web) are kept apart from the
messengers' at every level (:data:`APART`): anyone can be any number of web respondents, so
they count toward ``k`` only in the web's own blocks, and the web's atoms that join no block
are *dropped*: counted in no figure (:meth:`Plan.counted`). A block at one level depends only
on the data of its own unit, so once a unit has closed its blocks never change: asking twice,
or later, gives the same answer. See docs/anonymity.md for the method and its proof.
"""

from __future__ import annotations

import enum
import functools
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import phonenumbers

from questionnaires.fronts import Front
from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.model import (
    DEFAULT_MIN_COMMENT_GROUP_STAFF,
    DEFAULT_MIN_GROUP,
    Period,
)
from reports.periods import half_of, month_of, quarter_of, segment_of, year_of

#: service, channel, life situation and, in the reports' atoms, the front (Telegram, MAX, web):
#: the front is one more key of the cell, so its groups pass the same plan as channels.
Cell = tuple[str | None, ...]
Atom = tuple[date, Cell]

Unit = Callable[[date], Period]


class Level(enum.Enum):
    """Calendar units in which blocks are formed, finest first."""

    SEGMENT = "segment"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


UNITS: Final[dict[Level, Unit]] = {
    Level.SEGMENT: segment_of,
    Level.MONTH: month_of,
    Level.QUARTER: quarter_of,
    Level.HALF: half_of,
    Level.YEAR: year_of,
}

_Projection = Callable[[Cell], tuple[str | None, ...]]

#: How atoms not yet in a block are grouped in one unit, finest first. There is no level finer
#: than the segment: a block of one day would leave the rest of its week as a remainder that
#: no later level could join to it without revealing it (the day was published first). With
#: weekly figures off, blocks start at the month (see DisclosurePolicy.weekly).
_CELL: Final[_Projection] = lambda cell: cell  # noqa: E731
#: The cell of every front (issue 13): what a messenger leaves over in a cell joins a block of
#: the same service, channel and life situation first, so the cell's rows and the life
#: situation breakdown keep what they showed before fronts were recorded. For cells without a
#: front (the other measures' plans) it is the cell itself, and changes nothing.
_ANY_FRONT: Final[_Projection] = lambda cell: cell[:3]  # noqa: E731
_SERVICE_CHANNEL: Final[_Projection] = lambda cell: cell[:2]  # noqa: E731
_SERVICE: Final[_Projection] = lambda cell: cell[:1]  # noqa: E731
_ANY: Final[_Projection] = lambda cell: ()  # noqa: E731
MERGES: Final[tuple[_Projection, ...]] = (
    _CELL,
    _ANY_FRONT,
    _SERVICE_CHANNEL,
    _SERVICE,
    _ANY,
)


#: The first key of every merge when the web is kept apart: messengers (Telegram and MAX, each
#: answer behind an account with a phone number) and the web (free, any number of respondents).
_MESSENGERS: Final = "messengers"
_WEB: Final[str] = Front.WEB.value  # a plain str: compared in every merge


def _side(cell: Cell) -> str:
    """Which side of the web/messenger split a cell is on (cells without a front: messengers)."""
    return _WEB if len(cell) > 3 and cell[3] == _WEB else _MESSENGERS


def _apart(project: _Projection) -> _Projection:
    """``project`` with the cell's side as its first key, so no group mixes the two."""
    return lambda cell: (
        _WEB if len(cell) > 3 and cell[3] == _WEB else _MESSENGERS,
        *project(cell),
    )


#: The merge order with the web apart (the default, decision of 30 November, docs/anonymity.md
#: "Fake web respondents"): an officer who pads a group with their own web answers and
#: subtracts them learns nothing of the messengers' answers, which are only ever shown in
#: groups of >= k messenger answers. Without web answers it makes the same blocks as MERGES.
#: The web's merges stop at the service: a block of web answers of several services would hide
#: every service's row (its web part would not be whole), the price weekly figures pay; what a
#: service's web answers leave over is dropped instead, and the service rows stay shown.
_ANY_APART: Final[_Projection] = lambda cell: (  # noqa: E731
    (_WEB, cell[0]) if _side(cell) == _WEB else (_MESSENGERS,)
)
APART: Final[tuple[_Projection, ...]] = (
    *(_apart(project) for project in MERGES[:-1]),
    _ANY_APART,
)


@dataclass(slots=True)
class _WebCounting:
    """How the web's answers count toward ``k``: a setting of the body, made at start."""

    pooled: bool = False


#: Set once by the composition root from ``REPORTS__POOL_WEB_WITH_MESSENGERS``
#: (:func:`pool_web_with_messengers`). A process-wide setting rather than one more argument of
#: every report function: every plan of the process must follow the same rule, and a plan
#: made with the other rule would be a second partition to difference against.
_web_counting: Final = _WebCounting()


def pool_web_with_messengers(pooled: bool) -> None:
    """Let web answers count toward ``k`` together with the messengers' (a body accepting the
    risk of fake web respondents), or keep them apart (the default)."""
    _web_counting.pooled = pooled
    clear_plan_cache()


def web_pooled() -> bool:
    """Whether web answers count toward ``k`` together with the messengers' answers."""
    return _web_counting.pooled


@functools.lru_cache(maxsize=65_536)
def _key_order(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    """Codes in order, None (no code) after them: a fixed order for the same data (kept for
    the few thousand cells a body has: every plan sorts them in every unit)."""
    return tuple((part is None, part or "") for part in key)


def _order(value: object) -> tuple[object, ...]:
    if isinstance(value, tuple):
        return tuple(_order(part) for part in value)
    return (value is None, "" if value is None else str(value))


@dataclass(frozen=True, slots=True)
class Plan:
    """The blocks of one period for one measure; atoms in no block are never shown."""

    period: Period
    k: int
    blocks: tuple[frozenset[Atom], ...]
    block_of: Mapping[Atom, int] = field(repr=False)

    def publishable(self, atoms: Iterable[Atom]) -> bool:
        """True when ``atoms`` (the atoms with data of one group) are whole blocks."""
        seen: dict[int, int] = {}
        for atom in atoms:
            index = self.block_of.get(atom)
            if index is None:
                return False
            seen[index] = seen.get(index, 0) + 1
        return all(len(self.blocks[index]) == count for index, count in seen.items())

    def counted(self, atoms: Iterable[Atom]) -> list[Atom]:
        """``atoms`` without the dropped ones: the atoms a figure of the group may sum."""
        if not self.dropped:
            return list(atoms)
        return [atom for atom in atoms if atom not in self.dropped]

    residue: frozenset[Atom] = frozenset()
    #: The web's atoms of the residue while the web is kept apart: they join no web block of
    #: ``k``, so they are counted in no figure at all (totals included) and a group is judged
    #: without them (:meth:`counted`); every other atom of the residue hides its groups.
    dropped: frozenset[Atom] = frozenset()


#: Plans kept by what they are computed from (see :func:`plan`), bounded by the atoms they
#: hold rather than by their number: one ``/report`` asks for a dozen or more plans (the period
#: and the one compared, the trend, NPS, every problem option, every open-answer category, the
#: life situations), so a cache of a few plans would evict each before it is asked for again.
#: A plan with its key costs about 0.4 KB an atom, 0.23 KB when its atoms are the month memo's
#: (reports.metrics; tracemalloc, 1M answers): the bound is some 60–100 MB. 120,000 held less
#: than the report's data and the delivered /report of one half-year at 1M answers (126,417
#: atoms together): each evicted the other's plans and recomputed them (0.4–0.6 s a report).
PLAN_CACHE_ATOMS: Final = 250_000

#: What a plan depends on besides its sizes, with their number and total: sizes that differ in
#: either never share a bucket, and within one the sizes themselves are compared.
_Key = tuple[Period, int, bool, bool, int, int]


class _PlanCache:
    """Least recently used plans, evicted once they hold more than ``atoms`` atoms.

    Each plan is kept with a copy of the sizes it was made from and served only for equal
    sizes: comparing two dicts is ~10x cheaper than the frozenset of every (atom, size) the
    key used to be, built and hashed at every call (12 plans of up to 16,000 atoms per report
    at 1M answers, issue 15).
    """

    def __init__(self, atoms: int) -> None:
        self.limit = atoms
        self.plans: OrderedDict[_Key, list[tuple[dict[Atom, int], Plan]]] = OrderedDict()
        self.atoms = 0

    def get(self, key: _Key, sizes: Mapping[Atom, int]) -> Plan | None:
        for stored, found in self.plans.get(key, ()):
            if stored == sizes:
                self.plans.move_to_end(key)
                return found
        return None

    def put(self, key: _Key, sizes: Mapping[Atom, int], made: Plan) -> None:
        self.plans.setdefault(key, []).append((dict(sizes), made))
        self.plans.move_to_end(key)
        self.atoms += len(sizes)
        while self.atoms > self.limit and len(self.plans) > 1:
            _, evicted = self.plans.popitem(last=False)
            self.atoms -= sum(len(stored) for stored, _ in evicted)

    def clear(self) -> None:
        self.plans.clear()
        self.atoms = 0


_plans: Final = _PlanCache(PLAN_CACHE_ATOMS)


def plan(
    period: Period,
    sizes: Mapping[Atom, int],
    k: int,
    *,
    weekly: bool = False,
    pool_web: bool | None = None,
) -> Plan:
    """The plan of ``period`` (see :func:`make_plan`), from a cache.

    The cache serves a plan only for everything it depends on, the sizes included (compared
    whole), so it can never be stale: a late answer (an import for a closed day) changes the
    sizes and so the plan served. It saves recomputing the same plan for the report, its trend
    chart, the digest and the workbook of one period, and for each officer asking again.
    """
    pooled = web_pooled() if pool_web is None else pool_web
    wanted = sizes if isinstance(sizes, dict) else dict(sizes)
    key = (period, max(k, 1), weekly, pooled, len(wanted), sum(wanted.values()))
    found = _plans.get(key, wanted)
    if found is None:
        found = make_plan(period, wanted, k, weekly=weekly, pool_web=pooled)
        _plans.put(key, wanted, found)
    return found


def clear_plan_cache() -> None:
    """Forget the cached plans (benchmarks time the computation itself)."""
    _plans.clear()


def make_plan(
    period: Period,
    sizes: Mapping[Atom, int],
    k: int,
    *,
    weekly: bool = False,
    pool_web: bool | None = None,
) -> Plan:
    """Partition the atoms of ``period`` (with their sizes) into blocks of at least ``k``.

    In each calendar unit, finest first, the atoms not yet in a block are grouped by cell, by
    cell whatever the front, then by service and channel, by service, and as a whole; a group
    reaching ``k`` becomes a block.
    A group that stays below ``k`` while the same unit already has a block inside the group
    joins the smallest of them (complementary suppression: the unit's blocks are decided
    together, when it closes, so nothing of them was shown before). What no unit of the
    period can place is left as residue and never shown.

    Only calendar units lying wholly inside ``period`` are used: a block of a longer unit could
    never be whole inside the period anyway, and the units inside a closed period are closed, so
    the result is the same as the plan of all time restricted to the period.

    ``weekly`` adds the week pieces as the finest unit, so that weeks can show figures; the
    price is paid by longer periods (see DisclosurePolicy.weekly).

    Unless ``pool_web`` (by default the process's setting, :func:`web_pooled`), every grouping
    has the web/messenger side as its first key (:data:`APART`): no block mixes web and
    messenger answers, and the web's atoms left over are dropped (:attr:`Plan.dropped`).
    """
    k = max(k, 1)
    pooled = web_pooled() if pool_web is None else pool_web
    merges = MERGES if pooled else APART
    left = {atom for atom in sizes if period.start <= atom[0] <= period.end}
    blocks: list[set[Atom]] = []
    for level, unit in UNITS.items():
        if level == Level.SEGMENT and not weekly:
            continue
        spans: dict[date, list[Atom]] = {}
        units: dict[date, Period] = {}  # atoms share few days: each unit is computed once
        for atom in left:
            span = units.get(atom[0])
            if span is None:
                span = units[atom[0]] = unit(atom[0])
            if period.start <= span.start and span.end <= period.end:
                spans.setdefault(span.start, []).append(atom)
        for start in sorted(spans):
            placed = _place(spans[start], sizes, k, merges)
            blocks += placed
            for block in placed:
                left.difference_update(block)
    frozen = tuple(frozenset(block) for block in blocks)
    block_of = {atom: index for index, block in enumerate(frozen) for atom in block}
    dropped = frozenset() if pooled else frozenset(a for a in left if _side(a[1]) == _WEB)
    return Plan(period, k, frozen, block_of, frozenset(left), dropped)


@dataclass(slots=True)
class _Block:
    made: tuple[str | None, ...]  # the cell key it was made at
    atoms: set[Atom]
    size: int


def _place(
    atoms: list[Atom],
    sizes: Mapping[Atom, int],
    k: int,
    merges: tuple[_Projection, ...] = MERGES,
) -> list[set[Atom]]:
    """The blocks of one calendar unit (see :func:`plan`)."""
    here: list[_Block] = []
    # Blocks by every prefix of the key they were made at: a coarser group finds its own fast.
    within: dict[tuple[str | None, ...], list[_Block]] = {}
    left = set(atoms)
    for project in merges:
        groups: dict[tuple[str | None, ...], list[Atom]] = {}
        for atom in left:
            groups.setdefault(project(atom[1]), []).append(atom)
        for key in sorted(groups, key=_key_order):
            members = groups[key]
            size = sum(sizes[atom] for atom in members)
            if size >= k:
                block = _Block(key, set(members), size)
                here.append(block)
                for length in range(len(key) + 1):
                    within.setdefault(key[:length], []).append(block)
            else:
                inside = within.get(key)
                if not inside:
                    continue
                # The smallest block joins them; ties go to the first made (a fixed order).
                smallest = min(inside, key=lambda block: block.size)
                smallest.atoms.update(members)
                smallest.size += size
            left.difference_update(members)
    return [block.atoms for block in here]


# --- groups as tests on atoms --------------------------------------------------------------


def in_scope(
    service: str | None = None,
    channel: str | None = None,
    life_situation: str | None = None,
    within: Period | None = None,
) -> Callable[[Atom], bool]:
    """The test for "this atom belongs to the group": None means any value."""

    def test(atom: Atom) -> bool:
        day, cell = atom
        if within is not None and not within.start <= day <= within.end:
            return False
        return (
            (service is None or cell[0] == service)
            and (channel is None or cell[1] == channel)
            and (life_situation is None or cell[2] == life_situation)
        )

    return test


# --- the policy ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """Thresholds and periods every officer output obeys, built once from settings."""

    min_group: int = DEFAULT_MIN_GROUP
    min_comment_group: int = DEFAULT_MIN_GROUP
    min_comment_group_staff: int = DEFAULT_MIN_COMMENT_GROUP_STAFF
    #: Weeks (and the batches of negative ratings per week) show figures. Every block is then
    #: formed within a week piece first, and what a small service or channel leaves over in a
    #: piece can only join other services' blocks: months, quarters and years lose most of
    #: their breakdowns unless every service × channel has ≥ k answers a week
    #: (bench/disclosure_utility.py). Off: months are the finest unit with figures.
    weekly: bool = False

    @property
    def finest(self) -> PeriodKind:
        """The shortest period that can show figures (and carries the negative batches)."""
        return PeriodKind.WEEK if self.weekly else PeriodKind.MONTH

    def comment_threshold(self, audience: str) -> int:
        threshold = (
            self.min_comment_group_staff if audience == "internal" else self.min_comment_group
        )
        return max(threshold, self.min_group)


# --- requestable periods -------------------------------------------------------------------


class PeriodKind(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


def last_closed(kind: PeriodKind, today: date) -> Period:
    """The latest calendar period of ``kind`` that ended before ``today``."""
    before = today - timedelta(days=1)
    unit: Unit = {
        PeriodKind.WEEK: _week,
        PeriodKind.MONTH: month_of,
        PeriodKind.QUARTER: quarter_of,
        PeriodKind.HALF: half_of,
        PeriodKind.YEAR: year_of,
    }[kind]
    period = unit(before)
    return period if period.end < today else unit(period.start - timedelta(days=1))


def _week(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


# --- free text -----------------------------------------------------------------------------

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL: Final = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
_HANDLE: Final = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,}")
_TIME: Final = re.compile(r"(?<!\d)(?:[01]?\d|2[0-3])[:.][0-5]\d(?!\d)")
_DIGITS: Final = re.compile(r"(?<!\w)\+?\d(?:[\d\s().-]{5,}\d)(?!\w)")
MASK: Final = "[скрыто]"  # the Russian text of "report.masked"


def mask_contacts(text: str, region: str = "RU", language: Language = Language.RU) -> str:
    """A comment with phone numbers, e-mails, links, @handles and times of day masked (by
    the catalogue's mark in ``language``, the report reader's).

    Phones are found by Google's libphonenumber (``phonenumbers.PhoneNumberMatcher``); long
    digit runs it does not accept (a document number, a partial phone) are masked too.
    """
    mask = tr(language, "report.masked")
    text = _EMAIL.sub(mask, text)
    text = _URL.sub(mask, text)
    text = _HANDLE.sub(mask, text)
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    for start, end in reversed(spans):
        text = text[:start] + mask + text[end:]
    text = _DIGITS.sub(mask, text)
    return _TIME.sub(mask, text)
