"""Every text a person reads, by symbolic key, from the gettext catalogues in `locales/`.

The msgids are symbolic keys ("bot.welcome", "report.overall"); each language's `.po` holds the
text, with `str.format` placeholders (`{name}`). The catalogues are read with Babel once per
process, so no compiled `.mo` lives in git and an edited `.po` is what runs. The language is
always passed explicitly: renderers below the messenger (reports, services, this domain) have no
request context to read it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

from questionnaires.schema import Language

DOMAIN: Final = "otklik"
LOCALES_DIR: Final = Path(__file__).with_name("locales")


def catalogue_path(language: Language | str, locales: Path = LOCALES_DIR) -> Path:
    """The `.po` file of one language."""
    return locales / str(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def N_(key: str) -> str:  # gettext's name for "mark for extraction"
    """Marks a key that is chosen at run time (`tr(language, KEYS[kind])`) for extraction."""
    return key


@cache
def messages(language: Language) -> Mapping[str, str]:
    """The key → text table of one language (fuzzy and empty entries left out)."""
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=str(language), domain=DOMAIN)
    return {
        str(message.id): str(message.string)
        for message in catalogue
        if message.id and message.string and not message.fuzzy
    }


def tr(language: Language, key: str, /, **values: object) -> str:
    """The text of `key` in `language`, its `{name}` placeholders filled from `values`."""
    try:
        text = messages(language)[key]
    except KeyError:
        raise KeyError(f"no {language} text for {key!r} in {catalogue_path(language)}") from None
    return text.format(**values) if values else text
