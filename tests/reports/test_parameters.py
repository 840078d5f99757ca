"""Parameters (§3.1), staff aspects (§4.2) and key drivers, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from datetime import date
from typing import Final

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.export import report_json
from reports.metrics import build_report
from reports.model import Period, Report, Scope
from reports.parameter_render import (
    build_internal_workbook,
    internal_json,
    render_internal_text,
)
from reports.parameters import (
    MIN_DRIVER_PAIRS,
    OTHER_DEPARTMENTS,
    InternalReport,
    ParameterSection,
    Quadrant,
    internal_report,
    parameter_section,
    pearson,
    quadrant_of,
    spearman,
)
from reports.telegram import render_report_text
from reports.workbook import build_workbook
from storage.responses import ResponseStore
from tests.reports.conftest import ROLES, Responses, add_window, titles

K: Final = 5
MARCH: Final = Period(date(2026, 3, 1), date(2026, 3, 31))
FEBRUARY: Final = Period(date(2026, 2, 1), date(2026, 2, 28))

PARAMETER_ROLES: Final = replace(
    ROLES,
    parameters={"deep": ("speed", "noise"), "staff": ("tools", "boss")},
    question_titles={
        **ROLES.question_titles,
        ("deep", "speed"): "Как быстро?",
        ("deep", "noise"): "Шум?",
        ("staff", "tools"): "Техника?",
        ("staff", "boss"): "Руководитель?",
    },
)


def _mid_ranks(values: list[int]) -> np.ndarray:
    """Ranks with ties averaged, by hand (what scipy.stats.rankdata does)."""
    array = np.asarray(values, dtype=float)
    ranks = np.empty_like(array)
    for value in np.unique(array):
        where = np.nonzero(array == value)[0]
        below = np.count_nonzero(array < value)
        ranks[where] = below + (len(where) + 1) / 2
    return ranks


def _spearman(xs: list[int], ys: list[int]) -> float:
    return float(np.corrcoef(_mid_ranks(xs), _mid_ranks(ys))[0, 1])


def _deep(speed: int | None, noise: int | None, overall: int) -> list[AnswerRow]:
    answers: list[AnswerRow] = []
    for question, value in (("speed", speed), ("noise", noise)):
        if value is None:
            answers.append(AnswerRow(question, option_id=CANNOT_RATE))
        else:
            answers.append(AnswerRow(question, number=value))
    return answers


async def _seed_effect(
    responses: Responses, count: int, seed: int = 10
) -> list[tuple[int, int, int]]:
    """``count`` deep-poll answers where speed drives the overall score and noise does not."""
    rng = random.Random(seed)
    seeded: list[tuple[int, int, int]] = []
    for index in range(count):
        speed = rng.randint(1, 5)
        overall = min(5, max(1, speed + rng.choice((-1, 0, 0, 1))))
        noise = rng.randint(1, 5)
        seeded.append((speed, noise, overall))
        await responses.add(
            date(2026, 3, 1 + index % 28),
            overall,
            questionnaire="deep",
            extra=_deep(speed, noise, overall),
            window=MARCH_WINDOW,
        )
    return seeded


#: The deep poll's windows: parameters are reported over whole shown windows only.
MARCH_WINDOW: Final = 1
FEBRUARY_WINDOW: Final = 2
STAFF_WINDOW: Final = 7


@pytest.fixture(autouse=True)
async def _windows(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_window(sessions, MARCH_WINDOW, "deep", date(2026, 3, 1), date(2026, 3, 31))
    await add_window(sessions, FEBRUARY_WINDOW, "deep", date(2026, 2, 1), date(2026, 2, 28))
    await add_window(sessions, STAFF_WINDOW, "staff", date(2026, 3, 2), date(2026, 3, 13))


async def _section(
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope | None = None,
    min_pairs: int = MIN_DRIVER_PAIRS,
) -> ParameterSection:
    section = await parameter_section(
        sessions,
        roles=PARAMETER_ROLES,
        period=MARCH,
        previous=FEBRUARY,
        scope=scope or Scope(),
        min_group=K,
        min_pairs=min_pairs,
    )
    assert section is not None
    return section


def test_correlations_from_a_table_equal_those_of_the_rows() -> None:
    rows = [(1, 1), (1, 2), (2, 2), (3, 3), (3, 3), (4, 5), (5, 4), (5, 5), (2, 1), (4, 4)]
    table: dict[tuple[int, int], int] = {}
    for cell in rows:
        table[cell] = table.get(cell, 0) + 1
    xs, ys = [r[0] for r in rows], [r[1] for r in rows]
    assert spearman(table) == pytest.approx(_spearman(xs, ys), abs=1e-12)
    assert pearson(table) == pytest.approx(float(np.corrcoef(xs, ys)[0, 1]), abs=1e-12)
    assert spearman({(3, 1): 4, (3, 5): 2}) is None  # one parameter score: no correlation


def test_quadrants_split_at_the_median_importance_and_the_high_band() -> None:
    assert quadrant_of(0.6, 3.2, 0.4) == Quadrant.IMPROVE_FIRST
    assert quadrant_of(0.6, 4.5, 0.4) == Quadrant.KEEP
    assert quadrant_of(0.1, 3.0, 0.4) == Quadrant.IMPROVE_LATER
    assert quadrant_of(0.1, 4.2, 0.4) == Quadrant.DO_NOT_OVERINVEST
    assert Quadrant.IMPROVE_FIRST.label() == "улучшать в первую очередь"
    assert Quadrant.KEEP.label(Language.EN) == "keep up"


async def test_the_parameter_that_drives_overall_ranks_first_with_the_hand_computed_rho(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    seeded = await _seed_effect(responses, 80)
    section = await _section(sessions)
    drivers = section.drivers
    speed, noise = drivers
    assert (speed.question_id, noise.question_id) == ("speed", "noise")
    assert speed.pairs == noise.pairs == 80
    overall = [s[2] for s in seeded]
    assert speed.spearman == pytest.approx(_spearman([s[0] for s in seeded], overall), abs=1e-9)
    assert noise.spearman == pytest.approx(_spearman([s[1] for s in seeded], overall), abs=1e-9)
    assert speed.pearson == pytest.approx(
        float(np.corrcoef([s[0] for s in seeded], overall)[0, 1]), abs=1e-9
    )
    assert speed.spearman is not None and noise.spearman is not None
    assert speed.spearman > 0.8 and abs(noise.spearman) < 0.3
    # The stronger driver is "important": its quadrant follows its mean against 4.0.
    assert speed.quadrant in {Quadrant.KEEP, Quadrant.IMPROVE_FIRST}
    assert noise.quadrant in {Quadrant.IMPROVE_LATER, Quadrant.DO_NOT_OVERINVEST}
    # Rows: n, mean, share of 4–5 as computed by hand.
    rows = {row.question_id: row for row in section.rows}
    speeds = [s[0] for s in seeded]
    assert rows["speed"].current.n == 80
    assert rows["speed"].current.mean == pytest.approx(sum(speeds) / 80)
    assert rows["speed"].current.csat == pytest.approx(100 * sum(1 for s in speeds if s >= 4) / 80)


async def test_drivers_need_the_minimum_of_pairs_and_cannot_rate_is_counted_apart(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await _seed_effect(responses, 20)
    for day in (2, 3):
        await responses.add(
            date(2026, 3, day),
            4,
            questionnaire="deep",
            extra=_deep(None, 3, 4),
            window=MARCH_WINDOW,
        )
    section = await _section(sessions)
    rows = {row.question_id: row for row in section.rows}
    assert rows["speed"].current.n == 20 and rows["speed"].current.cannot_rate == 2
    assert rows["noise"].current.n == 22
    # 20 pairs < 30: no driver figures at all, only the fact.
    assert all(d.suppressed and d.pairs == 0 for d in section.drivers)
    lowered = await _section(sessions, min_pairs=10)
    assert not any(d.suppressed for d in lowered.drivers)


async def test_a_window_is_reported_whole_never_for_one_service(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await _seed_effect(responses, 30)
    for day in (4, 5, 6):
        await responses.add(
            date(2026, 3, day),
            2,
            service="s2",
            questionnaire="deep",
            extra=_deep(2, 2, 2),
            window=MARCH_WINDOW,
        )
    # A service's part of a window is finer than the window rule: no section at all.
    for scope in (Scope(service="s2"), Scope(service="s1"), Scope(channel="c1")):
        assert (
            await parameter_section(
                sessions,
                roles=PARAMETER_ROLES,
                period=MARCH,
                previous=FEBRUARY,
                scope=scope,
                min_group=K,
            )
            is None
        )
    everyone = await _section(sessions)
    rows = {row.question_id: row for row in everyone.rows}
    assert rows["speed"].current.n == 33  # the small service is inside the whole


async def test_trend_compares_with_the_previous_period(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    seeded = await _seed_effect(responses, 40)
    for day in range(1, 11):
        await responses.add(
            date(2026, 2, day),
            5,
            questionnaire="deep",
            extra=_deep(5, 1, 5),
            window=FEBRUARY_WINDOW,
        )
    section = await _section(sessions)
    rows = {row.question_id: row for row in section.rows}
    share = 100 * sum(1 for s in seeded if s[0] >= 4) / 40
    assert rows["speed"].previous.n == 10 and rows["speed"].previous.csat == 100.0
    assert rows["speed"].share_change == pytest.approx(share - 100.0)
    assert rows["noise"].previous.mean == 1.0


async def test_the_report_renderers_show_the_parameters_and_hide_what_is_suppressed(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await _seed_effect(responses, 40)
    report: Report = await build_report(
        sessions,
        roles=PARAMETER_ROLES,
        titles=titles,
        period=MARCH,
        scope=Scope(),
        min_group=K,
        previous=FEBRUARY,
    )
    section = await _section(sessions)
    report = replace(report, parameters=section)
    text = render_report_text(report)
    assert "Параметры (1–5)" in text and "Ключевые факторы общей оценки" in text
    assert "ρ=" in text and "n=40" in text
    exported = report_json(report)
    parameters = exported["parameters"]
    assert parameters is not None and parameters["min_pairs"] == 30
    assert [d["question_id"] for d in parameters["drivers"]] == ["speed", "noise"]
    json.dumps(exported, ensure_ascii=False)
    book = load_workbook(io.BytesIO(build_workbook(report, [])))
    assert {"Параметры", "Ключевые факторы"} <= set(book.sheetnames)
    # Without enough pairs, the block says why and carries no correlation.
    few = replace(report, parameters=await _section(sessions, min_pairs=100))
    assert "ρ=" not in render_report_text(few) and "не меньше 100" in render_report_text(few)
    few_parameters = report_json(few)["parameters"]
    assert few_parameters is not None
    drivers = few_parameters["drivers"]
    assert all(
        d == {"question_id": d["question_id"], "name": d["name"], "suppressed": True}
        for d in drivers
    )


# --- the internal report ------------------------------------------------------------------


async def _staff(
    sessions: async_sessionmaker[AsyncSession],
    department: str | None,
    count: int,
    *,
    day: date = date(2026, 3, 10),
    overall: int = 4,
    tools: int = 3,
) -> None:
    store = ResponseStore(sessions)
    for _ in range(count):
        await store.save(
            CompletedResponse(
                questionnaire_id="staff",
                questionnaire_version=1,
                kind="staff",
                audience="internal",
                context=ResponseContext(None, "messenger", None),
                submitted_on=day,
                answers=(
                    AnswerRow("overall", number=overall),
                    AnswerRow("tools", number=tools),
                    AnswerRow("boss", option_id=CANNOT_RATE),
                ),
                window_id=STAFF_WINDOW,
                department=department,
            )
        )


DEPARTMENTS: Final = {"services": "Госуслуги", "control": "Контроль", "appeals": "Обращения"}


async def _internal(sessions: async_sessionmaker[AsyncSession]) -> InternalReport:
    return await internal_report(
        sessions,
        roles=PARAMETER_ROLES,
        period=MARCH,
        previous=FEBRUARY,
        department_titles=DEPARTMENTS,
        min_group=K,
    )


async def test_internal_report_by_aspect_and_department_with_complementary_suppression(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _staff(sessions, "services", 8, overall=5, tools=5)
    await _staff(sessions, "control", 7, overall=3, tools=2)
    await _staff(sessions, "appeals", 6, overall=1, tools=1)
    await _staff(sessions, "gone", 2, overall=2, tools=3)  # a code no longer in the catalog
    report = await _internal(sessions)
    assert report.overall.n == 23
    aspects = {row.question_id: row for row in report.aspects.rows}
    assert aspects["tools"].current.n == 23
    # Everyone chose "cannot rate": no score, and a suppressed score carries no count at all.
    assert aspects["boss"].current.suppressed and aspects["boss"].current.cannot_rate == 0
    assert aspects["tools"].current.cannot_rate == 0
    rows = report.departments
    # The window's results rule (department_groups): the two unnamed answers would show by
    # subtraction, so the smallest department («Обращения», 6) joins them as the rest.
    assert [row.title for row in rows] == ["Госуслуги", "Контроль", OTHER_DEPARTMENTS]
    assert [row.overall.n for row in rows] == [8, 7, 8]
    assert dict(rows[2].aspects)["tools"].mean == pytest.approx((6 * 1 + 2 * 3) / 8)
    text = render_internal_text(report)
    assert "Обращения" not in text
    assert "Госуслуги" in text and "Контроль" in text and OTHER_DEPARTMENTS in text
    exported = internal_json(report)
    departments = exported["departments"]
    assert isinstance(departments, list)
    assert [d["key"] for d in departments] == ["services", "control", None]
    book = load_workbook(io.BytesIO(build_internal_workbook(report)))
    assert {"Подразделения", "Параметры"} <= set(book.sheetnames)


async def test_an_english_internal_report_names_its_title_and_departments_in_english(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 12 item 2: read with the roles in English and the catalog's English titles, the
    staff report's own words («другие подразделения», its title) are the catalogue's."""
    await _staff(sessions, "services", 8, overall=5, tools=5)
    await _staff(sessions, "control", 7, overall=3, tools=2)
    await _staff(sessions, "appeals", 6, overall=1, tools=1)
    await _staff(sessions, "gone", 2, overall=2, tools=3)
    report = await internal_report(
        sessions,
        roles=PARAMETER_ROLES.in_language(Language.EN),
        period=MARCH,
        previous=FEBRUARY,
        department_titles={"services": "Services", "control": "Control", "appeals": "Appeals"},
        min_group=K,
    )
    assert report.title == "Staff survey report"
    # Ordered by title, as the window's results are.
    assert [row.title for row in report.departments] == [
        "Control",
        "Services",
        "other departments",
    ]
    assert [row.key for row in report.departments] == ["control", "services", None]
    russian = await _internal(sessions)
    assert russian.title == "Отчёт по опросу сотрудников"
    assert russian.departments[-1].title == OTHER_DEPARTMENTS


