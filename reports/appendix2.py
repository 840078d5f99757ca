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
from reports.appeals import KIND_TITLES, AppealsMonitoring, quarter_label
from reports.model import Dimension, Period, ProblemRow, Report, Score
from reports.telegram import band_text, csat_change, is_hidden, protect

#: The form's wording of each process group (Appendix 2: «по процессам …»), in its order.
#: «предоставлению мер социальной поддержки» has no group in the catalog (a housing inspection
#: grants none); a body that does would add a group and its wording here.
PROCESS_WORDING: Final[dict[ServiceGroup, str]] = {
    ServiceGroup.STATE_SERVICE: "предоставления государственных услуг",
    ServiceGroup.CONTROL: "осуществления контрольно-надзорных полномочий",
    ServiceGroup.INFORMATION: "информированию граждан",
    ServiceGroup.APPEALS: "работе с обращениями граждан",
    ServiceGroup.INTERNAL: "взаимодействию с внутренним клиентом",
}
SUPPRESSED_PREFIX: Final = "скрыто"
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

    @property
    def min_group(self) -> int:
        return self.external.min_group


# --- numbers ---------------------------------------------------------------------------------


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _hidden(min_group: int) -> Cell:
    return Cell(f"{SUPPRESSED_PREFIX} (менее {min_group} ответов)", suppressed=True)


def _text(value: object) -> Cell:
    return Cell(str(value))


def score_cells(score: Score, min_group: int) -> tuple[Cell, Cell, Cell, Cell]:
    """n, CSAT, mean, band of a score; every one hidden when the score may show no figures."""
    if is_hidden(score, min_group):
        return (_hidden(min_group),) * 4
    if not score.n or score.csat is None or score.mean is None or score.band is None:
        return (Cell("0"), Cell("—"), Cell("—"), Cell("—"))
    return (
        Cell(str(score.n)),
        Cell(f"{_number(score.csat, 1)}%"),
        Cell(_number(score.mean, 2)),
        Cell(band_text(score.band)),
    )


def _change_cell(current: Score, previous: Score, min_group: int) -> Cell:
    if is_hidden(current, min_group):
        return _hidden(min_group)
    change = csat_change(current, previous, min_group)
    if change is None:
        return Cell("нет данных для сравнения")
    return Cell(f"{change:+.1f}".replace(".", ",") + " п.п.")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{_number(100 * value, 1)}%"


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


def form_title(body: str, groups: Sequence[ServiceGroup]) -> str:
    processes = ", ".join(PROCESS_WORDING[group] for group in groups)
    return f"Отчет о проведении сбора обратной связи в {body} по процессам {processes}"


# --- sections --------------------------------------------------------------------------------


def methods_section(data: Appendix2Data) -> Section:
    """Methods and channels used, with how many responded (§2.6, §5)."""
    k = data.min_group
    methods = [
        (
            "Онлайн-опрос внешних клиентов в Telegram-боте (оценка после получения услуги)",
            data.external.overall,
        ),
        ("Онлайн-опрос внутренних клиентов (сотрудников) в Telegram-боте", data.internal.overall),
    ]
    # Calendar figures: answers outside poll windows only.
    rows = [(Cell(name), score_cells(score, k)[0]) for name, score in methods]
    # A window counts whole, and only when its results were shown (a hidden one: nowhere).
    for name, windows in (
        ("Углублённый опрос внешних клиентов (окна опроса)", data.deep_windows),
        ("Опрос внутренних клиентов (сотрудников), окна опроса", data.staff_windows),
    ):
        shown = [w.respondents for w in windows if w.respondents >= k]
        if windows:
            rows.append((Cell(name), _text(sum(shown)) if shown else _hidden(k)))
    appeals = sum(m.now.total for m in data.appeals)
    if data.appeals:
        rows.append(
            (Cell("Мониторинг обращений и жалоб (реестр обращений, п. 3.5)"), _text(appeals))
        )
    channels = protect(data.external).by(Dimension.CHANNEL)
    return Section(
        "1. Методы и каналы сбора обратной связи",
        (
            Table("Методы сбора обратной связи", ("Метод", "Ответов (документов)"), tuple(rows)),
            Table(
                "Каналы взаимодействия (внешние клиенты)",
                ("Канал", "Ответов с оценкой"),
                tuple(
                    (Cell(row.title), score_cells(row.current, k)[0])
                    for row in channels
                    if row.current.n or row.current.suppressed
                ),
            ),
        ),
    )


