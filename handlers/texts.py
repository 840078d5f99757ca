"""The bot's phrases: the person's language, and the keys of the phrases chosen by an outcome.

The texts themselves are in the catalogues (`questionnaires/i18n.py`, keys `bot.*`).
"""

from __future__ import annotations

from typing import Final

from aiogram.types import User

from questionnaires.campaigns import CampaignError, Verdict, error_key
from questionnaires.engine import Reason
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language

__all__ = [
    "campaign_error_text",
    "language_of",
    "reason_text",
    "tr",
    "verdict_text",
]

_REASONS: Final[dict[Reason, str]] = {
    Reason.EXPECTS_CHOICE: N_("bot.reason.expects_choice"),
    Reason.EXPECTS_TEXT: N_("bot.reason.expects_text"),
    Reason.UNKNOWN_OPTION: N_("bot.reason.unknown_option"),
    Reason.OUT_OF_RANGE: N_("bot.reason.out_of_range"),
    Reason.CANNOT_RATE_NOT_OFFERED: N_("bot.reason.cannot_rate_not_offered"),
    Reason.EMPTY_TEXT: N_("bot.reason.empty_text"),
    Reason.INVISIBLE_TEXT: N_("bot.reason.invisible_text"),
    Reason.TOO_LONG: N_("bot.reason.too_long"),
    Reason.TOO_MANY_CHOICES: N_("bot.reason.too_many_choices"),
    Reason.NOTHING_SELECTED: N_("bot.reason.nothing_selected"),
    Reason.REQUIRED: N_("bot.reason.required"),
    Reason.NOTHING_TO_GO_BACK: N_("bot.reason.nothing_to_go_back"),
}

_VERDICTS: Final[dict[Verdict, str]] = {
    Verdict.UNKNOWN: N_("bot.verdict.unknown"),
    Verdict.NOT_OPEN: N_("bot.verdict.not_open"),
    Verdict.CLOSED: N_("bot.verdict.closed"),
    Verdict.ALREADY_ANSWERED: N_("bot.verdict.already_answered"),
    Verdict.NOT_ENROLLED: N_("bot.verdict.not_enrolled"),
}


def campaign_error_text(language: Language, error: Exception) -> str:
    """An officer's failed poll action in words; never the exception's own (English) text."""
    if isinstance(error, CampaignError):
        return tr(language, error_key(error))
    return tr(language, "bot.button_inactive")


def verdict_text(language: Language, verdict: Verdict) -> str:
    return tr(language, _VERDICTS[verdict])


def language_of(user: User | None) -> Language:
    """English for users whose Telegram is in English, Russian otherwise."""
    code = (user.language_code or "") if user else ""
    return Language.EN if code.lower().startswith("en") else Language.RU


def reason_text(language: Language, reason: Reason, limit: int | None) -> str:
    return tr(language, _REASONS[reason], limit=limit)
