"""The otklik command: validate, preview with scripted input, schema, run without a token."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from bot.cli import SCHEMA_DIR, json_schemas, main
from questionnaires.loader import DEFINITIONS_DIR, load_folder

BROKEN = Path(__file__).parent / "fixtures" / "broken"


def test_validate_passes_on_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    for name in (
        "post_service",
        "deep_external",
        "staff",
        "initiative",
        "catalog",
        "campaigns",
        "triggers",
    ):
        assert f"ok  {name}" in out


def test_validate_reports_every_defect_with_file_and_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--questionnaires", str(BROKEN)]) == 1
    err = capsys.readouterr().err
    located = re.findall(r"^(\S+\.yaml):(\d+):(\d+): (\S+): ", err, flags=re.MULTILINE)
    broken_files = {file for file, *_ in located if Path(file).parent == BROKEN}
    assert len(broken_files) == len(list(BROKEN.glob("*.yaml")))
    assert len(located) >= 15
    assert "defect(s) found" in err


def _preview(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    lines: str,
    *args: str,
) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code = main(["preview", name, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_preview_runs_post_service_with_back_skip_and_other(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = "\n".join(
        [
            "2",  # overall
            "3",  # solved: Нет
            "1,5",  # obstacles
            "<",  # back to obstacles
            "2,10",  # result_time + other
            "терминал не работал",  # other text
            "9",  # contacts: no such option
            "4",  # contacts: 4 and more
            "-",  # skip the comment
        ]
    )
    code, out = _preview(
        monkeypatch,
        capsys,
        "post_service",
        script + "\n",
        "--service",
        "licensing",
        "--channel",
        "office",
    )
    assert code == 0, out
    assert "[1/4] Насколько вы в целом удовлетворены услугой «Лицензирование" in out
    assert "! there is no such option" in out
    summary = out.split("Спасибо!")[-1]
    assert "  obstacles: Долго ждать результата, Другое «терминал не работал»\n" in summary
    assert "  contacts: 4 и больше\n" in summary
    assert "comment" not in summary


@pytest.mark.parametrize("name", sorted(load_folder(DEFINITIONS_DIR).questionnaires))
def test_preview_completes_every_shipped_questionnaire(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # "1" is a valid answer everywhere: the lowest score, the first option, a one-letter text.
    code, out = _preview(monkeypatch, capsys, name, "1\n" * 80, "--lang", "en")
    assert code == 0, out
    questionnaire = load_folder(DEFINITIONS_DIR).questionnaires[name]
    assert (questionnaire.outro.en or questionnaire.outro.ru).split()[0] in out


def test_preview_reports_input_that_ends_too_early(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _preview(monkeypatch, capsys, "post_service", "5\n")
    assert code == 1 and "input ended at question 'solved'" in out


def test_preview_of_an_unknown_questionnaire_lists_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _preview(monkeypatch, capsys, "nope", "")
    assert code == 1 and "available: deep_external, initiative, post_service, staff" in out


def test_shipped_json_schemas_are_up_to_date() -> None:
    for name, document in json_schemas().items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == document, (
            f"run `otklik schema` to refresh {name}"
        )


def test_json_schema_describes_the_question_types_and_refuses_unknown_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    schema = json.loads((tmp_path / "questionnaire.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    definitions = schema["$defs"]
    assert {"ScaleQuestion", "MultiChoiceQuestion", "TextQuestion", "Text"} <= set(definitions)
    assert definitions["Text"]["required"] == ["ru"]


def test_run_without_a_token_explains_where_to_get_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))  # no .env here
    monkeypatch.delenv("BOT__TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "@BotFather" in err and "BOT__TOKEN=" in err and f"{tmp_path / '.env'}" in err


def test_validate_reports_a_campaign_naming_an_unknown_questionnaire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = Path(__file__).parent.parent / "questionnaires" / "campaigns.yaml"
    broken = tmp_path / "campaigns.yaml"
    broken.write_text(
        shipped.read_text(encoding="utf-8").replace(
            "questionnaire: deep_external", "questionnaire: deep_externall"
        ),
        encoding="utf-8",
    )
    assert main(["validate", "--campaigns", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "campaigns.yaml:" in err and "deep_externall" in err


def test_validate_reports_a_broken_triggers_file_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = Path(__file__).parent.parent / "questionnaires" / "triggers.yaml"
    broken = tmp_path / "triggers.yaml"
    broken.write_text(
        shipped.read_text(encoding="utf-8").replace("campaign: deep", "campaign: staff"),
        encoding="utf-8",
    )
    assert main(["validate", "--triggers", str(broken)]) == 1
    err = capsys.readouterr().err
    # The staff poll is no extra poll of citizens: only external campaigns may be proposed.
    assert f"{broken}:" in err and "unknown campaign 'staff'" in err and "rules[0].campaign" in err
