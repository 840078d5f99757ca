"""Issue 10, item 9: `otklik report` prints the officer's report from the database."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

from bot.cli import main
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.database import create_engine, create_session_factory
from storage.models_campaigns import PollWindow, StaffMember
from storage.responses import ResponseStore
from tests.seeding import seed_ratings


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("DB__URL", url)
    monkeypatch.setenv("PRIVACY__MIN_GROUP_SIZE", "5")
    monkeypatch.setenv("REPORTS__WEEKLY_FIGURES", "false")
    assert main(["db", "upgrade"]) == 0
    seed_ratings(url, [5, 5, 4, 2, 1, 4], date(2025, 10, 15), "licensing")
    seed_ratings(url, [5, 1, 5], date(2025, 10, 16), "appeals")  # three: hidden
    return url


def test_issue10_report_json_has_the_figures_and_no_hidden_ones(
    database: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    args = ["report", "--period", "month", "--at", "2025-10-01", "--format", "json"]
    assert main([*args, "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["period"] == {"start": "2025-10-01", "end": "2025-10-31"}
    assert data["compared_with"] == {"start": "2025-09-01", "end": "2025-09-30"}
    # Nine answers by hand: 6 of 9 are 4–5, mean 32/9.
    assert data["overall"]["n"] == 9
    assert data["overall"]["csat"] == pytest.approx(100 * 6 / 9)
    assert data["overall"]["mean"] == pytest.approx(32 / 9)
    services = {g["key"]: g for g in data["groups"] if g["dimension"] == "service"}
    # appeals has 3 answers: hidden, and licensing with it (overall − licensing = appeals).
    assert services["appeals"]["current"] == {"suppressed": True}
    assert services["licensing"]["current"] == {"suppressed": True}


def test_issue10_report_xlsx_html_and_a_custom_range(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "report.xlsx"
    common = ["report", "--from", "2025-10-01", "--to", "2025-11-30"]
    assert main([*common, "--format", "xlsx", "--out", str(book)]) == 0
    assert "Сводка" in load_workbook(io.BytesIO(book.read_bytes())).sheetnames
    assert main([*common, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "01.10.2025–30.11.2025" in page
    # Not whole months: explained and refused.
    assert main(["report", "--from", "2025-10-02", "--to", "2025-11-30"]) == 2
    assert "whole calendar months" in capsys.readouterr().err
    assert main(["report", "--period", "year", "--at", "2999-01-01"]) == 2
    assert "closed periods only" in capsys.readouterr().err


def _seed_staff(url: str, department: str | None, count: int, day: date, tools: int) -> None:
    """Enrolled staff answering the closed staff window 1 (10–14 November 2025): staff figures
    are sums over whole shown windows, departments named as the window's results name them."""

    async def seed() -> None:
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            if await session.get(PollWindow, 1) is None:
                session.add(
                    PollWindow(
                        id=1,
                        campaign_id="staff",
                        questionnaire_id="staff",
                        audience="staff",
                        opens_on=date(2025, 11, 10),
                        closes_on=date(2025, 11, 14),
                        status="closed",
                        origin="schedule",
                    )
                )
            for index in range(count if department else 0):
                session.add(
                    StaffMember(
                        member_key=f"{department}-{index}",
                        department=department,
                        enrolled_on=date(2025, 11, 1),
                    )
                )
        store = ResponseStore(sessions)
        for _ in range(count):
            await store.save(
                CompletedResponse(
                    questionnaire_id="staff",
                    questionnaire_version=1,
                    kind="staff",
                    audience="internal",
                    context=ResponseContext(),
                    submitted_on=day,
                    answers=(
                        AnswerRow("overall", number=4),
                        AnswerRow("equipment", number=tools),
                    ),
                    window_id=1,
                    department=department,
                )
            )
        await engine.dispose()

    asyncio.run(seed())


def test_the_staff_report_by_audience_internal(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed_staff(database, "licensing", 6, date(2025, 11, 12), tools=2)
    _seed_staff(database, "control", 6, date(2025, 11, 12), tools=5)
    args = ["report", "--audience", "internal", "--period", "year", "--at", "2025-06-01"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["audience"] == "internal" and data["overall"]["n"] == 12
    equipment = {p["question_id"]: p for p in data["aspects"]["parameters"]}["equipment"]
    assert equipment["current"]["mean"] == pytest.approx(3.5)
    assert equipment["name"] == "Техническое оснащение"
    titles = [d["title"] for d in data["departments"]]
    assert titles == ["Отдел контроля и надзора", "Отдел лицензирования"]
    # The external report of the same year carries no staff figure.
    assert main(["report", "--period", "year", "--at", "2025-06-01"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["n"] == 9
    assert main([*args, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "Отдел лицензирования" in page and "Техническое оснащение" in page
    book = tmp_path / "staff.xlsx"
    assert main([*args, "--format", "xlsx", "--out", str(book)]) == 0
    assert "Подразделения" in load_workbook(io.BytesIO(book.read_bytes())).sheetnames
    assert main([*args, "--service", "licensing"]) == 2
    assert "has no --service" in capsys.readouterr().err


def test_issue11_report_docx_writes_the_appendix_2_document(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BODY__NAME", "Инспекции государственного жилищного надзора")
    out = tmp_path / "appendix2.docx"
    args = ["report", "--period", "month", "--at", "2025-10-01", "--format", "docx"]
    assert main([*args, "--out", str(out)]) == 0
    document = docx.Document(io.BytesIO(out.read_bytes()))
    assert document.paragraphs[0].text == (
        "Отчет о проведении сбора обратной связи в Инспекции государственного жилищного "
        "надзора по процессам предоставления государственных услуг, работе с обращениями "
        "граждан"
    )
    overall = next(t for t in document.tables if t.rows[0].cells[0].text == "Период")
    # Nine answers by hand: 6 of 9 are 4–5 (the same figures as the JSON report).
    assert [c.text for c in overall.rows[1].cells][1:3] == ["9", "66,7%"]
    # Appendix 2 is body-wide: one service is refused, with the reason.
    assert main([*args, "--service", "licensing", "--out", str(out)]) == 2
    assert "body-wide" in capsys.readouterr().err


def test_report_language_en_writes_the_workbook_and_the_document_in_english(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BODY__NAME", "the Housing Inspectorate")
    book = tmp_path / "report.xlsx"
    args = ["report", "--period", "month", "--at", "2025-10-01", "--language", "en"]
    assert main([*args, "--format", "xlsx", "--out", str(book)]) == 0
    sheets = load_workbook(io.BytesIO(book.read_bytes())).sheetnames
    assert sheets[:6] == [
        "Summary",
        "Services",
        "Channels",
        "Life situations",
        "Messengers",
        "Problems",
    ]
    out = tmp_path / "appendix2.docx"
    assert main([*args, "--format", "docx", "--out", str(out)]) == 0
    document = docx.Document(io.BytesIO(out.read_bytes()))
    assert document.paragraphs[0].text.startswith(
        "Report on the collection of feedback in the Housing Inspectorate on the processes of "
    )
    # --lang is the same option.
    assert (
        main(
            [
                "report",
                "--period",
                "month",
                "--at",
                "2025-10-01",
                "--lang",
                "en",
                "--format",
                "xlsx",
                "--out",
                str(book),
            ]
        )
        == 0
    )
    assert "Summary" in load_workbook(io.BytesIO(book.read_bytes())).sheetnames
