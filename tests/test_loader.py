"""Loader: every defect of a broken file is reported with file:line:column and field path."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from questionnaires.errors import Defect, DefinitionError, format_path
from questionnaires.loader import load_folder, parse_questionnaire

BROKEN = Path(__file__).parent / "fixtures" / "broken"

# file, line, field path, words the message must contain
EXPECTED: list[tuple[str, int, str, str]] = [
    ("01_bad_indentation.yaml", 10, "(document)", "YAML syntax"),
    ("02_unknown_key.yaml", 10, "questions[0].requird", "unknown key 'requird'"),
    ("03_duplicate_question_ids.yaml", 10, "questions[1].id", "duplicate question id"),
    ("04_show_if_unknown_question.yaml", 12, "questions[1].show_if", "unknown reference 'overal'"),
    ("05_show_if_later_question.yaml", 9, "questions[0].show_if", "comes later"),
    ("06_wrong_value_type.yaml", 9, "questions[0].min", "wrong type"),
    ("07_scale_min_not_below_max.yaml", 10, "questions[0].max", "must be below its max"),
    ("08_missing_russian_text.yaml", 10, "questions[0].text.ru", "Russian text"),
    ("09_duplicate_option_ids.yaml", 13, "questions[0].options[2].id", "duplicate option id"),
    ("10_unknown_question_type.yaml", 8, "questions[0].type", "unknown value 'rating'"),
    ("11_show_if_type_mismatch.yaml", 12, "questions[1].show_if", "compares numbers"),
    ("12_show_if_syntax_error.yaml", 12, "questions[1].show_if", "expected a value"),
    ("13_show_if_unknown_option.yaml", 16, "questions[1].show_if", "'maybe' is not an option"),
    ("14_duplicate_yaml_key.yaml", 10, "questions[0]", "duplicate key 'text'"),
    ("15_unknown_placeholder.yaml", 9, "questions[0].text.ru", "unknown placeholder {servise}"),
    ("16_overall_role_not_a_scale.yaml", 9, "questions[0].role", "1-5 scale"),
    ("17_kind_audience_mismatch.yaml", 4, "audience", "internal audience"),
    ("18_max_choices_exceeds_options.yaml", 9, "questions[0].max_choices", "exceeds"),
    ("19_invalid_id.yaml", 7, "questions[0].id", "not a valid id"),
    ("20_empty.yaml", 1, "(document)", "empty"),
    ("21_version_zero.yaml", 2, "version", "greater than or equal to 1"),
    ("23_condition_on_itself.yaml", 9, "questions[0].show_if", "refers to itself"),
    ("24_missing_questions.yaml", 1, "questions", "missing required key 'questions'"),
    ("25_billion_laughs.yaml", 6, "(document)", "more than 50000 values, each alias counted"),
    ("26_self_reference.yaml", 5, "(document)", "stands inside its own anchor"),
    ("27_deep_nesting.yaml", 3, "(document)", "nested more than 64 levels deep"),
    ("28_oversized.yaml", 1, "(document)", "the file is too big"),
]


def _defects_of(name: str) -> list[Defect]:
    path = BROKEN / name
    with pytest.raises(DefinitionError) as caught:
        parse_questionnaire(path.read_text(encoding="utf-8"), str(path))
    return list(caught.value.defects)


@pytest.mark.parametrize(("name", "line", "path", "words"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_defect_is_reported_with_file_line_and_field_path(
    name: str, line: int, path: str, words: str
) -> None:
    defects = _defects_of(name)
    matching = [d for d in defects if format_path(d.path) == path and words in d.message]
    assert matching, f"no defect at {path} with {words!r}: {[str(d) for d in defects]}"
    defect = matching[0]
    assert defect.file.endswith(name)
    assert defect.line == line
    assert defect.column is not None and defect.column >= 1
    assert str(defect).startswith(f"{defect.file}:{line}:{defect.column}: {path}: ")


def test_every_broken_fixture_is_covered_and_distinct() -> None:
    files = sorted(p.name for p in BROKEN.glob("*.yaml"))
    covered = {e[0] for e in EXPECTED} | {"22_several_defects.yaml"}
    assert set(files) == covered
    assert len({(e[2], e[3]) for e in EXPECTED}) >= 15


def test_all_defects_of_a_file_are_reported_at_once() -> None:
    defects = _defects_of("22_several_defects.yaml")
    paths = {format_path(d.path) for d in defects}
    assert paths == {"questions[1].text.ru", "questions[2].max_lenght"}


def test_unknown_key_suggests_the_closest_known_key() -> None:
    (defect,) = _defects_of("02_unknown_key.yaml")
    assert defect.hint == "did you mean 'required'?"
    assert defect.expected is not None and "required" in defect.expected


def test_unknown_key_under_a_question_named_like_its_type_is_located() -> None:
    defects = _defects_of("22_several_defects.yaml")
    typo = next(d for d in defects if "max_lenght" in d.message)
    assert typo.hint == "did you mean 'max_length'?"
    assert typo.line == 17


def test_condition_hint_names_the_closest_question() -> None:
    (defect,) = _defects_of("04_show_if_unknown_question.yaml")
    assert defect.hint == "did you mean 'overall'?"


def test_yes_and_no_stay_option_ids_not_booleans() -> None:
    questionnaire = parse_questionnaire(
        """
