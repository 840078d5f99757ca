"""`otklik appeals import` and `otklik appeals report` against a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.appeals.generate import FIXTURES


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("BOT__TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("DB__URL", f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}")
    return tmp_path


def test_import_then_reimport_then_report(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = str(FIXTURES / "register_cp1251.csv")
    assert main(["appeals", "import", register]) == 1  # three bad rows
    out, err = capsys.readouterr()
    assert "3053 rows read, 3050 added, 0 already present (updated), 3 bad" in out
    assert "register_cp1251.csv:3052: date: date not recognised ('31.02.2026')" in err
    assert main(["appeals", "import", register]) == 1
    assert "0 added, 3050 already present" in capsys.readouterr().out
    sheet = home / "q3.xlsx"
    assert (
        main(
            [
                "appeals",
                "report",
                "--quarter",
                "2026Q3",
                "--xlsx",
                str(sheet),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Поступило всего: 2200 (2 кв. 2026: 800, +175,0%)" in out
    assert "Удовлетворено: 210 (30,0%; +5,0 п.п.)" in out
    assert "• Портал Госуслуг: 1000 (45,5%; было 500)" in out
    assert sheet.stat().st_size > 0


def test_all_or_nothing_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = str(FIXTURES / "register.xlsx")
    assert main(["appeals", "import", register, "--all-or-nothing"]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert main(["appeals", "report", "--quarter", "2026q3"]) == 0
    assert "Поступило всего: 0" in capsys.readouterr().out


def test_a_personal_mapping_and_an_open_quarter_are_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = home / "m.yaml"
    mapping.write_text(
        "source: r\ncolumns: {register_no: N, date: D, kind: ФИО}\nvalues: {kind: {a: appeal}}\n",
        encoding="utf-8",
    )
    register = str(FIXTURES / "register.xlsx")
    assert main(["appeals", "import", register, "--mapping", str(mapping)]) == 2
    assert "personal data" in capsys.readouterr().err
    assert main(["appeals", "report", "--quarter", "2099Q1"]) == 2
    assert "not closed yet" in capsys.readouterr().err
    assert main(["appeals", "report", "--quarter", "Q3"]) == 2
