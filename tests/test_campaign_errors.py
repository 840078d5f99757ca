"""A failed poll action is told in the officer's words, the same in every front."""

from __future__ import annotations

import pytest

from handlers.texts import campaign_error_text
from questionnaires.campaigns import (
    CampaignError,
    UnknownCampaignError,
    UnknownWindowError,
    WindowConflictError,
    error_key,
)
from questionnaires.i18n import tr
from questionnaires.schema import Language


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (UnknownCampaignError("c"), "bot.campaign_error.unknown_campaign_error"),
        (UnknownWindowError("w"), "bot.campaign_error.unknown_window_error"),
        (WindowConflictError("x"), "bot.campaign_error.window_conflict_error"),
        (CampaignError("anything else"), "bot.campaign_error.other"),
    ],
)
def test_each_poll_error_has_its_words_in_both_languages(error: CampaignError, key: str) -> None:
    assert error_key(error) == key
    for language in Language:
        words = tr(language, key)
        assert words and words != key and "anything else" not in words


def test_the_telegram_front_tells_the_same_and_hides_other_errors() -> None:
    conflict = WindowConflictError("closed today")
    assert campaign_error_text(Language.EN, conflict) == tr(Language.EN, error_key(conflict))
    assert campaign_error_text(Language.RU, RuntimeError("boom")) == tr(
        Language.RU, "bot.button_inactive"
    )
