"""Every word the web front shows: the keys of its texts in the gettext catalogue.

The texts live in `questionnaires/locales/{ru,en}/LC_MESSAGES/otklik.po` under `web.*` (a refused
answer under `web.reason.*`). The pages and templates name a text by its short name
(`text(language, "site_name")`, `t("optional")` in a template), so every short name is listed
here with `N_()` for extraction; tests/web/test_texts.py checks that the names the code and
templates use are all listed.
"""

from __future__ import annotations

from typing import Final

from questionnaires.engine import Reason
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language

PREFIX: Final = "web."

#: Every text of the web front, by short name (the catalogue key is `web.<name>`).
TEXTS: Final[dict[str, str]] = {
    "site_name": N_("web.site_name"),
    "skip_link": N_("web.skip_link"),
    "other_language": N_("web.other_language"),
    "anonymous_note": N_("web.anonymous_note"),
    "survey_title": N_("web.survey_title"),
    "picker_title": N_("web.picker_title"),
    "picker_intro": N_("web.picker_intro"),
    "unknown_link": N_("web.unknown_link"),
    "internal_service": N_("web.internal_service"),
    "polls_title": N_("web.polls_title"),
    "polls_intro": N_("web.polls_intro"),
    "start": N_("web.start"),
    "next": N_("web.next"),
    "back": N_("web.back"),
    "skip": N_("web.skip"),
    "cancel": N_("web.cancel"),
    "progress": N_("web.progress"),
    "optional": N_("web.optional"),
    "other_prompt": N_("web.other_prompt"),
    "error_title": N_("web.error_title"),
    "thanks_title": N_("web.thanks_title"),
    "again": N_("web.again"),
    "already_rated": N_("web.already_rated"),
    "already_counted": N_("web.already_counted"),
    "no_dialog": N_("web.no_dialog"),
    "expired": N_("web.expired"),
    "forged": N_("web.forged"),
    "cookies_needed": N_("web.cookies_needed"),
    "cancelled": N_("web.cancelled"),
    "too_many": N_("web.too_many"),
    "unavailable": N_("web.unavailable"),
    "not_found": N_("web.not_found"),
    "server_error": N_("web.server_error"),
    "window_closed": N_("web.window_closed"),
    "window_answered": N_("web.window_answered"),
    "too_large": N_("web.too_large"),
    "other_dialog": N_("web.other_dialog"),
    "home": N_("web.home"),
}

#: Why an answer was refused, worded for a form (no buttons, no messages).
REASONS: Final[dict[Reason, str]] = {
    Reason.EXPECTS_CHOICE: N_("web.reason.expects_choice"),
    Reason.EXPECTS_TEXT: N_("web.reason.expects_text"),
    Reason.UNKNOWN_OPTION: N_("web.reason.unknown_option"),
    Reason.OUT_OF_RANGE: N_("web.reason.out_of_range"),
    Reason.CANNOT_RATE_NOT_OFFERED: N_("web.reason.cannot_rate_not_offered"),
    Reason.EMPTY_TEXT: N_("web.reason.empty_text"),
    Reason.INVISIBLE_TEXT: N_("web.reason.invisible_text"),
    Reason.TOO_LONG: N_("web.reason.too_long"),
    Reason.TOO_MANY_CHOICES: N_("web.reason.too_many_choices"),
    Reason.NOTHING_SELECTED: N_("web.reason.nothing_selected"),
    Reason.REQUIRED: N_("web.reason.required"),
    Reason.NOTHING_TO_GO_BACK: N_("web.reason.nothing_to_go_back"),
}


def reason_text(language: Language, reason: Reason, limit: int | None) -> str:
    """Why an answer was refused, worded for a form (no buttons, no messages)."""
    return tr(language, REASONS[reason], limit=limit)


def text(language: Language, key: str, **values: object) -> str:
    """The text of the short name `key` in `language`, its `{name}` placeholders filled."""
    return tr(language, TEXTS[key], **values)
