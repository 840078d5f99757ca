"""Every officer reads their own language (issue 12, item 2): the language of each officer's
chat, learned from what the messenger reports with their commands, chosen by /language, read
by the scheduled deliveries.

Officers are configured by id and are not anonymous, so their chats may be kept with a
language; anyone else's command is ignored here before anything is read or written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from questionnaires.schema import Language


class LanguageRows(Protocol):
    """storage.officer_languages.OfficerLanguageStore."""

    async def languages(self, chats: Iterable[int]) -> dict[int, tuple[str, bool]]: ...

    async def put(self, chat: int, language: str, *, chosen: bool) -> bool: ...


def reported_language(code: str | None) -> Language:
    """The language a messenger reports (Telegram ``language_code``, MAX ``user_locale``):
    English when it is English, Russian otherwise (as the fronts' own ``language_of``)."""
    return Language.EN if (code or "").lower().startswith("en") else Language.RU


def parse_language(argument: str) -> Language | None:
    """``ru`` or ``en`` typed after /language; None for anything else."""
    word = argument.strip().lower()
    return next((language for language in Language if language.value == word), None)


class OfficerLanguages:
    """The officers' languages over a store; ``officers`` are every officer chat address
    (Telegram and MAX, questionnaires.messengers), ``default`` the language of a chat never
    seen (OFFICER_LANGUAGE)."""

    def __init__(
        self,
        rows: LanguageRows,
        officers: Collection[int],
        default: Language = Language.RU,
    ) -> None:
        self._rows = rows
        self._officers = frozenset(officers)
        self.default = default

    def is_officer(self, chat: int) -> bool:
        return chat in self._officers

    async def heard(self, chat: int, reported: str | None) -> None:
        """An officer's command came with the language its messenger reports: remembered unless
        the officer chose one. Nobody else's is read or written."""
        if chat not in self._officers:
            return
        language = reported_language(reported)
        known = (await self._rows.languages([chat])).get(chat)
        if known is not None and (known[1] or known[0] == language.value):
            return  # chosen, or already known: no write on every command
        await self._rows.put(chat, language.value, chosen=False)

    async def choose(self, chat: int, language: Language) -> bool:
        """/language: the officer's own choice, which sticks; False for anyone else."""
        if chat not in self._officers:
            return False
        await self._rows.put(chat, language.value, chosen=True)
        return True

    async def of(self, chat: int) -> Language:
        return (await self.of_many([chat]))[chat]

    async def of_many(self, chats: Iterable[int]) -> dict[int, Language]:
        """Each chat's language: learned or chosen, else the default."""
        chats = list(chats)
        rows = await self._rows.languages(chats)
        return {chat: _language(rows.get(chat), self.default) for chat in chats}

    async def groups(self, chats: Iterable[int]) -> dict[Language, list[int]]:
        """The chats by language, each list in the given order: one rendering per language."""
        found: defaultdict[Language, list[int]] = defaultdict(list)
        for chat, language in (await self.of_many(chats)).items():
            found[language].append(chat)
        return dict(found)


def _language(row: tuple[str, bool] | None, default: Language) -> Language:
    if row is None:
        return default
    try:
        return Language(row[0])
    except ValueError:
        return default


class FixedLanguages:
    """Every officer in one language (tests and processes without a database of officers)."""

    def __init__(self, language: Language = Language.RU) -> None:
        self.default = language

    async def of(self, chat: int) -> Language:
        return self.default

    async def of_many(self, chats: Iterable[int]) -> Mapping[int, Language]:
        return dict.fromkeys(chats, self.default)


class OfficerLanguageReader(Protocol):
    """What the deliveries need: each recipient's language (OfficerLanguages, FixedLanguages)."""

    async def of(self, chat: int) -> Language: ...

    async def of_many(self, chats: Iterable[int]) -> Mapping[int, Language]: ...
