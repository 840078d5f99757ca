"""Quarterly monitoring of appeals and complaints (Procedure §3.5): model, message, sheet.

The register's figures are internal (§3.6): they go to body-wide officers only and are never
published. They are counts of documents, not of people's answers, so no threshold applies to
them; the deep poll's complaint questions shown beside them *are* people's answers and pass the
disclosure policy (reports.disclosure) like every other figure.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.disclosure import Atom, DisclosurePolicy, Plan, plan
from reports.model import Period
from reports.periods import quarter_of
from reports.windows import MESSENGERS, WEB, windows_of
from storage.appeals import AppealCount, AppealStore, PollCount

UTC_ZONE: Final = ZoneInfo("UTC")

#: The deep poll and its complaint questions (questionnaires/definitions/deep_external.yaml).
POLL_QUESTIONNAIRE: Final = "deep_external"
POLL_COMPLAINED: Final = "complained"
POLL_OUTCOME: Final = "complaint_outcome"
MAIN_REASONS: Final = 5
SHEET_TITLE: Final = N_("appeals.sheet.title")
#: The deep poll's complaint outcomes as the monitoring names them.
POLL_OUTCOMES: Final = {
    "satisfied": N_("appeals.outcome.satisfied"),
    "partly": N_("appeals.outcome.partly"),
    "rejected": N_("appeals.outcome.rejected"),
    "pending": N_("appeals.outcome.pending"),
    "no_answer": N_("appeals.outcome.no_answer"),
}


@dataclass(frozen=True, slots=True)
class Line:
    """One code with its count and share of the line's base."""

    code: str | None
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class PollOption:
    option: str
    count: int  # 0 when hidden
    share: float
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class PollComplaints:
    """The deep poll's complaint questions of the quarter, after the disclosure policy."""

    answered: int  # people who answered "did you complain"; 0 when hidden
    complained: PollOption | None
    outcomes: tuple[PollOption, ...]
    min_group: int
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Totals:
    total: int
    complaints: int
    satisfied: int
    rejected: int

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.complaints if self.complaints else None

    @property
    def rejected_share(self) -> float | None:
        return self.rejected / self.complaints if self.complaints else None


@dataclass(frozen=True, slots=True)
class AppealsMonitoring:
    """§3.5 for one quarter, with the previous quarter for the trend."""

    period: Period
    previous: Period
    now: Totals
    before: Totals
    by_channel: tuple[Line, ...]
    previous_by_channel: Mapping[str | None, int]
    reasons: tuple[Line, ...]  # all reasons, most frequent first; the message shows the top
    by_topic: tuple[Line, ...]
    by_kind: Mapping[str, int] = field(default_factory=dict)
    poll: PollComplaints | None = None


def previous_quarter(period: Period) -> Period:
    return quarter_of(period.start - timedelta(days=1))


def _lines(counter: Counter[str | None], base: int) -> tuple[Line, ...]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    return tuple(Line(code, count, count / base if base else 0.0) for code, count in ordered)


def _totals(rows: Iterable[AppealCount]) -> Totals:
    total = complaints = satisfied = rejected = 0
    for row in rows:
        total += row.count
        if row.kind == "complaint":
            complaints += row.count
            satisfied += row.count if row.outcome == "satisfied" else 0
            rejected += row.count if row.outcome == "rejected" else 0
    return Totals(total, complaints, satisfied, rejected)


def monitoring_of(
    period: Period,
    rows: Iterable[AppealCount],
    poll: PollComplaints | None = None,
) -> AppealsMonitoring:
    """Fold the grouped counts of the quarter and the one before into the §3.5 figures."""
    current = [row for row in rows if row.current]
    earlier = [row for row in rows if not row.current]
    now = _totals(current)
    channels: Counter[str | None] = Counter()
    reasons: Counter[str | None] = Counter()
    topics: Counter[str | None] = Counter()
    kinds: Counter[str] = Counter()
    for row in current:
        channels[row.channel] += row.count
        topics[row.topic] += row.count
        kinds[row.kind] += row.count
        if row.reason is not None:
            reasons[row.reason] += row.count
    previous_channels: Counter[str | None] = Counter()
    for row in earlier:
        previous_channels[row.channel] += row.count
    return AppealsMonitoring(
        period=period,
        previous=previous_quarter(period),
        now=now,
        before=_totals(earlier),
        by_channel=_lines(channels, now.total),
        previous_by_channel=dict(previous_channels),
        reasons=_lines(reasons, now.total),
        by_topic=_lines(topics, now.total),
        by_kind=dict(kinds),
        poll=poll,
    )


