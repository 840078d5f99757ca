"""Issue 11, item 1: the Appendix 2 report, built from report models and read back as a .docx."""

from __future__ import annotations

import io
from datetime import date

import docx
import pytest
from docx.document import Document as WordDocument
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph

from questionnaires.catalog import ServiceGroup
from reports.appeals import monitoring_of
from reports.appendix2 import (
    Appendix2Data,
    Chart,
    DepartmentResult,
    PainRow,
    Section,
    StaffWindowResult,
    build_document,
    pain_columns,
    pains_of,
)
from reports.charts import distribution_png
from reports.docx import EDITABLE_STYLE, SUPPRESSED_STYLE, render_docx
from reports.model import Dimension, GroupRow, Period, ProblemRow, Report, Scope, Score
from storage.appeals import AppealCount

BODY = "Инспекции государственного жилищного надзора Пермского края"
H1 = Period(date(2026, 1, 1), date(2026, 6, 30))
H2_2025 = Period(date(2025, 7, 1), date(2025, 12, 31))
HIDDEN = "скрыто (менее 5 ответов)"
GROUPS = {
    "licensing": ServiceGroup.STATE_SERVICE,
    "inspections": ServiceGroup.CONTROL,
    "appeals": ServiceGroup.APPEALS,
    "site-info": ServiceGroup.INFORMATION,
    "hr": ServiceGroup.INTERNAL,
}
EMPTY = Score(n=0)
SUPPRESSED = Score(n=0, suppressed=True)


def _score(n: int, csat: float, mean: float) -> Score:
    return Score(n=n, csat=csat, mean=mean)


def _row(dimension: Dimension, key: str, title: str, now: Score, before: Score) -> GroupRow:
    return GroupRow(dimension, key, title, now, before)


def _report(
    *,
    scope: Scope | None = None,
    overall: Score = EMPTY,
    previous: Score = EMPTY,
    groups: tuple[GroupRow, ...] = (),
    problems: tuple[ProblemRow, ...] = (),
    period: Period = H1,
) -> Report:
    return Report(
        title="",
        period=period,
        scope=scope or Scope(),
        overall=overall,
        overall_previous=previous,
        groups=groups,
        problems=problems,
        nps=None,
        drop_off=None,
        comments=(),
        comments_suppressed=True,
        min_group=5,
        compared_with=H2_2025,
    )


EXTERNAL = _report(
    overall=_score(45, 75.0, 4.1),
    previous=_score(30, 70.0, 3.9),
    groups=(
        _row(
            Dimension.SERVICE,
            "appeals",
            "Рассмотрение обращений граждан",
            _score(15, 60.0, 3.4),
            EMPTY,
        ),
        _row(Dimension.SERVICE, "inspections", "Проверки", SUPPRESSED, EMPTY),
        _row(
            Dimension.SERVICE,
            "licensing",
            "Лицензирование",
            _score(25, 80.0, 4.2),
            _score(30, 75.0, 4.0),
        ),
        _row(Dimension.CHANNEL, "office", "Приёмная", _score(30, 70.0, 4.0), EMPTY),
        _row(Dimension.CHANNEL, "site", "Официальный сайт", _score(15, 80.0, 4.3), EMPTY),
    ),
)


def _open(data: bytes) -> WordDocument:
    return docx.Document(io.BytesIO(data))


def _data(**changes: object) -> Appendix2Data:
    values: dict[str, object] = {
        "body": BODY,
        "period": H1,
        "external": EXTERNAL,
        "internal": _report(scope=Scope(audience="internal")),
        "groups": GROUPS,
    }
    values.update(changes)
    return Appendix2Data(**values)  # type: ignore[arg-type]


def style(paragraph: WordParagraph) -> str:
    assert paragraph.style is not None
    return str(paragraph.style.name)


def headings(document: WordDocument) -> list[str]:
    return [p.text for p in document.paragraphs if style(p).startswith("Heading")]


def tables(document: WordDocument) -> dict[str, WordTable]:
    """Each table by the caption right above it."""
    found: dict[str, WordTable] = {}
    caption = ""
    for item in document.iter_inner_content():
        if isinstance(item, WordParagraph):
            caption = item.text if style(item) == "Caption" else ""
        else:
            assert caption, "every table has a caption"
            found[caption] = item
    return found


