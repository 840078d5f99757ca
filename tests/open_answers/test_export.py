"""`otklik report`: category counts and life situations in JSON, HTML and the workbook."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.database import create_engine, create_session_factory
from storage.responses import ResponseStore


def _seed(url: str) -> None:
    async def seed() -> None:
        engine = create_engine(url)
        store = ResponseStore(create_session_factory(engine))
        for index, whole in enumerate((5, 4, 4, 2, 5, 3)):
            await store.save(
                CompletedResponse(
                    questionnaire_id="post_service",
                    questionnaire_version=1,
                    kind="post_service",
                    audience="external",
                    context=ResponseContext("licensing", "office", "license"),
                    submitted_on=date(2025, 10, 10 + index),
                    answers=(
                        AnswerRow("overall", number=4),
                        AnswerRow("situation_overall", number=whole),
                        AnswerRow("comment", text="Большая очередь, позвоните 8 912 345-67-89"),
                    ),
                )
            )
        await engine.dispose()

    asyncio.run(seed())


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("DB__URL", url)
    monkeypatch.setenv("PRIVACY__MIN_GROUP_SIZE", "5")
    monkeypatch.setenv("REPORTS__WEEKLY_FIGURES", "false")
    assert main(["db", "upgrade"]) == 0
    _seed(url)
    return url


def test_json_html_and_workbook_carry_categories_and_life_situations(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["report", "--period", "month", "--at", "2025-10-01"]
    out = tmp_path / "report.json"
    assert main([*common, "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["open_answers"]["respondents"] == 6
    assert data["open_answers"]["categories"] == [
        {"category": "queue", "title": "Очереди и ожидание", "respondents": 6}
    ]
    [situation] = data["life_situations"]
    assert situation["life_situation"] == "license"
    assert situation["as_a_whole"]["n"] == 6
    assert situation["as_a_whole"]["mean"] == pytest.approx(23 / 6, abs=1e-4)
    assert "licensing" in [s["service"] for s in situation["services"]]
    assert main([*common, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "Комментарии по категориям" in page and "Жизненные ситуации в целом" in page
    book = tmp_path / "report.xlsx"
    assert main([*common, "--format", "xlsx", "--out", str(book)]) == 0
    sheets = load_workbook(io.BytesIO(book.read_bytes()))
    assert {"Комментарии по категориям", "Жизненные ситуации"} <= set(sheets.sheetnames)
    rows = list(sheets["Комментарии по категориям"].iter_rows(values_only=True))
    assert ("Очереди и ожидание", 6) in rows
    assert "912" not in json.dumps(data, ensure_ascii=False)
