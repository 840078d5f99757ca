"""Issue 11: the Appendix 2 document from stored answers (SQLite and PostgreSQL), figures
checked against values computed by hand and against the report model the bot shows."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import docx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.catalog import load_catalog
from questionnaires.schema import Language, Text
from reports.disclosure import DisclosurePolicy
from reports.model import Period, QuestionnaireRoles, Scope
from services.appendix2 import Appendix2Service, beside_of, quarters_of
from services.reporting import ReportingPolicy, ReportingService
from tests.reports.conftest import ROLES, Responses
from tests.reports.test_appendix2 import HIDDEN, cells, headings, tables

BODY = "Инспекции государственного жилищного надзора"
H1 = Period(date(2026, 1, 1), date(2026, 6, 30))


def _reporting(
    sessions: async_sessionmaker[AsyncSession], roles: QuestionnaireRoles = ROLES
) -> ReportingService:
    return ReportingService(
        sessions=sessions,
        roles=roles,
        catalog=load_catalog(),
        policy=ReportingPolicy(disclosure=DisclosurePolicy(min_group=5)),
    )


async def _seed(responses: Responses) -> None:
    # Licensing: 6 answers, 4 of them 4–5, mean 21/6; five name the queue (scores 5,5,4,2,1).
    for score, problems in ((5, ["queue"]), (5, ["queue"]), (4, ["queue"]), (2, ["queue"])):
        await responses.add(date(2026, 2, 10), score, service="licensing", problems=problems)
    await responses.add(date(2026, 2, 10), 1, service="licensing", problems=["queue"])
    await responses.add(date(2026, 2, 10), 4, service="licensing")
    # Appeals: 5 answers, 4 of them 4–5, mean 20/5.
    await responses.scores(date(2026, 3, 3), [5, 4, 4, 4, 3], service="appeals")
    # Staff: 3 answers on an internal process: too few to show.
    for score in (1, 2, 5):
        await responses.add(date(2026, 4, 7), score, service="hr", questionnaire="staff")


async def test_the_document_carries_the_report_models_figures(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await _seed(responses)
    reporting = _reporting(sessions)
    data = await Appendix2Service(reporting=reporting, body=BODY).docx(H1)
    document = docx.Document(io.BytesIO(data))
    assert document.paragraphs[0].text == (
        f"Отчет о проведении сбора обратной связи в {BODY} по процессам предоставления "
        "государственных услуг, работе с обращениями граждан, взаимодействию с внутренним "
        "клиентом"
    )
    assert len(headings(document)) == 6
    found = tables(document)
    # 11 answers by hand: 8 of them 4–5, mean 41/11.
    assert cells(found["Удовлетворённость в целом"])[1][1:5] == ["11", "72,7%", "3,73", "средний"]
    model = await reporting.report(H1, Scope())
    assert model.overall.n == 11 and model.overall.csat is not None
    assert f"{model.overall.csat:.1f}".replace(".", ",") + "%" == "72,7%"
    processes = {row[0]: row for row in cells(found["По процессам"])[1:]}
    licensing = "Лицензирование деятельности по управлению многоквартирными домами"
    assert processes[licensing][2:6] == ["6", "66,7%", "3,50", "средний"]
    assert processes["Рассмотрение обращений граждан"][2:6] == ["5", "80,0%", "4,00", "высокий"]
    # Three staff answers: suppressed, in the methods table as in the internal section.
    internal = cells(found["Удовлетворённость внутренних клиентов в целом"])[1]
    assert internal[1:5] == [HIDDEN] * 4
    methods = {row[0]: row[1] for row in cells(found["Методы сбора обратной связи"])}
    assert methods["Онлайн-опрос внутренних клиентов (сотрудников) в Telegram-боте"] == HIDDEN
    # The pain map row of licensing: 5 of 6 named the queue, mean 17/5, priority 5/6 × 1.6.
    [pain] = cells(found["Карта болей"])[1:]
    assert pain == ["1", licensing, "Очередь", "83,3%", "1,33", "", "", "", ""]
    assert len(document.inline_shapes) == 2  # the trend and the distribution


async def test_an_empty_year_with_its_half_beside_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    service = Appendix2Service(reporting=_reporting(sessions), body=BODY)
    document = docx.Document(io.BytesIO(await service.docx(year, beside_of(year))))
    overall = cells(tables(document)["Удовлетворённость в целом"])
    # No answers is shown like a few: suppressed, with nothing to count (reports.metrics).
    assert [row[:2] for row in overall[1:]] == [
        ["01.01.2026–31.12.2026", HIDDEN],
        ["01.07.2026–31.12.2026", HIDDEN],
    ]
    texts = [p.text for p in document.paragraphs]
    assert (
        "За период 01.01.2026–31.12.2026 ответов нет или меньше 5: цифры не показываются, "
        "чтобы сохранить анонимность ответивших."
    ) in texts
    assert "Обращения за период в систему не загружены." in texts
    # The header still names what the collection covers: every group of the catalog.
    assert document.paragraphs[0].text.endswith("взаимодействию с внутренним клиентом")
    assert "осуществления контрольно-надзорных полномочий" in document.paragraphs[0].text


def test_quarters_and_the_half_beside_a_year() -> None:
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    assert [q.start.month for q in quarters_of(year)] == [1, 4, 7, 10]
    assert quarters_of(Period(date(2026, 2, 1), date(2026, 6, 30))) == [
        Period(date(2026, 4, 1), date(2026, 6, 30))
    ]
    assert beside_of(year) == Period(date(2026, 7, 1), date(2026, 12, 31))
    assert beside_of(H1) is None


async def test_attack_the_year_minus_a_half_isolates_nobody(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """The document shows the year and its second half; the officer can also ask for the first
    half. Whatever of the three shows a figure, no difference of them is a group of 1–4."""
    await responses.scores(date(2026, 2, 10), [5, 4, 4, 5, 3, 2], service="licensing")
    await responses.scores(date(2026, 9, 15), [1, 1, 2], service="licensing")  # three people
    reporting = _reporting(sessions)
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    document = docx.Document(
        io.BytesIO(
            await Appendix2Service(reporting=reporting, body=BODY).docx(year, beside_of(year))
        )
    )
    rows = cells(tables(document)["Удовлетворённость в целом"])[1:]
    shown = {row[0]: int(row[1]) for row in rows if row[1] != HIDDEN}
    first_half = await reporting.report(Period(date(2026, 1, 1), date(2026, 6, 30)), Scope())
    if not first_half.overall.suppressed:
        shown["01.01.2026–30.06.2026"] = first_half.overall.n
    # The six of the first half show; the year would give the three away, so it is hidden.
    assert shown == {"01.01.2026–30.06.2026": 6}


async def test_problems_read_at_once_equal_each_process_report(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await _seed(responses)
    await responses.scores(date(2026, 2, 11), [1, 2, 2, 3, 1], service="appeals")
    for _ in range(5):
        await responses.add(date(2026, 3, 3), 2, service="appeals", problems=["queue", "rude"])
    reporting = _reporting(sessions)
    at_once = await reporting.problems_by_service(H1, "external", ["licensing", "appeals"])
    for service in ("licensing", "appeals"):
        own = await reporting.report(H1, Scope(service=service))
        assert at_once[service] == own.problems
    assert {p.option_id for p in at_once["appeals"] if not p.suppressed} == {"queue", "rude"}


async def test_the_english_document_names_each_processs_problems_in_english(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Issue 12 item 2: without a pain map, the document's problems are the reports' own,
    read in the document's language (the option's English text)."""
    await _seed(responses)
    roles = replace(
        ROLES, option_texts={("rating", "obstacles", "queue"): Text(ru="Очередь", en="Queue")}
    )
    reporting = _reporting(sessions, roles)
    service = Appendix2Service(reporting=reporting, body=BODY)
    external = await reporting.report(H1, Scope(), language=Language.EN)
    english = await service.process_problems(H1, external, language=Language.EN)
    titles = {row.title for _, rows in english for row in rows if not row.suppressed}
    assert titles == {"Queue"}
    russian = await service.process_problems(H1, await reporting.report(H1, Scope()))
    assert {row.title for _, rows in russian for row in rows if not row.suppressed} == {"Очередь"}