def cells(table: WordTable) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_header_names_the_body_and_the_process_groups_covered() -> None:
    document = _open(render_docx(build_document(_data())))
    # Internal clients gave nothing: «взаимодействию с внутренним клиентом» is not named; the
    # suppressed inspections had answers, so control is.
    title = (
        f"Отчет о проведении сбора обратной связи в {BODY} по процессам предоставления "
        "государственных услуг, осуществления контрольно-надзорных полномочий, работе с "
        "обращениями граждан"
    )
    assert document.paragraphs[0].text == title
    assert style(document.paragraphs[0]) == "Form Title"
    assert document.core_properties.title == (
        "Отчет о проведении сбора обратной связи за 01.01.2026–30.06.2026"
    )
    assert document.paragraphs[1].text == "Отчетный период: 01.01.2026–30.06.2026"


def test_sections_in_the_order_of_the_report() -> None:
    document = _open(render_docx(build_document(_data())))
    assert headings(document) == [
        "1. Методы и каналы сбора обратной связи",
        "2. Результаты по внешним клиентам",
        "3. Результаты по внутренним клиентам",
        "4. Мониторинг обращений и жалоб (п. 3.5 Порядка)",
        "5. Карта болей (приложение N 1 к Порядку)",
        "6. Выводы и предложения",
    ]


def test_a_section_is_one_function_in_the_list() -> None:
    def parameters(data: Appendix2Data) -> Section:
        return Section("Параметры", ())

    document = build_document(_data(), sections=[parameters])
    assert [s.heading for s in document.sections] == ["Параметры"]


def test_external_figures_equal_the_report_model_and_hidden_ones_say_so() -> None:
    document = _open(render_docx(build_document(_data())))
    found = tables(document)
    assert cells(found["Удовлетворённость в целом"])[1] == [
        "01.01.2026–30.06.2026",
        "45",
        "75,0%",
        "4,10",
        "высокий",
        "+5,0 п.п.",
        "01.07.2025–31.12.2025",
    ]
    processes = {row[0]: row for row in cells(found["По процессам"])[1:]}
    assert processes["Лицензирование"] == [
        "Лицензирование",
        "предоставления государственных услуг",
        "25",
        "80,0%",
        "4,20",
        "высокий",
        "+5,0 п.п.",
    ]
    assert processes["Рассмотрение обращений граждан"][2:] == [
        "15",
        "60,0%",
        "3,40",
        "средний",
        "нет данных для сравнения",
    ]
    assert processes["Проверки"][2:] == [HIDDEN] * 5
    # A hidden cell is marked by its style too, so Word shows it apart from figures.
    hidden_row = next(r for r in found["По процессам"].rows if r.cells[0].text == "Проверки")
    run = hidden_row.cells[2].paragraphs[0].runs[0]
    assert run.style.name == SUPPRESSED_STYLE and run.style.font.italic
    channels = cells(found["Каналы взаимодействия (внешние клиенты)"])
    assert channels == [
        ["Канал", "Ответов с оценкой"],
        ["Приёмная", "30"],
        ["Официальный сайт", "15"],
    ]


def test_complementary_suppression_applies_as_in_the_message() -> None:
    # Overall 45 − licensing 25 − appeals 17 leaves 3 people of the hidden inspections: the
    # smallest shown process is hidden too (reports.telegram.protect), as in every output.
    report = _report(
        overall=_score(45, 75.0, 4.1),
        groups=(
            _row(Dimension.SERVICE, "appeals", "Обращения", _score(17, 60.0, 3.4), EMPTY),
            _row(Dimension.SERVICE, "inspections", "Проверки", SUPPRESSED, EMPTY),
            _row(Dimension.SERVICE, "licensing", "Лицензирование", _score(25, 80.0, 4.2), EMPTY),
        ),
    )
    document = _open(render_docx(build_document(_data(external=report))))
    processes = {row[0]: row for row in cells(tables(document)["По процессам"])[1:]}
    assert processes["Обращения"][2] == HIDDEN
    assert "17" not in " ".join(processes["Обращения"])


