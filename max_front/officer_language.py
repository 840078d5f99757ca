"""Officers' language in MAX (issue 12, item 2): learned from the locale MAX reports with each of
an officer's commands, chosen by /language ru|en (services.officer_languages). Anyone else's
command is neither read nor written."""

from __future__ import annotations

import logging

from max_front.api import MaxApi, Update, View
from questionnaires.i18n import tr
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from services.officer_languages import OfficerLanguages, parse_language

logger = logging.getLogger(__name__)


def _locale(update: Update) -> str:
    return str(update.get("user_locale") or "")


async def heard(languages: OfficerLanguages, user: int, update: Update) -> None:
    """A command of ``user``: their locale remembered if they are an officer; a failure to
    record it never stops the command."""
    try:
        await languages.heard(max_chat(user), _locale(update))
    except Exception as error:
        logger.warning("An officer's language was not recorded (%s)", type(error).__name__)


async def language_command(
    api: MaxApi, languages: OfficerLanguages, user: int, argument: str, language: Language
) -> bool:
    """/language [ru|en] of an officer; False for anyone else (their text goes on as typed)."""
    chat = max_chat(user)
    if not languages.is_officer(chat):
        return False
    chosen = parse_language(argument)
    if chosen is None:
        current = await languages.of(chat)
        await api.send(user, View(tr(language, "officer.language_usage", current=current.value)))
        return True
    await languages.choose(chat, chosen)
    await api.send(user, View(tr(chosen, "officer.language_set")))
    return True