async def test_internal_report_withholds_a_breakdown_of_one_group(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _staff(sessions, "services", 8)
    await _staff(sessions, "appeals", 2)
    report = await _internal(sessions)
    assert report.departments == () and report.departments_withheld
    assert report.overall.n == 10
    assert "меньше двух групп" in render_internal_text(report)


async def test_internal_report_is_empty_below_the_threshold(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _staff(sessions, "services", 3)
    report = await _internal(sessions)
    assert report.overall.suppressed and report.overall.n == 0
    assert all(row.current.suppressed for row in report.aspects.rows)
    text = render_internal_text(report)
    assert "мало ответов" in text and "3" not in text.split("Период")[0]


async def test_the_importance_performance_chart_is_drawn_once_per_content(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    from reports.parameter_charts import _drivers_png, drivers_png

    await _seed_effect(responses, 40)
    section = await _section(sessions)
    _drivers_png.cache_clear()
    png = drivers_png(section, "Все услуги")
    assert png.startswith(b"\x89PNG")
    assert drivers_png(section, "Все услуги") is png  # cached: the same bytes object
    assert _drivers_png.cache_info().hits == 1
    english = drivers_png(section, "All", Language.EN)
    assert english.startswith(b"\x89PNG") and english != png
    # Nothing may be shown: a picture that says so.
    empty = drivers_png(await _section(sessions, min_pairs=1000))
    assert empty.startswith(b"\x89PNG") and empty != png