def test_charts_are_embedded_and_the_half_year_stands_beside_the_year() -> None:
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    half = _report(overall=_score(20, 50.0, 3.0), period=Period(date(2026, 7, 1), year.end))
    png = distribution_png(Score(n=6, distribution={5: 6}), title="t", min_group=5)
    data = _data(
        period=year,
        external=_report(overall=_score(45, 75.0, 4.1), period=year),
        beside=half,
        charts=(Chart("Рисунок 1", png), Chart("Рисунок 2", png)),
    )
    document = _open(render_docx(build_document(data)))
    assert len(document.inline_shapes) == 2
    captions = [p.text for p in document.paragraphs if style(p) == "Caption"]
    assert "Рисунок 1" in captions and "Рисунок 2" in captions
    assert document.paragraphs[1].text == (
        "Отчетный период: 01.01.2026–31.12.2026 (в том числе полугодие 01.07.2026–31.12.2026)"
    )
    overall = cells(tables(document)["Удовлетворённость в целом"])
    assert [row[:3] for row in overall[1:]] == [
        ["01.01.2026–31.12.2026", "45", "75,0%"],
        ["01.07.2026–31.12.2026", "20", "50,0%"],
    ]


def test_internal_clients_by_process_and_staff_window_by_department() -> None:
    internal = _report(
        scope=Scope(audience="internal"),
        overall=_score(12, 50.0, 3.5),
        groups=(_row(Dimension.SERVICE, "hr", "Кадровые вопросы", _score(12, 50.0, 3.5), EMPTY),),
    )
    windows = (
        StaffWindowResult(
            "Опрос сотрудников",
            date(2026, 3, 2),
            date(2026, 3, 6),
            respondents=12,
            n=11,
            csat=100 * 6 / 11,
            mean=3.5,
            departments=(
                DepartmentResult("Отдел надзора", 6, 6, 50.0, 3.0),
                DepartmentResult("другие подразделения", 6, 5, 60.0, 4.0),
            ),
        ),
        StaffWindowResult("Экспресс-опрос", date(2026, 5, 4), date(2026, 5, 8), 0, 0, None, None),
    )
    document = _open(render_docx(build_document(_data(internal=internal, staff_windows=windows))))
    assert document.paragraphs[0].text.endswith("взаимодействию с внутренним клиентом")
    found = tables(document)
    assert cells(found["По внутренним процессам"])[1][:4] == [
        "Кадровые вопросы",
        "взаимодействию с внутренним клиентом",
        "12",
        "50,0%",
    ]
    assert cells(found["Опрос «Опрос сотрудников», 02.03.2026–06.03.2026"])[1:] == [
        ["Все подразделения", "12", "11", "54,5%", "3,50"],
        ["Отдел надзора", "6", "6", "50,0%", "3,00"],
        ["другие подразделения", "6", "5", "60,0%", "4,00"],
    ]
    texts = [p.text for p in document.paragraphs]
    assert (
        "Опрос «Экспресс-опрос», 04.05.2026–08.05.2026: ответов меньше 5, цифры не показываются."
        in texts
    )


def test_deep_poll_windows_stand_whole_beside_the_calendar_figures() -> None:
    """Window answers are not in the calendar figures: each deep-poll window is listed with its
    own results, and the methods count a window's respondents only when it was shown."""
    deep = (
        StaffWindowResult(
            "Углублённый опрос", date(2026, 4, 1), date(2026, 4, 14), 25, 24, 75.0, 4.1
        ),
        StaffWindowResult("Экспресс-опрос", date(2026, 5, 4), date(2026, 5, 8), 0, 0, None, None),
    )
    staff = (
        StaffWindowResult(
            "Опрос сотрудников", date(2026, 3, 2), date(2026, 3, 6), 12, 11, 50.0, 3.5
        ),
        StaffWindowResult("Малый опрос", date(2026, 6, 1), date(2026, 6, 5), 0, 0, None, None),
    )
    document = _open(render_docx(build_document(_data(deep_windows=deep, staff_windows=staff))))
    found = tables(document)
    assert cells(found["Углублённые опросы (окна опроса)"])[1:] == [
        ["Углублённый опрос, 01.04.2026–14.04.2026", "25", "24", "75,0%", "4,10"],
        [
            "Экспресс-опрос, 04.05.2026–08.05.2026",
            "скрыто (менее 5 ответов)",
            "скрыто (менее 5 ответов)",
            "скрыто (менее 5 ответов)",
            "скрыто (менее 5 ответов)",
        ],
    ]
    methods = {row[0]: row[1] for row in cells(found["Методы сбора обратной связи"])}
    assert methods["Углублённый опрос внешних клиентов (окна опроса)"] == "25"
    assert methods["Опрос внутренних клиентов (сотрудников), окна опроса"] == "12"


