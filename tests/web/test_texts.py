"""The web front's texts come from the gettext catalogue under `web.*` by short name.

The pages name a text by a short name (`text(language, "site_name")`, `t("optional")` in a
template, `notice="unknown_link"`); web.texts lists every short name with `N_()` so extraction
finds its key. These tests keep that list and its users in step, both ways.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from questionnaires.engine import Reason
from questionnaires.i18n import messages
from questionnaires.schema import Language
from web.texts import REASONS, TEXTS, reason_text, text

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATE_NAME = re.compile(r"""\bt\(\s*["']([a-z_]+)["']""")


def _template_names() -> set[str]:
    return {
        name
        for path in (WEB / "templates").glob("*.j2")
        for name in TEMPLATE_NAME.findall(path.read_text(encoding="utf-8"))
    }


def _python_trees() -> list[ast.Module]:
    return [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(WEB.glob("*.py"))
        if path.name != "texts.py"
    ]


def _literals() -> set[str]:
    return {
        node.value
        for tree in _python_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _text_call_names() -> set[str]:
    """The literal short names of `text(language, "name")` calls in web/*.py."""
    names: set[str] = set()
    for tree in _python_trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "text"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                names.add(node.args[1].value)
    return names


def test_every_name_a_template_uses_is_listed() -> None:
    used = _template_names()
    assert "optional" in used and "site_name" in used  # the pattern reads the templates
    assert used - TEXTS.keys() == set()


def test_every_name_the_code_passes_to_text_is_listed() -> None:
    used = _text_call_names()
    assert "thanks_title" in used
    assert used - TEXTS.keys() == set()


def test_every_listed_name_is_used_somewhere() -> None:
    # A stale entry would keep a dead text in the catalogue that the catalogue check cannot see
    # (N_ marks it used).
    assert TEXTS.keys() - _literals() - _template_names() == set()


def test_every_listed_key_is_a_web_key_with_a_text_in_every_language() -> None:
    keys = {*TEXTS.values(), *REASONS.values()}
    assert all(key.startswith("web.") for key in keys)
    for language in Language:
        assert keys <= messages(language).keys()


def test_every_refusal_reason_has_a_web_wording() -> None:
    assert set(REASONS) == set(Reason)
    for reason in Reason:
        assert reason_text(Language.RU, reason, 7) != reason_text(Language.EN, reason, 7)


def test_russian_by_default_english_for_english_placeholders_filled() -> None:
    assert text(Language.RU, "site_name") == "Отклик"
    assert text(Language.EN, "site_name") == "Otklik"
    assert text(Language.RU, "progress", number=2, total=5) == "Вопрос 2 из 5"
    assert text(Language.EN, "progress", number=2, total=5) == "Question 2 of 5"
    assert reason_text(Language.RU, Reason.TOO_LONG, 500) == (
        "Слишком длинный ответ: не больше 500 символов. Сократите, пожалуйста."
    )
    assert reason_text(Language.EN, Reason.NOTHING_SELECTED, None) == "Choose at least one option."


def test_an_unknown_name_fails_loudly() -> None:
    with pytest.raises(KeyError):
        text(Language.RU, "no_such_text")