def poll_complaints(
    period: Period, counts: Iterable[PollCount], policy: DisclosurePolicy
) -> PollComplaints:
    """The poll's complaint answers body-wide; each figure shows only when the group is whole
    blocks of its own plan (the same rule as the problem options of the main report), and a
    question's options show all together or not at all.

    With the web kept apart, every plan drops the web atoms it cannot make a web block of, and
    plans of different groups drop different atoms: a question's base could count a web group
    of >= k of which one option's own plan drops a part of < k, and the base minus the shown
    options (or "complained yes" minus the outcome rows) would give that part back. So the
    section is judged with one plan, that of the people who answered "did you complain": a
    question's options show only when the question's base and every option drop exactly the
    atoms that plan drops, and the outcomes (asked of every "yes") only with "complained
    yes"; every shown figure then sums the same atoms, and every difference is 0."""
    k = max(policy.min_group, 1)
    by_option: dict[tuple[str, str], dict[Atom, int]] = {}
    base: dict[str, dict[Atom, int]] = {}
    for item in counts:
        # The front is one more key of the cell: the plan keeps the web apart (Plan.dropped).
        atom: Atom = (item.day, (item.service, item.channel, item.life_situation, item.front))
        key = (item.question_id, item.option_id)
        by_option.setdefault(key, {})[atom] = by_option.get(key, {}).get(atom, 0) + item.count
        base.setdefault(item.question_id, {})[atom] = (
            base.get(item.question_id, {}).get(atom, 0) + item.count
        )

    def plan_of(sizes: Mapping[Atom, int]) -> Plan:
        return plan(period, sizes, k, weekly=policy.weekly)

    def shown(sizes: Mapping[Atom, int]) -> bool:
        made = plan_of(sizes)
        counted = made.counted(sizes)
        return sum(sizes[atom] for atom in counted) >= k and made.publishable(counted)

    def total(sizes: Mapping[Atom, int]) -> int:
        """The answers a figure of the group sums: without the web's dropped atoms."""
        return sum(sizes[atom] for atom in plan_of(sizes).counted(sizes))

    answered_sizes = base.get(POLL_COMPLAINED, {})
    if not shown(answered_sizes):
        return PollComplaints(0, None, (), k, hidden=True)
    answered = total(answered_sizes)
    section = plan_of(answered_sizes).dropped

    def alike(sizes: Mapping[Atom, int]) -> bool:
        """True when the group's own plan drops exactly the atoms the section's plan drops
        (an atom outside the section counts as kept by it)."""
        dropped = plan_of(sizes).dropped
        return all((atom in dropped) == (atom in section) for atom in sizes)

    def options(question: str, ids: Iterable[str]) -> tuple[PollOption, ...]:
        """Every option of the question with data, or all of them hidden: showing the base
        and all options but a small one would let anyone subtract the small one, and so
        would options summing atoms the base sums and they drop (or the other way round)."""
        present = [i for i in ids if by_option.get((question, i))]
        of = base.get(question, {})
        groups = [by_option[question, i] for i in present]
        if not all(shown(group) for group in groups) or not all(
            alike(group) for group in (of, *groups)
        ):
            return tuple(PollOption(i, 0, 0.0, hidden=True) for i in present)
        whole = total(of)
        return tuple(
            PollOption(i, n, n / whole if whole else 0.0)
            for i, group in zip(present, groups, strict=True)
            for n in [total(group)]
        )

    complained = {o.option: o for o in options(POLL_COMPLAINED, ("yes", "no"))}.get("yes")
    outcomes: tuple[PollOption, ...] = ()
    # The outcome rows add up to "complained yes": shown without it, they would give
    # "answered" - "yes" = the hidden "no" back.
    if complained is not None and not complained.hidden and shown(base.get(POLL_OUTCOME, {})):
        outcomes = options(POLL_OUTCOME, POLL_OUTCOMES)
    return PollComplaints(answered, complained, outcomes, k)