_SCORE_COLUMNS: Final = ("n", "CSAT, %", "Средняя оценка", "Уровень")


def _overall_table(data: Appendix2Data) -> Table:
    k = data.min_group
    reports = [data.external, *([data.beside] if data.beside is not None else [])]
    return Table(
        "Удовлетворённость в целом",
        ("Период", *_SCORE_COLUMNS, "Изменение CSAT", "Сравнение с"),
        tuple(
            (
                Cell(str(report.period)),
                *score_cells(report.overall, k),
                _change_cell(report.overall, report.overall_previous, k),
                Cell(str(report.compared_with)),
            )
            for report in reports
        ),
    )


def _process_table(report: Report, groups: Mapping[str, ServiceGroup], caption: str) -> Table:
    k = report.min_group
    rows = [
        row
        for row in protect(report).by(Dimension.SERVICE)
        if row.current.n or row.current.suppressed or row.previous.n or row.previous.suppressed
    ]
    return Table(
        caption,
        ("Процесс", "Группа процессов", *_SCORE_COLUMNS, "Изменение CSAT"),
        tuple(
            (
                Cell(row.title),
                Cell(_group_wording(groups, row.key)),
                *score_cells(row.current, k),
                _change_cell(row.current, row.previous, k),
            )
            for row in rows
        ),
    )


def _group_wording(groups: Mapping[str, ServiceGroup], service: str | None) -> str:
    group = groups.get(service or "")
    return PROCESS_WORDING[group] if group is not None else "—"


def _empty_note(report: Report) -> tuple[Block, ...]:
    """Why a section has no figures. The model does not tell none from a few answers (both
    are suppressed: even the count of a small group says who), so neither does the text."""
    if report.overall.n and not is_hidden(report.overall, report.min_group):
        return ()
    return (
        Paragraph(
            f"За период {report.period} ответов нет или меньше {report.min_group}: цифры не "
            "показываются, чтобы сохранить анонимность ответивших."
        ),
    )


def external_section(data: Appendix2Data) -> Section:
    """CSAT, mean and band, n and the change against the previous period, overall and per
    process, with the charts (§3.1, §6.4)."""
    report = data.external
    blocks: list[Block] = [
        Paragraph(
            f"Изменение CSAT — в процентных пунктах к периоду {report.compared_with}. "
            "Уровень: высокий — средняя оценка от 4,0, средний — от 3,0 до 3,99, низкий — "
            "ниже 3,0."
        ),
        *_empty_note(report),
        _overall_table(data),
        _process_table(report, data.groups, "По процессам"),
    ]
    blocks += _parameter_blocks(report, "Параметры удовлетворённости (§3.1)")
    blocks += _deep_window_blocks(data)
    blocks += [Figure(chart.caption, chart.png) for chart in data.charts]
    return Section("2. Результаты по внешним клиентам", tuple(blocks))


def _parameter_blocks(report: Report, caption: str) -> list[Block]:
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
                ("Параметр", "n", "Доля 4–5, %", "Средняя оценка", "Уровень", "Изменение"),
                tuple(
                    (
                        Cell(row.title),
                        *score_cells(row.current, k),
                        _change_cell(row.current, row.previous, k),
                    )
                    for row in rows
                ),
            )
        )
    drivers = section.shown_drivers
    if drivers:
        blocks.append(
            Table(
                "Ключевые факторы: связь параметра с общей удовлетворённостью "
                f"(ранговая корреляция Спирмена, не менее {section.min_pairs} пар оценок)",
                ("Параметр", "Пар оценок", "ρ", "Квадрант"),
                tuple(
                    (
                        Cell(driver.title),
                        Cell(str(driver.pairs)),
                        Cell(_number(driver.spearman or 0.0, 2)),
                        Cell(driver.quadrant.label() if driver.quadrant else "—"),
                    )
                    for driver in drivers
                ),
            )
        )
    return blocks