id: booleans
version: 1
kind: post_service
audience: external
title: {ru: Да и нет}
questions:
  - id: solved
    type: single
    text: {ru: Решён}
    options:
      - {id: yes, text: {ru: Да}}
      - {id: no, text: {ru: Нет}}
      - {id: on, text: {ru: В работе}}
""",
        "inline.yaml",
    )
    options = questionnaire.questions[0].options  # type: ignore[union-attr]
    assert [o.id for o in options] == ["yes", "no", "on"]


def test_broken_file_in_a_folder_does_not_stop_the_others(tmp_path: Path) -> None:
    good = Path(__file__).parent.parent / "questionnaires" / "definitions"
    for source in good.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    shutil.copy(BROKEN / "04_show_if_unknown_question.yaml", tmp_path / "zz_broken.yaml")
    result = load_folder(tmp_path)
    assert {"post_service", "deep_external", "staff", "initiative"} <= set(result.questionnaires)
    assert [Path(d.file).name for d in result.defects] == ["zz_broken.yaml"]
    assert not result.ok


def test_two_files_with_one_questionnaire_id_are_reported(tmp_path: Path) -> None:
    text = BROKEN.parent.parent.parent / "questionnaires" / "definitions" / "initiative.yaml"
    (tmp_path / "a.yaml").write_text(text.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text.read_text(encoding="utf-8"), encoding="utf-8")
    result = load_folder(tmp_path)
    assert list(result.questionnaires) == ["initiative"]
    (defect,) = result.defects
    assert defect.file.endswith("b.yaml") and "used by another file" in defect.message


def test_missing_folder_is_a_defect_not_a_crash(tmp_path: Path) -> None:
    result = load_folder(tmp_path / "nope")
    assert not result.ok and "does not exist" in result.defects[0].message


def test_file_that_is_not_utf8_is_a_defect(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("title: {ru: Оценка}".encode("cp1251"))
    result = load_folder(tmp_path)
    assert "not UTF-8" in result.defects[0].message


def test_a_folder_of_yaml_bombs_is_checked_promptly() -> None:
    # Billion laughs, a self-reference, deep nesting and an oversized file are refused before
    # they expand: the whole corpus takes milliseconds (the bound is a generous sanity limit).
    started = time.monotonic()
    result = load_folder(BROKEN)
    assert time.monotonic() - started < 10
    assert not result.questionnaires
    assert len(result.broken_files) == len(list(BROKEN.glob("*.yaml")))


def test_small_anchors_and_aliases_still_work() -> None:
    questionnaire = parse_questionnaire(
        """\
id: aliased
version: 1
kind: post_service
audience: external
title: {ru: Повтор}
questions:
  - id: overall
    type: scale
    text: {ru: Оцените}
    labels: &labels {min: {ru: Плохо}, max: {ru: Отлично}}
  - id: speed
    type: scale
    text: {ru: Скорость}
    labels: *labels
""",
        "aliased.yaml",
    )
    assert len(questionnaire.questions) == 2


def test_a_value_the_parser_cannot_build_is_a_located_defect() -> None:
    # PyYAML raises ValueError for an impossible date: a defect of the file, not a crash.
    with pytest.raises(DefinitionError) as caught:
        parse_questionnaire("id: x\nversion: 1\nstarts: 2026-13-45\n", "date.yaml")
    (defect,) = caught.value.defects
    assert defect.file == "date.yaml" and "cannot be read" in defect.message
    assert defect.line is not None


def test_a_big_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * 250_000)  # 2.4 MB, as in the issue
    started = time.monotonic()
    result = load_folder(tmp_path)
    assert time.monotonic() - started < 5
    (defect,) = result.defects
    assert "too big" in defect.message and defect.line == 1