def test_appeals_monitoring_of_each_quarter_and_the_period() -> None:
    q1 = Period(date(2026, 1, 1), date(2026, 3, 31))
    q2 = Period(date(2026, 4, 1), date(2026, 6, 30))
    rows_q1 = [
        AppealCount(True, "complaint", "satisfied", "post", "repairs", "delay", 3),
        AppealCount(True, "complaint", "rejected", "email", "repairs", "rude", 1),
        AppealCount(True, "appeal", None, "email", "fees", "delay", 6),
        AppealCount(False, "appeal", None, "email", "fees", None, 5),
    ]
    rows_q2 = [
        AppealCount(True, "appeal", None, "post", "fees", "delay", 10),
        AppealCount(False, "appeal", None, "email", "fees", "delay", 10),
    ]
    appeals = (monitoring_of(q1, rows_q1), monitoring_of(q2, rows_q2))
    titles = {
        "channel": {"post": "Почта", "email": "Электронная почта"},
        "reason": {"delay": "Сроки"},
    }
    document = _open(render_docx(build_document(_data(appeals=appeals, appeal_titles=titles))))
    found = tables(document)
    assert cells(found["По кварталам"])[1:] == [
        ["1 кв. 2026", "10", "4", "3 (75,0%)", "1 (25,0%)", "+100,0%"],
        ["2 кв. 2026", "10", "0", "0 (—)", "0 (—)", "+0,0%"],
    ]
    assert cells(found["По каналам поступления"])[1:] == [
        ["Почта", "13", "65,0%"],
        ["Электронная почта", "7", "35,0%"],
    ]
    assert cells(found["Основные причины"])[1:] == [
        ["Сроки", "19", "95,0%"],
        ["rude", "1", "5,0%"],
    ]
    methods = {row[0]: row[1] for row in cells(found["Методы сбора обратной связи"])}
    assert methods["Мониторинг обращений и жалоб (реестр обращений, п. 3.5)"] == "20"


def test_pain_map_has_the_columns_of_appendix_1_and_the_measures() -> None:
    pains = (
        PainRow("Лицензирование", "Очередь", 0.25, 0.64),
        PainRow(
            "Проверки",
            "Долго",
            0.4,
            1.2,
            measures="Запись онлайн",
            responsible="Отдел лицензирования",
            deadline=date(2026, 9, 30),
            status="в работе",
        ),
    )
    document = _open(render_docx(build_document(_data(pains=pains))))
    table = cells(tables(document)["Карта болей"])
    assert tuple(table[0]) == pain_columns()
    assert table[1] == ["1", "Лицензирование", "Очередь", "25,0%", "0,64", "", "", "", ""]
    assert table[2] == [
        "2",
        "Проверки",
        "Долго",
        "40,0%",
        "1,20",
        "Запись онлайн",
        "Отдел лицензирования",
        "30.09.2026",
        "в работе",
    ]


def test_pain_map_from_the_processes_problems_leaves_hidden_problems_out() -> None:
    problems = (
        ProblemRow("obstacles", "slow", "Долго", 6, 0.24, 3.5, 0.36),
        ProblemRow("obstacles", "queue", "Очередь", 10, 0.4, 2.5, 1.0),
        ProblemRow("obstacles", "rude", "Грубость", 0, 0.0, None, None, suppressed=True),
    )
    assert pains_of([("Лицензирование", problems), ("Проверки", ())]) == (
        PainRow("Лицензирование", "Очередь", 0.4, 1.0),
        PainRow("Лицензирование", "Долго", 0.24, 0.36),
    )


def test_conclusions_are_left_for_the_official_in_their_own_style() -> None:
    document = _open(render_docx(build_document(_data())))
    paragraphs = document.paragraphs
    heading = next(i for i, p in enumerate(paragraphs) if p.text == "6. Выводы и предложения")
    assert style(paragraphs[heading + 1]) == EDITABLE_STYLE
    assert paragraphs[heading + 1].text == ""