async def build_monitoring(
    store: AppealStore,
    period: Period,
    policy: DisclosurePolicy,
    *,
    zone: ZoneInfo = UTC_ZONE,
) -> AppealsMonitoring:
    """The §3.5 monitoring of a quarter, with the deep poll's complaint answers beside it:
    those of the shown windows that ran wholly inside the quarter, to the day they actually
    ended (an early close, in the body's ``zone``), by the rule of reports/windows.py, as
    Appendix 2's other window figures."""
    previous = previous_quarter(period)
    rows = await store.counts(previous.start, period.start)
    [shown] = await windows_of(
        store.sessions, (POLL_QUESTIONNAIRE,), [period], policy.min_group, zone
    )
    answers = await store.poll_counts(
        POLL_QUESTIONNAIRE,
        (POLL_COMPLAINED, POLL_OUTCOME),
        period.start,
        period.end,
        windows=[window.id for window in shown if MESSENGERS in window.sides],
        web_windows=[window.id for window in shown if WEB in window.sides],
    )
    return monitoring_of(period, rows, poll_complaints(period, answers, policy))


# --- renderers ---------------------------------------------------------------------------------


def _number(text: str, language: Language) -> str:
    return text if language == Language.EN else text.replace(".", ",")


def _pct(share: float | None, language: Language = Language.RU) -> str:
    return "—" if share is None else _number(f"{share * 100:.1f}%", language)


def _change(now: int, before: int, language: Language = Language.RU) -> str:
    if not before:
        return tr(language, "appeals.monitoring.no_data" if now else "appeals.monitoring.same")
    delta = (now - before) / before * 100
    return _number(f"{delta:+.1f}%", language)


def _points(now: float | None, before: float | None, language: Language) -> str:
    if now is None or before is None:
        return ""
    points = _number(f"{(now - before) * 100:+.1f}", language)
    return "; " + tr(language, "appeals.monitoring.points", points=points)


def _name(code: str | None, titles: Mapping[str, str], language: Language) -> str:
    if code is None:
        return tr(language, "report.unspecified")
    return titles.get(code, code)


def quarter_label(period: Period, language: Language = Language.RU) -> str:
    """«3 кв. 2026», Q3 2026."""
    quarter = (period.start.month - 1) // 3 + 1
    return tr(language, "appeals.quarter", quarter=quarter, year=period.start.year)


#: Kinds of appeal in a sentence or a cell («обращения», «жалобы», «предложения»).
KINDS: Final = {
    "appeal": N_("appeals.kind.appeal"),
    "complaint": N_("appeals.kind.complaint"),
    "suggestion": N_("appeals.kind.suggestion"),
}


def kind_title(kind: str, language: Language = Language.RU) -> str:
    key = KINDS.get(kind)
    return kind if key is None else tr(language, key)


def render_monitoring(
    monitoring: AppealsMonitoring,
    titles: Mapping[str, Mapping[str, str]] | None = None,
    language: Language = Language.RU,
) -> str:
    """Telegram HTML for officers (internal, §3.6), in ``language``."""
    names = titles or {}
    m, now, before = monitoring, monitoring.now, monitoring.before

    def name(what: str, code: str | None) -> str:
        return escape(_name(code, names.get(what, {}), language))

    lines = [
        f"<b>{tr(language, 'appeals.monitoring.title', quarter=quarter_label(m.period, language))}"
        "</b>",
        f"<i>{tr(language, 'appeals.monitoring.internal')}</i>",
        "",
        tr(
            language,
            "appeals.monitoring.total",
            total=now.total,
            previous=quarter_label(m.previous, language),
            before=before.total,
            change=_change(now.total, before.total, language),
        ),
    ]
    if m.by_kind:
        kinds = ", ".join(
            f"{kind_title(kind, language)}: {count}" for kind, count in sorted(m.by_kind.items())
        )
        lines.append(tr(language, "appeals.monitoring.kinds", kinds=kinds))
    lines += ["", f"<b>{tr(language, 'appeals.monitoring.channels')}</b>"]
    for line in m.by_channel:
        was = m.previous_by_channel.get(line.code, 0)
        lines.append(
            f"• {name('channel', line.code)}: {line.count} "
            f"({_pct(line.share, language)}; {tr(language, 'appeals.monitoring.was', n=was)})"
        )
    lines += ["", tr(language, "appeals.monitoring.reasons", n=MAIN_REASONS)]
    lines += [
        f"• {name('reason', line.code)}: {line.count} ({_pct(line.share, language)})"
        for line in m.reasons[:MAIN_REASONS]
    ] or ["• " + tr(language, "appeals.monitoring.no_reasons")]
    lines += ["", f"<b>{tr(language, 'appeals.monitoring.topics')}</b>"]
    lines += [f"• {name('topic', line.code)}: {line.count}" for line in m.by_topic]
    lines += [
        "",
        tr(
            language,
            "appeals.monitoring.complaints",
            now=now.complaints,
            before=before.complaints,
        ),
        tr(
            language,
            "appeals.monitoring.satisfied",
            n=now.satisfied,
            share=_pct(now.satisfied_share, language),
            points=_points(now.satisfied_share, before.satisfied_share, language),
        ),
        tr(
            language,
            "appeals.monitoring.rejected",
            n=now.rejected,
            share=_pct(now.rejected_share, language),
            points=_points(now.rejected_share, before.rejected_share, language),
        ),
    ]
    lines += ["", *_poll_lines(m.poll, language)]
    return "\n".join(lines)


