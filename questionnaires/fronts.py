"""The messengers (fronts) a response can come through, and their display names.

A response records its front like its channel (issue 13): the same questionnaires, catalog,
database and reports serve Telegram, MAX and the web form, and reports break the answers down
by front under the same disclosure plan as every other breakdown (docs/anonymity.md).
"""

from __future__ import annotations

import enum
from typing import Final

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language


class Front(enum.StrEnum):
    """Where a dialog ran. Stored on the response (``responses.front``, revision 0022)."""

    TELEGRAM = "telegram"
    MAX = "max"
    WEB = "web"


#: The catalogue key of each front's display name ("Telegram", "MAX", "веб-форма").
_NAMES: Final[dict[Front, str]] = {
    Front.TELEGRAM: N_("front.telegram"),
    Front.MAX: N_("front.max"),
    Front.WEB: N_("front.web"),
}


#: Each front by its stored value (``front_of``).
_BY_VALUE: Final[dict[str, Front]] = {front.value: front for front in Front}


def front_of(value: object) -> Front:
    """The front a stored value names; Telegram for anything older or unknown.

    Dialogs saved before fronts were recorded carry no front: they all ran in Telegram.
    What ``Front(str(value))`` gives, Telegram where that fails, without the failure: a
    Telegram dialog's data has no front, and the enum's refusal of "None" (an exception
    built and caught) cost about 5 µs on every press.
    """
    return _BY_VALUE.get(str(value), Front.TELEGRAM)


def front_title(front: Front | str, language: Language = Language.RU) -> str:
    """The display name of a front in ``language``; an unknown code is shown as it is."""
    try:
        return tr(language, _NAMES[Front(front)])
    except ValueError:
        return str(front)
