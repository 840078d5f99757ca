"""Issue 12: the texts that name a person's id name the messenger it belongs to, in both
languages: Telegram's help and menu say Telegram, MAX's texts say MAX and never Telegram."""

from __future__ import annotations

import pytest

from questionnaires.i18n import tr
from questionnaires.schema import Language
from services.officer_commands import COMMANDS

TELEGRAM_KEYS = ("bot.help", "ops.whoami", "polls.enroll.ok", COMMANDS["whoami"])
MAX_KEYS = ("max.command.whoami", "max.whoami", "max.enroll_ok")


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("key", TELEGRAM_KEYS)
def test_telegram_texts_name_the_telegram_id(key: str, language: Language) -> None:
    text = tr(language, key, id=1, role="", department="")
    assert "Telegram" in text and "MAX" not in text


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("key", MAX_KEYS)
def test_max_texts_name_the_max_id(key: str, language: Language) -> None:
    text = tr(language, key, id=1, department="")
    assert "MAX" in text and "Telegram" not in text
