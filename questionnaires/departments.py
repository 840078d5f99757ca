"""Staff departments: look-alike letters, what an officer typed, and which may be shown.

Departments come from the catalog (`departments:`), never from free text: "Отдел кадров" and
"Отдeл кадров" (a Latin e) look the same on screen, and a department made up for one person
would name that person in every result. A department is shown only when at least the anonymity
threshold of staff are enrolled in it; the others are merged into «другие подразделения».
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from questionnaires.schema import Text

_LATIN: Final = re.compile(r"[A-Za-z]")
_CYRILLIC: Final = re.compile(r"[\u0400-\u04FF]")
_WORD: Final = re.compile(r"\w+")
#: Latin letters that look like Cyrillic ones, and the Cyrillic letter they pass for.
_LOOK_ALIKES: Final = str.maketrans("aceopxykmthbABCEHKMOPTXY", "асеорхукмтнвАВСЕНКМОРТХУ")


class Named(Protocol):
    """A catalog department (questionnaires.catalog.Department fits)."""

    @property
    def code(self) -> str: ...

    @property
    def title(self) -> Text: ...


def mixed_script_words(text: str) -> list[str]:
    """Words that mix Latin and Cyrillic letters: almost always a look-alike letter typed by
    mistake (or on purpose), e.g. "Отдeл" with a Latin e."""
    return [
        word
        for word in _WORD.findall(text)
        if _LATIN.search(word) is not None and _CYRILLIC.search(word) is not None
    ]


def normalized(text: str) -> str:
    """Case and spacing do not make two departments different."""
    return " ".join(text.split()).casefold()


def skeleton(text: str) -> str:
    """What a title looks like on screen: Latin look-alikes read as the Cyrillic letters."""
    return normalized(text.translate(_LOOK_ALIKES))


def resolve(departments: Sequence[Named], typed: str) -> Named | None:
    """The department whose code or title (Russian or English) is exactly what was typed,
    ignoring case and spacing; look-alike letters do not match."""
    wanted = normalized(typed)
    for department in departments:
        names = (department.code, department.title.ru, department.title.en or "")
        if wanted in {normalized(name) for name in names if name}:
            return department
    return None


def look_alike(departments: Sequence[Named], typed: str) -> Named | None:
    """The department a refused name imitates with look-alike letters, for the explanation."""
    wanted = skeleton(typed)
    for department in departments:
        if wanted in {skeleton(department.title.ru), skeleton(department.title.en or "")}:
            return department
    return None


def shown_departments(
    members: Mapping[str, int], min_group: int, known: Iterable[str] | None = None
) -> dict[str, str | None]:
    """How each department code is reported: itself, or None (merged into «другие
    подразделения», or hidden with everyone when even all staff together are too few).

    A department is shown when at least `min_group` staff are enrolled in it. Since the body's
    total is shown elsewhere, the merged rest must not be a group of 1 to `min_group` − 1
    either (it would show by subtraction): the smallest shown department joins it until it
    is not. Codes outside `known` (departments removed from the catalog, free text of old
    versions) are counted in the rest and never shown.
    """
    allowed = set(known) if known is not None else None
    shown = sorted(
        (
            code
            for code, count in members.items()
            if count >= min_group and (allowed is None or code in allowed)
        ),
        key=lambda code: (members[code], code),
    )
    rest = sum(count for code, count in members.items() if code not in shown)
    while shown and 0 < rest < min_group:
        rest += members[shown.pop(0)]
    visible = set(shown)
    return {code: code if code in visible else None for code in members}
