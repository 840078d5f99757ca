"""The text catalogues (issue 12, item 2): complete in every language, fresh, and checked."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from questionnaires.i18n import LOCALES_DIR, N_, catalogue_path, messages, tr
from questionnaires.i18n_check import (
    ROOT,
    TEMPLATE,
    extract,
    extract_keys,
    extract_template_keys,
    problems,
)
from questionnaires.schema import Language


@pytest.fixture(scope="module")
def used() -> set[str]:
    return extract()


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    """A copy of the catalogues in git, to break."""
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    return copy


def _edit(locales: Path, language: Language, key: str, **change: object) -> None:
    """Removes `key` from one language's catalogue, or changes its text or flags."""
    path = catalogue_path(language, locales)
    with path.open("rb") as po:
        catalogue = read_po(po)
    if not change:
        catalogue.delete(key)
    else:
        message = catalogue[key]
        assert message is not None
        if "string" in change:
            message.string = str(change["string"])
        if change.get("fuzzy"):
            message.flags.add("fuzzy")
    with path.open("wb") as po:
        write_po(po, catalogue, width=0, omit_header=True, sort_output=True)


def test_every_key_in_the_code_has_a_text_in_every_language(used: set[str]) -> None:
    assert problems(used) == []
    assert "bot.welcome" in used and "site.skip" in used  # code and templates are both read
    for language in Language:
        assert used <= messages(language).keys()


def test_the_catalogues_in_git_are_what_extraction_writes(locales: Path) -> None:
    # The maintainers' script (pybabel extract + update) run afresh changes nothing.
    script = ROOT / "scripts" / "i18n.sh"
    env = {**os.environ, "OTKLIK_LOCALES": str(locales)}
    subprocess.run([str(script), "extract"], check=True, env=env, capture_output=True)
    for path in sorted(LOCALES_DIR.rglob("*.po*")):
        fresh = locales / path.relative_to(LOCALES_DIR)
        assert fresh.read_bytes() == path.read_bytes(), path


def test_the_check_fails_on_a_missing_translation(used: set[str], locales: Path) -> None:
    _edit(locales, Language.EN, "bot.welcome")
    assert problems(used, locales) == ["en/otklik.po: bot.welcome: missing"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"string": ""}, "ru/otklik.po: bot.help: empty"),
        ({"fuzzy": True}, "ru/otklik.po: bot.help: fuzzy (check the text, then drop the flag)"),
        ({"string": "Страница {page}"}, "en/otklik.po: bot.pick_page: placeholders"),
        ({"string": "Страница {} из {pages}"}, "ru/otklik.po: bot.pick_page: positional"),
        ({"string": "Страница {page из {pages}"}, "ru/otklik.po: bot.pick_page: broken"),
    ],
)
def test_the_check_fails_on_an_empty_fuzzy_or_mismatched_text(
    used: set[str], locales: Path, change: dict[str, object], problem: str
) -> None:
    key = "bot.help" if "help" in problem else "bot.pick_page"
    _edit(locales, Language.RU, key, **change)
    found = problems(used, locales)
    assert found and any(line.startswith(problem) for line in found), found


def test_the_check_fails_on_a_stale_catalogue(used: set[str], locales: Path) -> None:
    # A key added to the code without running scripts/i18n.sh extract...
    assert problems(used | {"bot.new_phrase"}, locales) == [
        f"{TEMPLATE}: bot.new_phrase: used in the code but not extracted (run i18n.sh)",
        "ru/otklik.po: bot.new_phrase: missing",
        "en/otklik.po: bot.new_phrase: missing",
    ]
    # ...and one the code no longer uses.
    found = problems(used - {"bot.help"}, locales)
    assert f"{TEMPLATE}: bot.help: no longer used in the code (run i18n.sh)" in found
    assert "en/otklik.po: bot.help: not used in the code" in found


def test_extraction_sees_keys_in_f_strings_conditionals_and_markers() -> None:
    source = b"""
title = f"<b>{tr(language, 'a.in_fstring', n=1)}</b>"
text = tr(language_of(message.from_user), "a.yes" if ok else "a.no")
label = _t(user, "a.alias")
KEYS = {1: N_("a.marked")}
other = tr(language, key)  # chosen at run time: marked where it is defined
unrelated = print("not a key")
"""
    found = [
        (name, messages)
        for _line, name, messages, _comments in extract_keys(
            io.BytesIO(source), {"tr": (2,), "_t": (2,), "N_": None}, (), {}
        )
    ]
    assert sorted(found, key=str) == sorted(
        [
            ("tr", (None, "a.in_fstring")),
            ("tr", (None, "a.yes")),
            ("tr", (None, "a.no")),
            ("_t", (None, "a.alias")),
            ("N_", ("a.marked",)),
        ],
        key=str,
    )


def test_template_texts_are_keys_under_the_configured_prefix() -> None:
    template = (
        b'<a href="#main">{{ t.skip }}</a>\n{{ macros.scores(table, t, too_few) }} {{ t.n }}'
    )
    found = [
        messages
        for _line, _name, messages, _comments in extract_template_keys(
            io.BytesIO(template), {"N_": None}, (), {"prefix": "site."}
        )
    ]
    assert found == [("site.skip",), ("site.n",)]


def test_tr_fills_placeholders_in_the_language_asked() -> None:
    assert tr(Language.RU, "bot.pick_page", page=2, pages=5) == "Страница 2 из 5"
    assert tr(Language.EN, "bot.pick_page", page=2, pages=5) == "Page 2 of 5"
    assert N_("bot.help") == "bot.help"


def test_an_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(KeyError, match=r"bot\.no_such_phrase"):
        tr(Language.EN, "bot.no_such_phrase")