def _poll_lines(poll: PollComplaints | None, language: Language) -> list[str]:
    header = f"<b>{tr(language, 'appeals.poll.title')}</b>"
    if poll is None:
        return []
    if poll.hidden:
        return [header, tr(language, "appeals.poll.hidden", k=poll.min_group)]
    lines = [header, tr(language, "appeals.poll.answered", n=poll.answered)]
    if poll.complained is not None:
        complained = _option_text(poll.complained, poll.min_group, language)
        lines.append(tr(language, "appeals.poll.complained", value=complained))
    for option in poll.outcomes:
        key = POLL_OUTCOMES.get(option.option)
        title = option.option if key is None else tr(language, key)
        lines.append(f"• {title}: {_option_text(option, poll.min_group, language)}")
    return lines


def _option_text(option: PollOption, min_group: int, language: Language) -> str:
    if option.hidden:
        return tr(language, "appeals.poll.option_hidden", k=min_group)
    return f"{option.count} ({_pct(option.share, language)})"


def add_monitoring_sheet(
    book: Workbook,
    monitoring: AppealsMonitoring,
    titles: Mapping[str, Mapping[str, str]] | None = None,
    language: Language = Language.RU,
) -> None:
    """A sheet of the §3.5 figures (works in write-only and normal workbooks), in
    ``language``."""
    names = titles or {}
    m = monitoring

    def name(what: str, code: str | None) -> str:
        return _name(code, names.get(what, {}), language)

    sheet = book.create_sheet(tr(language, SHEET_TITLE))
    previous = quarter_label(m.previous, language)
    count, share = tr(language, "appeals.sheet.count"), tr(language, "appeals.sheet.share")
    rows: list[list[object]] = [
        [tr(language, "appeals.sheet.heading", quarter=quarter_label(m.period, language))],
        [
            tr(language, "appeals.sheet.indicator"),
            tr(language, "appeals.sheet.value"),
            share,
            previous,
        ],
        [tr(language, "appeals.sheet.total"), m.now.total, None, m.before.total],
        [tr(language, "appeals.sheet.complaints"), m.now.complaints, None, m.before.complaints],
        [
            tr(language, "appeals.sheet.satisfied"),
            m.now.satisfied,
            m.now.satisfied_share,
            m.before.satisfied,
        ],
        [
            tr(language, "appeals.sheet.rejected"),
            m.now.rejected,
            m.now.rejected_share,
            m.before.rejected,
        ],
        [],
        [tr(language, "appeals.sheet.channel"), count, share, previous],
    ]
    rows += [
        [
            name("channel", line.code),
            line.count,
            line.share,
            m.previous_by_channel.get(line.code, 0),
        ]
        for line in m.by_channel
    ]
    rows += [[], [tr(language, "appeals.sheet.reason"), count, share]]
    rows += [[name("reason", line.code), line.count, line.share] for line in m.reasons]
    rows += [[], [tr(language, "appeals.sheet.topic"), count, share]]
    rows += [[name("topic", line.code), line.count, line.share] for line in m.by_topic]
    for row in rows:
        sheet.append(row)


def monitoring_workbook(
    monitoring: AppealsMonitoring,
    titles: Mapping[str, Mapping[str, str]] | None = None,
    language: Language = Language.RU,
) -> bytes:
    book = Workbook(write_only=True)
    add_monitoring_sheet(book, monitoring, titles, language)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
