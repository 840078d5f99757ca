"""The report the body files under Appendix 2 of the Procedure (§6.5): its document model.

A :class:`Document` is plain values (sections of paragraphs, tables and figures) built from the
report models; ``reports.docx`` renders it. Every figure comes from a model that already went
through the disclosure policy (reports.disclosure): the external and internal :class:`Report`
(with the complementary suppression of ``reports.telegram.protect`` applied here, as in the
message and the workbook), the staff poll windows (the department rule of reports.windows)
and the appeals monitoring (register counts: internal, §3.6, fine in this internal document).

The document is a list of section builders (:data:`SECTIONS`), each a function of
:class:`Appendix2Data`; adding a section (the parameters of §3.1, say) is one function and one
entry in the list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from questionnaires.catalog import ServiceGroup
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.appeals import AppealsMonitoring, kind_title, quarter_label
from reports.model import Dimension, Period, ProblemRow, Report, Score
from reports.telegram import band_text, csat_change, is_hidden, protect

#: The form's wording of each process group (Appendix 2: «по процессам …»), in its order.
#: «предоставлению мер социальной поддержки» has no group in the catalog (a housing inspection
#: grants none); a body that does would add a group and its wording here. The Russian texts
#: are the Procedure's own words; the English ones translate them faithfully.
PROCESS_WORDING: Final[dict[ServiceGroup, str]] = {
    ServiceGroup.STATE_SERVICE: N_("appendix2.process.state_service"),
    ServiceGroup.CONTROL: N_("appendix2.process.control"),
    ServiceGroup.INFORMATION: N_("appendix2.process.information"),
    ServiceGroup.APPEALS: N_("appendix2.process.appeals"),
    ServiceGroup.INTERNAL: N_("appendix2.process.internal"),
}
MAIN_REASONS: Final = 5

# --- the document model ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    #: A place the official fills in (the conclusions): rendered empty in its own style.
    editable: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    #: The figure may not be shown (disclosure policy): the cell says so instead.
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of «{self.caption}» has {len(row)} cells")


@dataclass(frozen=True, slots=True)
class Figure:
    caption: str
    png: bytes


Block = Paragraph | Table | Figure


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]
    level: int = 1  # 1: a numbered part of the report, 2: a part of it


@dataclass(frozen=True, slots=True)
class Document:
    #: The form's header: «Отчет о проведении сбора обратной связи в … по процессам …».
    title: str
    period_line: str
    sections: tuple[Section, ...]
    note: str = ""
    #: For the file's properties (Word keeps at most 255 characters there).
    short_title: str = "Отчет о проведении сбора обратной связи"
    language: Language = Language.RU


# --- what it is built from -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PainRow:
    """One row of the pain map (Appendix 1 columns, plus the measure's status).

    Today built from the problems of each process's report (:func:`pains_of`); the
    persisted pain map (storage.painmap) supplies the same rows with its measures filled in.
    """

    process: str
    problem: str
    prevalence: float | None  # 0..1; None: hidden by the disclosure policy
    priority: float | None
    measures: str = ""
    responsible: str = ""
    deadline: date | None = None
    status: str = ""


@dataclass(frozen=True, slots=True)
class DepartmentResult:
    title: str
    respondents: int
    n: int
    csat: float | None
    mean: float | None


@dataclass(frozen=True, slots=True)
class StaffWindowResult:
    """A closed staff poll window of the period, as its results went to the officers."""

    title: str
    opens_on: date
    closes_on: date
    respondents: int  # 0 with too few respondents: nothing shown
    n: int
    csat: float | None
    mean: float | None
    departments: tuple[DepartmentResult, ...] = ()


@dataclass(frozen=True, slots=True)
class Chart:
    caption: str
    png: bytes


@dataclass(frozen=True, slots=True)
class Appendix2Data:
    body: str
    period: Period
    external: Report
    internal: Report
    #: Process group of each catalog service (code → group).
    groups: Mapping[str, ServiceGroup]
    #: The half-year reported beside the year (the 31 December report), if any.
    beside: Report | None = None
    pains: tuple[PainRow, ...] = ()
    #: The staff process's pains (the internal section): read from the persisted map.
    staff_pains: tuple[PainRow, ...] = ()
    appeals: tuple[AppealsMonitoring, ...] = ()  # one per quarter of the period
    appeal_titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    staff_windows: tuple[StaffWindowResult, ...] = ()
    #: The citizens' poll windows (deep poll) of the period, as their results showed them:
    #: calendar figures never count their answers, so they are listed beside them.
    deep_windows: tuple[StaffWindowResult, ...] = ()
    charts: tuple[Chart, ...] = ()
    #: Every word of the document (Russian, the official form, unless the officer reads
    #: English); the data (titles, pains) come in it from the caller.
    language: Language = Language.RU

    @property
    def min_group(self) -> int:
        return self.external.min_group


# --- numbers ---------------------------------------------------------------------------------


def _t(language: Language, key: str, /, **values: object) -> str:
    return tr(language, key, **values)


def _number(value: float, digits: int, language: Language = Language.RU) -> str:
    text = f"{value:.{digits}f}"
    return text if language == Language.EN else text.replace(".", ",")


def _hidden(min_group: int, language: Language = Language.RU) -> Cell:
    return Cell(_t(language, "appendix2.hidden", k=min_group), suppressed=True)


def _text(value: object) -> Cell:
    return Cell(str(value))


def score_cells(
    score: Score, min_group: int, language: Language = Language.RU
) -> tuple[Cell, Cell, Cell, Cell]:
    """n, CSAT, mean, band of a score; every one hidden when the score may show no figures."""
    if is_hidden(score, min_group):
        return (_hidden(min_group, language),) * 4
    if not score.n or score.csat is None or score.mean is None or score.band is None:
        return (Cell("0"), Cell("—"), Cell("—"), Cell("—"))
    return (
        Cell(str(score.n)),
        Cell(f"{_number(score.csat, 1, language)}%"),
        Cell(_number(score.mean, 2, language)),
        Cell(band_text(score.band, language)),
    )


def _change_cell(current: Score, previous: Score, min_group: int, language: Language) -> Cell:
    if is_hidden(current, min_group):
        return _hidden(min_group, language)
    change = csat_change(current, previous, min_group)
    if change is None:
        return Cell(_t(language, "appendix2.no_comparison"))
    number = f"{change:+.1f}"
    if language != Language.EN:
        number = number.replace(".", ",")
    return Cell(_t(language, "appendix2.points", change=number))


def _share(value: float | None, language: Language = Language.RU) -> str:
    return "—" if value is None else f"{_number(100 * value, 1, language)}%"


# --- the header ------------------------------------------------------------------------------


def covered_groups(data: Appendix2Data) -> tuple[ServiceGroup, ...]:
    """Process groups with responses in the period (a suppressed group had some), in the
    form's order; all groups of the catalog when the period had none, so the header still
    names what the collection was set up for."""
    covered: set[ServiceGroup] = set()
    for report in (data.external, data.internal):
        for row in report.by(Dimension.SERVICE):
            group = data.groups.get(row.key or "")
            if group is not None and (row.current.n or row.current.suppressed):
                covered.add(group)
    if not covered:
        covered = set(data.groups.values())
    return tuple(group for group in PROCESS_WORDING if group in covered)


def form_title(body: str, groups: Sequence[ServiceGroup], language: Language = Language.RU) -> str:
    """The form's header, worded as the Procedure fixes it (faithfully translated in English)."""
    processes = ", ".join(_t(language, PROCESS_WORDING[group]) for group in groups)
    return _t(language, "appendix2.form_title", body=body, processes=processes)


# --- sections --------------------------------------------------------------------------------


def methods_section(data: Appendix2Data) -> Section:
    """Methods and channels used, with how many responded (§2.6, §5)."""
    k, language = data.min_group, data.language
    methods = [
        (_t(language, "appendix2.method.external"), data.external.overall),
        (_t(language, "appendix2.method.internal"), data.internal.overall),
    ]
    # Calendar figures: answers outside poll windows only.
    rows = [(Cell(name), score_cells(score, k, language)[0]) for name, score in methods]
    # A window counts whole, and only when its results were shown (a hidden one: nowhere).
    for name, windows in (
        (_t(language, "appendix2.method.deep_windows"), data.deep_windows),
        (_t(language, "appendix2.method.staff_windows"), data.staff_windows),
    ):
        shown = [w.respondents for w in windows if w.respondents >= k]
        if windows:
            rows.append((Cell(name), _text(sum(shown)) if shown else _hidden(k, language)))
    appeals = sum(m.now.total for m in data.appeals)
    if data.appeals:
        rows.append((Cell(_t(language, "appendix2.method.appeals")), _text(appeals)))
    channels = protect(data.external).by(Dimension.CHANNEL)
    return Section(
        _t(language, "appendix2.methods"),
        (
            Table(
                _t(language, "appendix2.methods.table"),
                (_t(language, "appendix2.method"), _t(language, "appendix2.method.responses")),
                tuple(rows),
            ),
            Table(
                _t(language, "appendix2.channels.table"),
                (_t(language, "appendix2.channel"), _t(language, "appendix2.channel.responses")),
                tuple(
                    (Cell(row.title), score_cells(row.current, k, language)[0])
                    for row in channels
                    if row.current.n or row.current.suppressed
                ),
            ),
        ),
    )


def _score_columns(language: Language) -> tuple[str, ...]:
    return (
        "n",
        _t(language, "appendix2.column.csat"),
        _t(language, "appendix2.column.mean"),
        _t(language, "appendix2.column.band"),
    )


def _overall_table(data: Appendix2Data) -> Table:
    k, language = data.min_group, data.language
    reports = [data.external, *([data.beside] if data.beside is not None else [])]
    return Table(
        _t(language, "appendix2.overall.table"),
        (
            _t(language, "appendix2.column.period"),
            *_score_columns(language),
            _t(language, "appendix2.column.change"),
            _t(language, "appendix2.column.compared_with"),
        ),
        tuple(
            (
                Cell(str(report.period)),
                *score_cells(report.overall, k, language),
                _change_cell(report.overall, report.overall_previous, k, language),
                Cell(str(report.compared_with)),
            )
            for report in reports
        ),
    )


def _process_table(
    report: Report, groups: Mapping[str, ServiceGroup], caption: str, language: Language
) -> Table:
    k = report.min_group
    rows = [
        row
        for row in protect(report).by(Dimension.SERVICE)
        if row.current.n or row.current.suppressed or row.previous.n or row.previous.suppressed
    ]
    return Table(
        caption,
        (
            _t(language, "appendix2.column.process"),
            _t(language, "appendix2.column.group"),
            *_score_columns(language),
            _t(language, "appendix2.column.change"),
        ),
        tuple(
            (
                Cell(row.title),
                Cell(_group_wording(groups, row.key, language)),
                *score_cells(row.current, k, language),
                _change_cell(row.current, row.previous, k, language),
            )
            for row in rows
        ),
    )


def _group_wording(
    groups: Mapping[str, ServiceGroup], service: str | None, language: Language
) -> str:
    group = groups.get(service or "")
    return _t(language, PROCESS_WORDING[group]) if group is not None else "—"


def _empty_note(report: Report, language: Language) -> tuple[Block, ...]:
    """Why a section has no figures. The model does not tell none from a few answers (both
    are suppressed: even the count of a small group says who), so neither does the text."""
    if report.overall.n and not is_hidden(report.overall, report.min_group):
        return ()
    return (
        Paragraph(_t(language, "appendix2.empty", period=str(report.period), k=report.min_group)),
    )


def external_section(data: Appendix2Data) -> Section:
    """CSAT, mean and band, n and the change against the previous period, overall and per
    process, with the charts (§3.1, §6.4)."""
    report, language = data.external, data.language
    blocks: list[Block] = [
        Paragraph(_t(language, "appendix2.external.note", previous=str(report.compared_with))),
        *_empty_note(report, language),
        _overall_table(data),
        _process_table(report, data.groups, _t(language, "appendix2.by_process"), language),
    ]
    blocks += _parameter_blocks(report, _t(language, "appendix2.parameters"), language)
    blocks += _deep_window_blocks(data)
    blocks += [Figure(chart.caption, chart.png) for chart in data.charts]
    return Section(_t(language, "appendix2.external"), tuple(blocks))


def _parameter_blocks(report: Report, caption: str, language: Language) -> list[Block]:
    """The parameters (or staff aspects) of the report and, when shown, the key drivers: the
    same section the officer's message renders (reports.parameters, its own disclosure plans)."""
    section = report.parameters
    if section is None:
        return []
    k = report.min_group
    rows = [row for row in section.rows if row.asked]
    blocks: list[Block] = []
    if rows:
        blocks.append(
            Table(
                caption,
                (
                    _t(language, "appendix2.column.parameter"),
                    "n",
                    _t(language, "appendix2.column.share"),
                    _t(language, "appendix2.column.mean"),
                    _t(language, "appendix2.column.band"),
                    _t(language, "appendix2.column.change_short"),
                ),
                tuple(
                    (
                        Cell(row.title),
                        *score_cells(row.current, k, language),
                        _change_cell(row.current, row.previous, k, language),
                    )
                    for row in rows
                ),
            )
        )
    drivers = section.shown_drivers
    if drivers:
        blocks.append(
            Table(
                _t(language, "appendix2.drivers", pairs=section.min_pairs),
                (
                    _t(language, "appendix2.column.parameter"),
                    _t(language, "appendix2.column.pairs"),
                    "ρ",
                    _t(language, "appendix2.column.quadrant"),
                ),
                tuple(
                    (
                        Cell(driver.title),
                        Cell(str(driver.pairs)),
                        Cell(_number(driver.spearman or 0.0, 2, language)),
                        Cell(driver.quadrant.label(language) if driver.quadrant else "—"),
                    )
                    for driver in drivers
                ),
            )
        )
    return blocks


def _window_columns(first: str, language: Language) -> tuple[str, ...]:
    return (
        first,
        _t(language, "appendix2.column.respondents"),
        "n",
        _t(language, "appendix2.column.csat"),
        _t(language, "appendix2.column.mean"),
    )


def _deep_window_blocks(data: Appendix2Data) -> list[Block]:
    """The deep poll's windows of the period, each whole, beside the calendar figures."""
    if not data.deep_windows:
        return []
    k, language = data.min_group, data.language
    rows = tuple(
        (
            Cell(f"{w.title}, {w.opens_on:%d.%m.%Y}–{w.closes_on:%d.%m.%Y}"),
            Cell(str(w.respondents)) if w.respondents >= k else _hidden(k, language),
            *_window_score(w.n, w.csat, w.mean, k, language),
        )
        for w in data.deep_windows
    )
    return [
        Paragraph(_t(language, "appendix2.deep.note")),
        Table(
            _t(language, "appendix2.deep.table"),
            _window_columns(_t(language, "appendix2.column.poll"), language),
            rows,
        ),
    ]


def internal_section(data: Appendix2Data) -> Section:
    """Staff results (§4, §6.4): overall and per internal process under the same policy, and
    each staff poll window of the period by department under the enrolment rule."""
    report, language = data.internal, data.language
    k = data.min_group
    blocks: list[Block] = [
        *_empty_note(report, language),
        Table(
            _t(language, "appendix2.internal.table"),
            (
                _t(language, "appendix2.column.period"),
                *_score_columns(language),
                _t(language, "appendix2.column.change"),
            ),
            (
                (
                    Cell(str(report.period)),
                    *score_cells(report.overall, k, language),
                    _change_cell(report.overall, report.overall_previous, k, language),
                ),
            ),
        ),
        _process_table(
            report, data.groups, _t(language, "appendix2.by_internal_process"), language
        ),
    ]
    blocks += _parameter_blocks(report, _t(language, "appendix2.aspects"), language)
    for window in data.staff_windows:
        blocks += _staff_window_blocks(window, k, language)
    if data.staff_pains:
        blocks += [
            Paragraph(_t(language, "appendix2.staff_pains.note")),
            Table(
                _t(language, "appendix2.staff_pains.table"),
                pain_columns(language),
                _pain_cells(data.staff_pains, k, language),
            ),
        ]
    return Section(_t(language, "appendix2.internal"), tuple(blocks))


def _staff_window_blocks(window: StaffWindowResult, k: int, language: Language) -> list[Block]:
    caption = _t(
        language,
        "appendix2.staff_window",
        title=window.title,
        opens=f"{window.opens_on:%d.%m.%Y}",
        closes=f"{window.closes_on:%d.%m.%Y}",
    )
    if window.respondents < k:
        return [Paragraph(_t(language, "appendix2.staff_window.too_few", caption=caption, k=k))]
    rows = [
        (
            Cell(_t(language, "appendix2.all_departments")),
            Cell(str(window.respondents)),
            *_window_score(window.n, window.csat, window.mean, k, language),
        )
    ]
    rows += [
        (
            Cell(d.title),
            Cell(str(d.respondents)),
            *_window_score(d.n, d.csat, d.mean, k, language),
        )
        for d in window.departments
    ]
    columns = (
        _t(language, "appendix2.column.department"),
        _t(language, "appendix2.column.responses"),
        "n",
        _t(language, "appendix2.column.csat"),
        _t(language, "appendix2.column.mean"),
    )
    blocks: list[Block] = [Table(caption, columns, tuple(rows))]
    if not window.departments:
        blocks.append(Paragraph(_t(language, "appendix2.staff_window.no_departments", k=k)))
    return blocks


def _window_score(
    n: int, csat: float | None, mean: float | None, k: int, language: Language
) -> tuple[Cell, ...]:
    if n < k or csat is None or mean is None:
        return (_hidden(k, language),) * 3
    return (
        Cell(str(n)),
        Cell(f"{_number(csat, 1, language)}%"),
        Cell(_number(mean, 2, language)),
    )


def appeals_section(data: Appendix2Data) -> Section:
    """§3.5 over the period: each quarter's figures and the period's channels and reasons."""
    language = data.language
    heading = _t(language, "appendix2.appeals")
    note = Paragraph(_t(language, "appendix2.appeals.note"))
    if not data.appeals or not any(m.now.total for m in data.appeals):
        return Section(heading, (note, Paragraph(_t(language, "appendix2.appeals.none"))))
    quarters = Table(
        _t(language, "appendix2.appeals.quarters"),
        (
            _t(language, "appendix2.column.quarter"),
            _t(language, "appendix2.column.total"),
            _t(language, "appendix2.column.complaints"),
            _t(language, "appendix2.column.satisfied"),
            _t(language, "appendix2.column.rejected"),
            _t(language, "appendix2.column.quarter_change"),
        ),
        tuple(
            (
                Cell(quarter_label(m.period, language)),
                _text(m.now.total),
                _text(m.now.complaints),
                Cell(f"{m.now.satisfied} ({_share(m.now.satisfied_share, language)})"),
                Cell(f"{m.now.rejected} ({_share(m.now.rejected_share, language)})"),
                Cell(_change(m.now.total, m.before.total, language)),
            )
            for m in data.appeals
        ),
    )
    total = sum(m.now.total for m in data.appeals)
    titles = data.appeal_titles
    kinds = {kind: kind_title(kind, language) for kind in _kinds(data.appeals) if kind}
    return Section(
        heading,
        (
            note,
            quarters,
            _count_table(
                _t(language, "appendix2.appeals.channels"),
                _t(language, "appendix2.channel"),
                _sum(data.appeals, "channel"),
                total,
                titles.get("channel", {}),
                language,
            ),
            _count_table(
                _t(language, "appendix2.appeals.kinds"),
                _t(language, "appendix2.column.kind"),
                _kinds(data.appeals),
                total,
                kinds,
                language,
            ),
            _count_table(
                _t(language, "appendix2.appeals.reasons"),
                _t(language, "appendix2.column.reason"),
                _sum(data.appeals, "reason").most_common(MAIN_REASONS),
                total,
                titles.get("reason", {}),
                language,
            ),
            _count_table(
                _t(language, "appendix2.appeals.topics"),
                _t(language, "appendix2.column.topic"),
                _sum(data.appeals, "topic"),
                total,
                titles.get("topic", {}),
                language,
            ),
        ),
    )


def _change(now: int, before: int, language: Language = Language.RU) -> str:
    if not before:
        return _t(language, "appendix2.no_data" if now else "appendix2.no_change")
    text = f"{(now - before) / before * 100:+.1f}%"
    return text if language == Language.EN else text.replace(".", ",")


def _sum(monitorings: Sequence[AppealsMonitoring], what: str) -> Counter[str | None]:
    counter: Counter[str | None] = Counter()
    for m in monitorings:
        lines = {"channel": m.by_channel, "reason": m.reasons, "topic": m.by_topic}[what]
        for line in lines:
            counter[line.code] += line.count
    return counter


def _kinds(monitorings: Sequence[AppealsMonitoring]) -> Counter[str | None]:
    counter: Counter[str | None] = Counter()
    for m in monitorings:
        counter.update(dict(m.by_kind))
    return counter


def _count_table(
    caption: str,
    column: str,
    counts: Counter[str | None] | Sequence[tuple[str | None, int]],
    total: int,
    titles: Mapping[str, str],
    language: Language,
) -> Table:
    items = counts.most_common() if isinstance(counts, Counter) else list(counts)
    return Table(
        caption,
        (
            column,
            _t(language, "appendix2.column.count"),
            _t(language, "appendix2.column.share_of"),
        ),
        tuple(
            (
                Cell(
                    _t(language, "report.unspecified") if code is None else titles.get(code, code)
                ),
                _text(count),
                Cell(_share(count / total if total else None, language)),
            )
            for code, count in items
        ),
    )


#: The pain map's columns, worded as Appendix 1 to the Procedure (translated in English).
PAIN_COLUMNS: Final = (
    N_("appendix2.pain.number"),
    N_("appendix2.pain.process"),
    N_("appendix2.pain.problem"),
    N_("appendix2.pain.prevalence"),
    N_("appendix2.pain.priority"),
    N_("appendix2.pain.measures"),
    N_("appendix2.pain.responsible"),
    N_("appendix2.pain.deadline"),
    N_("appendix2.pain.status"),
)


def pain_columns(language: Language = Language.RU) -> tuple[str, ...]:
    return tuple(_t(language, key) for key in PAIN_COLUMNS)


def _pain_cells(
    pains: Sequence[PainRow], k: int, language: Language
) -> tuple[tuple[Cell, ...], ...]:
    rows = []
    for number, pain in enumerate(pains, start=1):
        rows.append(
            (
                _text(number),
                Cell(pain.process),
                Cell(pain.problem),
                _hidden(k, language)
                if pain.prevalence is None
                else Cell(_share(pain.prevalence, language)),
                _hidden(k, language)
                if pain.priority is None
                else Cell(_number(pain.priority, 2, language)),
                Cell(pain.measures),
                Cell(pain.responsible),
                Cell(f"{pain.deadline:%d.%m.%Y}" if pain.deadline else ""),
                Cell(pain.status),
            )
        )
    return tuple(rows)


def painmap_section(data: Appendix2Data) -> Section:
    """The pain map with the columns of Appendix 1 (§3.7–3.8)."""
    language = data.language
    rows = _pain_cells(data.pains, data.min_group, language)
    blocks: list[Block] = [
        Paragraph(_t(language, "appendix2.painmap.note")),
        Table(_t(language, "appendix2.painmap.table"), pain_columns(language), tuple(rows)),
    ]
    if not rows:
        blocks.append(Paragraph(_t(language, "appendix2.painmap.none")))
    return Section(_t(language, "appendix2.painmap"), tuple(blocks))


def conclusions_section(data: Appendix2Data) -> Section:
    """Left to the official: a heading and an empty paragraph in the editable style."""
    return Section(_t(data.language, "appendix2.conclusions"), (Paragraph("", editable=True),))


SectionBuilder = Callable[[Appendix2Data], Section | None]

#: The document's sections in order; a builder returning None leaves its section out.
SECTIONS: Final[tuple[SectionBuilder, ...]] = (
    methods_section,
    external_section,
    internal_section,
    appeals_section,
    painmap_section,
    conclusions_section,
)


def build_document(data: Appendix2Data, sections: Sequence[SectionBuilder] = SECTIONS) -> Document:
    language = data.language
    period = _t(language, "appendix2.period", period=str(data.period))
    if data.beside is not None:
        period += _t(language, "appendix2.period_beside", half=str(data.beside.period))
    built = tuple(section for builder in sections if (section := builder(data)) is not None)
    return Document(
        title=form_title(data.body, covered_groups(data), language),
        short_title=_t(language, "appendix2.short_title", period=str(data.period)),
        period_line=period,
        sections=built,
        note=_t(language, "appendix2.note", k=data.min_group),
        language=language,
    )


# --- the pain map from today's reports -------------------------------------------------------


def pains_of(processes: Sequence[tuple[str, Sequence[ProblemRow]]]) -> tuple[PainRow, ...]:
    """Pain map rows from the problems of each process (its title, its report's problem rows),
    by priority within each process; hidden problems are left out (a row with no figures
    tells nothing)."""
    rows: list[tuple[float, PainRow]] = []
    for process, problems in processes:
        for problem in problems:
            if problem.suppressed:
                continue
            rows.append((_priority_key(problem), _pain_of(process, problem)))
    rows.sort(key=lambda item: (item[1].process, -item[0], item[1].problem))
    return tuple(row for _, row in rows)


def _priority_key(problem: ProblemRow) -> float:
    return problem.priority if problem.priority is not None else -1.0


def _pain_of(process: str, problem: ProblemRow) -> PainRow:
    return PainRow(process, problem.title, problem.prevalence, problem.priority)