def _deep_window_blocks(data: Appendix2Data) -> list[Block]:
    """The deep poll's windows of the period, each whole, beside the calendar figures."""
    if not data.deep_windows:
        return []
    k = data.min_group
    rows = tuple(
        (
            Cell(f"{w.title}, {w.opens_on:%d.%m.%Y}–{w.closes_on:%d.%m.%Y}"),
            Cell(str(w.respondents)) if w.respondents >= k else _hidden(k),
            *_window_score(w.n, w.csat, w.mean, k),
        )
        for w in data.deep_windows
    )
    return [
        Paragraph(
            "Углублённые опросы показаны по окнам опроса целиком: их ответы не входят в "
            "цифры по периодам выше, а окно с числом ответивших меньше порога не показывается."
        ),
        Table(
            "Углублённые опросы (окна опроса)",
            ("Опрос", "Ответивших", "n", "CSAT, %", "Средняя оценка"),
            rows,
        ),
    ]


def internal_section(data: Appendix2Data) -> Section:
    """Staff results (§4, §6.4): overall and per internal process under the same policy, and
    each staff poll window of the period by department under the enrolment rule."""
    report = data.internal
    k = data.min_group
    blocks: list[Block] = [
        *_empty_note(report),
        Table(
            "Удовлетворённость внутренних клиентов в целом",
            ("Период", *_SCORE_COLUMNS, "Изменение CSAT"),
            (
                (
                    Cell(str(report.period)),
                    *score_cells(report.overall, k),
                    _change_cell(report.overall, report.overall_previous, k),
                ),
            ),
        ),
        _process_table(report, data.groups, "По внутренним процессам"),
    ]
    blocks += _parameter_blocks(report, "Аспекты работы (§4.2)")
    for window in data.staff_windows:
        blocks += _staff_window_blocks(window, k)
    if data.staff_pains:
        blocks += [
            Paragraph(
                "Карта болей внутренних клиентов: распространенность — доля сотрудников, "
                "оценивших аспект ниже 4 баллов; приоритетность — распространенность × "
                "(5 − средняя оценка аспекта)."
            ),
            Table(
                "Карта болей внутренних клиентов",
                PAIN_COLUMNS,
                _pain_cells(data.staff_pains, k),
            ),
        ]
    return Section("3. Результаты по внутренним клиентам", tuple(blocks))


def _staff_window_blocks(window: StaffWindowResult, k: int) -> list[Block]:
    caption = f"Опрос «{window.title}», {window.opens_on:%d.%m.%Y}–{window.closes_on:%d.%m.%Y}"
    if window.respondents < k:
        return [Paragraph(f"{caption}: ответов меньше {k}, цифры не показываются.")]
    rows = [
        (
            Cell("Все подразделения"),
            Cell(str(window.respondents)),
            *_window_score(window.n, window.csat, window.mean, k),
        )
    ]
    rows += [
        (Cell(d.title), Cell(str(d.respondents)), *_window_score(d.n, d.csat, d.mean, k))
        for d in window.departments
    ]
    blocks: list[Block] = [
        Table(caption, ("Подразделение", "Ответов", "n", "CSAT, %", "Средняя оценка"), tuple(rows))
    ]
    if not window.departments:
        blocks.append(
            Paragraph(
                f"Разбивка по подразделениям не показана: меньше двух подразделений с {k} и "
                "более оценками."
            )
        )
    return blocks


def _window_score(n: int, csat: float | None, mean: float | None, k: int) -> tuple[Cell, ...]:
    if n < k or csat is None or mean is None:
        return (_hidden(k),) * 3
    return (Cell(str(n)), Cell(f"{_number(csat, 1)}%"), Cell(_number(mean, 2)))