def test_an_empty_period_gives_a_complete_document_without_figures() -> None:
    # The model gives an empty group as suppressed, like a small one (reports.metrics).
    data = _data(
        external=_report(overall=SUPPRESSED, previous=SUPPRESSED),
        internal=_report(scope=Scope(audience="internal"), overall=SUPPRESSED),
    )
    document = _open(render_docx(build_document(data)))
    # Nothing was answered: the header names every process group the catalog has.
    assert document.paragraphs[0].text.endswith(
        "по процессам предоставления государственных услуг, осуществления контрольно-надзорных "
        "полномочий, информированию граждан, работе с обращениями граждан, взаимодействию с "
        "внутренним клиентом"
    )
    assert len(headings(document)) == 6
    texts = [p.text for p in document.paragraphs]
    assert (
        "За период 01.01.2026–30.06.2026 ответов нет или меньше 5: цифры не показываются, "
        "чтобы сохранить анонимность ответивших."
    ) in texts
    assert "Обращения за период в систему не загружены." in texts
    assert "Проблем, названных достаточным числом клиентов, за период нет." in texts
    found = tables(document)
    assert cells(found["Удовлетворённость в целом"])[1][1:6] == [HIDDEN] * 5
    assert len(cells(found["По процессам"])) == 1  # the header only
    assert len(cells(found["Карта болей"])) == 1


@pytest.mark.parametrize("suppressed", [True, False])
def test_no_hidden_figure_reaches_the_document(suppressed: bool) -> None:
    # A suppressed overall carries no figures; a defensive check on n below k hides it too.
    overall = SUPPRESSED if suppressed else _score(3, 33.3, 2.0)
    document = _open(render_docx(build_document(_data(external=_report(overall=overall)))))
    row = cells(tables(document)["Удовлетворённость в целом"])[1]
    assert row[1:6] == [HIDDEN] * 5
    assert "33,3" not in " ".join(c for t in document.tables for r in cells(t) for c in r)


def test_parameters_and_key_drivers_as_the_report_model_shows_them() -> None:
    # Issue 11, item 1: results for external clients include the parameters (§3.1), and
    # internal clients the staff aspects (§4.2), each under its own disclosure plan.
    from dataclasses import replace

    from reports.model import DriverRow, ParameterRow, ParameterSection, Quadrant

    def section(
        rows: tuple[ParameterRow, ...], drivers: tuple[DriverRow, ...] = ()
    ) -> ParameterSection:
        return ParameterSection(
            period=H1,
            compared_with=H2_2025,
            min_group=5,
            min_pairs=30,
            rows=rows,
            drivers=drivers,
        )

    external = replace(
        EXTERNAL,
        parameters=section(
            (
                ParameterRow(
                    "deep",
                    "info_clarity",
                    "Понятность информации",
                    _score(40, 70.0, 3.9),
                    _score(30, 60.0, 3.5),
                ),
                ParameterRow("deep", "politeness", "Вежливость", SUPPRESSED, EMPTY),
                ParameterRow("deep", "premises", "Помещения", EMPTY, EMPTY, asked=False),
            ),
            (
                DriverRow(
                    "deep",
                    "info_clarity",
                    "Понятность информации",
                    pairs=40,
                    spearman=0.613,
                    quadrant=Quadrant.IMPROVE_FIRST,
                ),
                DriverRow("deep", "politeness", "Вежливость", pairs=0, suppressed=True),
            ),
        ),
    )
    internal = replace(
        _report(scope=Scope(audience="internal")),
        parameters=section(
            (
                ParameterRow(
                    "staff", "tools", "Техническое оснащение", _score(12, 50.0, 3.2), EMPTY
                ),
            )
        ),
    )
    found = tables(_open(render_docx(build_document(_data(external=external, internal=internal)))))
    parameters = cells(found["Параметры удовлетворённости (§3.1)"])
    assert parameters == [
        ["Параметр", "n", "Доля 4–5, %", "Средняя оценка", "Уровень", "Изменение"],
        ["Понятность информации", "40", "70,0%", "3,90", "средний", "+10,0 п.п."],
        ["Вежливость", *[HIDDEN] * 5],
    ]  # a parameter nobody was asked is left out
    drivers = cells(next(t for c, t in found.items() if c.startswith("Ключевые факторы")))
    assert drivers == [
        ["Параметр", "Пар оценок", "ρ", "Квадрант"],
        ["Понятность информации", "40", "0,61", "улучшать в первую очередь"],
    ]  # a suppressed driver is not listed
    aspects = cells(found["Аспекты работы (§4.2)"])
    assert aspects[1] == [
        "Техническое оснащение",
        "12",
        "50,0%",
        "3,20",
        "средний",
        "нет данных для сравнения",
    ]
