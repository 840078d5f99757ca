"""Keyword rules of open-answer categories: Russian word forms, several categories, «Прочее»,
and a broken file explained defect by defect."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from questionnaires.errors import DefinitionError
from questionnaires.open_answers import OTHER, Categoriser, load_categories, parse_categories
from services.open_answers import categories


@pytest.fixture(scope="module")
def shipped() -> Categoriser:
    return load_categories()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Word forms of «очередь» all meet the keyword written in the nominative.
        ("Очередь огромная", {"queue"}),
        ("Два часа простояли в очереди", {"queue"}),
        ("Устали стоять в очередях", {"queue"}),
        ("Замучились с этой очередью", {"queue"}),
        # A phrase: its words in a row, each in any form.
        ("Мы долго ждали приёма", {"queue", "terms"}),
        ("Невозможно дозвониться, всё время занято", {"queue"}),
        # Prefix keywords: «груб*» meets «грубо», «грубость».
        ("Специалист ответил грубо", {"staff"}),
        ("Сплошная грубость", {"staff"}),
        # «ё» and «е» are the same letter for the rules.
        ("Всё хорошо, спасибо", {"gratitude"}),
        ("Все хорошо", {"gratitude"}),
        ("Попросили три справки и копию паспорта", {"documents"}),
        ("Не работает электронная запись на портале", {"online"}),
        ("Принтер в кабинете сломан", {"equipment", "premises"}),
    ],
)
def test_word_forms_fall_in_their_categories(
    shipped: Categoriser, text: str, expected: set[str]
) -> None:
    assert set(shipped.categories_of(text)) == expected


def test_a_comment_may_fall_in_several_categories_and_in_file_order(shipped: Categoriser) -> None:
    found = shipped.categories_of("Сотрудник грубил, а в очереди стояли три часа")
    assert found == ("queue", "staff")


def test_nothing_matched_is_other_and_other_is_listed_last(shipped: Categoriser) -> None:
    assert shipped.categories_of("Погода сегодня прекрасная") == (OTHER,)
    assert shipped.categories_of("", "   ") == (OTHER,)
    assert shipped.ids[-1] == OTHER
    assert shipped.title(OTHER) == "Прочее"
    assert shipped.title(OTHER, "en") == "Other"


def test_a_prefix_keyword_does_not_match_inside_a_word(shipped: Categoriser) -> None:
    # «груб*» starts words; «погрузка» has «груз», not «груб», and «нагрубил» starts otherwise.
    assert "staff" not in shipped.categories_of("Погрузка мебели")


def test_several_texts_of_one_person_are_read_together(shipped: Categoriser) -> None:
    assert shipped.categories_of("Очередь", "Спасибо") == ("queue", "gratitude")


def test_known_keeps_file_order_and_drops_removed_categories(shipped: Categoriser) -> None:
    assert shipped.known({"staff", "queue", "no_longer_there"}) == ("queue", "staff")


def _defects(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_categories(text, "categories.yaml")
    return [str(defect) for defect in caught.value.defects]


def test_a_broken_file_names_every_defect_with_its_place() -> None:
    text = (
        "version: 1\n"
        "categories:\n"
        "  - id: queue\n"
        "    title: {ru: Очереди}\n"
        "    keywords: [очередь]\n"
        "  - id: queue\n"
        "    title: {ru: Ещё очереди}\n"
        "    keywords: [ожидание, '123']\n"
        "  - id: other\n"
        "    title: {ru: Прочее}\n"
        "    keywords: [разное]\n"
    )
    defects = _defects(text)
    assert any("categories.yaml:6:" in d and "duplicate category id 'queue'" in d for d in defects)
    assert any("categories.yaml:8:" in d and "has no letters" in d for d in defects)
    assert any("categories.yaml:9:" in d and "'other' is reserved" in d for d in defects)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\ncategories:\n  - id: q\n    title: {ru: Q}\n    keyword: [a]\n", "keyword"),
        ("version: 1\ncategories: [\n", "YAML syntax"),
        ("version: 1\ncategories:\n  - id: Queue\n    title: {ru: Q}\n    keywords: [a]\n", "id"),
        ("version: 1\ncategories:\n  - id: q\n    title: {ru: Q}\n    keywords: []\n", "keywords"),
        ("version: 0\ncategories:\n  - id: q\n    title: {ru: Q}\n    keywords: [a]\n", "version"),
        ("", "empty"),
    ],
)
def test_malformed_files_are_refused_with_a_located_reason(text: str, fragment: str) -> None:
    defects = _defects(text)
    assert defects and any(fragment.lower() in d.lower() for d in defects), defects


def test_the_bot_keeps_the_shipped_rules_when_the_file_is_broken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "categories.yaml"
    broken.write_text("version: 1\ncategories: [\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        categoriser = categories(broken)
    assert categoriser.categories_of("очередь") == ("queue",)
    assert any(
        "categories.yaml" in r.getMessage() and "YAML" in r.getMessage() for r in caplog.records
    )
    missing = categories(tmp_path / "nope.yaml")
    assert "queue" in missing.ids


def test_validate_checks_the_categories_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    assert main(["validate"]) == 0
    assert "ok  categories" in capsys.readouterr().out
    broken = tmp_path / "categories.yaml"
    broken.write_text(
        "version: 1\ncategories:\n  - id: other\n    title: {ru: X}\n    keywords: [x]\n",
        encoding="utf-8",
    )
    assert main(["validate", "--categories", str(broken)]) != 0
    assert f"{broken}:3:" in capsys.readouterr().err


def test_a_text_is_categorised_once_and_the_memo_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every report of a period categorises the same comments again: the rules run once a text.
    categoriser = load_categories()
    runs: list[tuple[str, ...]] = []
    real = Categoriser._categorise

    def counted(self: Categoriser, texts: tuple[str, ...]) -> tuple[str, ...]:
        runs.append(tuple(texts))
        return real(self, texts)

    monkeypatch.setattr(Categoriser, "_categorise", counted)
    assert categoriser.categories_of("Очередь огромная") == ("queue",)
    assert categoriser.categories_of("Очередь огромная") == ("queue",)
    assert categoriser.categories_of("Очередь", "Спасибо") == ("queue", "gratitude")
    assert runs == [("Очередь огромная",), ("Очередь", "Спасибо")]
    # Another file's rules never see this one's memory.
    assert load_categories().categories_of("Очередь огромная") == ("queue",)
    assert len(runs) == 3
    categoriser.forget()
    categoriser.categories_of("Очередь огромная")
    assert len(runs) == 4
    monkeypatch.setattr("questionnaires.open_answers.MEMO_TEXTS", 3)
    for number in range(10):
        categoriser.categories_of(f"текст {number}")
    assert list(categoriser._memo) == ["текст 7", "текст 8", "текст 9"]