def appeals_section(data: Appendix2Data) -> Section:
    """§3.5 over the period: each quarter's figures and the period's channels and reasons."""
    heading = "4. Мониторинг обращений и жалоб (п. 3.5 Порядка)"
    note = Paragraph("Для служебного пользования: сведения об обращениях не публикуются (п. 3.6).")
    if not data.appeals or not any(m.now.total for m in data.appeals):
        return Section(heading, (note, Paragraph("Обращения за период в систему не загружены.")))
    quarters = Table(
        "По кварталам",
        (
            "Квартал",
            "Всего",
            "Жалоб",
            "Удовлетворено жалоб",
            "Отказано по жалобам",
            "Изменение к прошлому кварталу",
        ),
        tuple(
            (
                Cell(quarter_label(m.period)),
                _text(m.now.total),
                _text(m.now.complaints),
                Cell(f"{m.now.satisfied} ({_share(m.now.satisfied_share)})"),
                Cell(f"{m.now.rejected} ({_share(m.now.rejected_share)})"),
                Cell(_change(m.now.total, m.before.total)),
            )
            for m in data.appeals
        ),
    )
    total = sum(m.now.total for m in data.appeals)
    titles = data.appeal_titles
    return Section(
        heading,
        (
            note,
            quarters,
            _count_table(
                "По каналам поступления",
                "Канал",
                _sum(data.appeals, "channel"),
                total,
                titles.get("channel", {}),
            ),
            _count_table("По видам", "Вид", _kinds(data.appeals), total, KIND_TITLES),
            _count_table(
                "Основные причины",
                "Причина",
                _sum(data.appeals, "reason").most_common(MAIN_REASONS),
                total,
                titles.get("reason", {}),
            ),
            _count_table(
                "По тематикам",
                "Тематика",
                _sum(data.appeals, "topic"),
                total,
                titles.get("topic", {}),
            ),
        ),
    )


def _change(now: int, before: int) -> str:
    if not before:
        return "нет данных" if now else "без изменений"
    return f"{(now - before) / before * 100:+.1f}%".replace(".", ",")


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
) -> Table:
    items = counts.most_common() if isinstance(counts, Counter) else list(counts)
    return Table(
        caption,
        (column, "Количество", "Доля"),
        tuple(
            (
                Cell("не указано" if code is None else titles.get(code, code)),
                _text(count),
                Cell(_share(count / total if total else None)),
            )
            for code, count in items
        ),
    )


PAIN_COLUMNS: Final = (
    "N п/п",
    "Наименование процесса",
    "Выявленные проблемы/потенциальные потребности клиентов",
    "Распространенность проблемы",
    "Приоритетность решения проблемы/удовлетворения потребности",
    "Необходимые к реализации мероприятия",
    "Ответственный",
    "Срок реализации",
    "Статус",
)


def _pain_cells(pains: Sequence[PainRow], k: int) -> tuple[tuple[Cell, ...], ...]:
    rows = []
    for number, pain in enumerate(pains, start=1):
        rows.append(
            (
                _text(number),
                Cell(pain.process),
                Cell(pain.problem),
                _hidden(k) if pain.prevalence is None else Cell(_share(pain.prevalence)),
                _hidden(k) if pain.priority is None else Cell(_number(pain.priority, 2)),
                Cell(pain.measures),
                Cell(pain.responsible),
                Cell(f"{pain.deadline:%d.%m.%Y}" if pain.deadline else ""),
                Cell(pain.status),
            )
        )
    return tuple(rows)


def painmap_section(data: Appendix2Data) -> Section:
    """The pain map with the columns of Appendix 1 (§3.7–3.8)."""
    rows = _pain_cells(data.pains, data.min_group)
    blocks: list[Block] = [
        Paragraph(
            "Распространенность — доля ответивших на вопрос о проблемах, назвавших проблему; "
            "приоритетность — распространенность × (5 − средняя оценка назвавших её)."
        ),
        Table("Карта болей", PAIN_COLUMNS, tuple(rows)),
    ]
    if not rows:
        blocks.append(Paragraph("Проблем, названных достаточным числом клиентов, за период нет."))
    return Section("5. Карта болей (приложение N 1 к Порядку)", tuple(blocks))


def conclusions_section(data: Appendix2Data) -> Section:
    """Left to the official: a heading and an empty paragraph in the editable style."""
    return Section("6. Выводы и предложения", (Paragraph("", editable=True),))


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
    period = f"Отчетный период: {data.period}"
    if data.beside is not None:
        period += f" (в том числе полугодие {data.beside.period})"
    built = tuple(section for builder in sections if (section := builder(data)) is not None)
    return Document(
        title=form_title(data.body, covered_groups(data)),
        short_title=f"Отчет о проведении сбора обратной связи за {data.period}",
        period_line=period,
        sections=built,
        note=(
            f"Цифры по группам менее {data.min_group} ответивших не показываются "
            "(правило анонимности)."
        ),
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
