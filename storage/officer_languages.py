"""Officers' languages: read for the deliveries, learned from their commands, chosen by
/language (storage.models_officer_languages)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.messengers import join, split
from storage.models_officer_languages import OfficerLanguage


class OfficerLanguageStore:
    """Rows keyed by (messenger, the messenger's chat id); chats are given and returned as
    questionnaires.messengers addresses."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def languages(self, chats: Iterable[int]) -> dict[int, tuple[str, bool]]:
        """(language, chosen) of those of ``chats`` that have one."""
        keys = [split(chat) for chat in set(chats)]
        if not keys:
            return {}
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    OfficerLanguage.messenger,
                    OfficerLanguage.chat_id,
                    OfficerLanguage.language,
                    OfficerLanguage.chosen,
                ).where(tuple_(OfficerLanguage.messenger, OfficerLanguage.chat_id).in_(keys))
            )
            return {join(m, c): (language, chosen) for m, c, language, chosen in rows}

    async def put(self, chat: int, language: str, *, chosen: bool) -> bool:
        """Record ``language`` for ``chat``; a learned one (``chosen`` False) never replaces a
        chosen one. True when the row changed."""
        messenger, raw = split(chat)
        try:
            async with self._sessions.begin() as session:
                row = await session.get(OfficerLanguage, (messenger, raw))
                if row is None:
                    session.add(
                        OfficerLanguage(
                            messenger=messenger, chat_id=raw, language=language, chosen=chosen
                        )
                    )
                    return True
                if (row.chosen and not chosen) or (row.language, row.chosen) == (
                    language,
                    chosen,
                ):
                    return False
                row.language, row.chosen = language, chosen
                return True
        except IntegrityError:
            # Two updates of one officer at once inserted it twice: the first one stands,
            # unless this one is an explicit choice.
            if chosen:
                return await self.put(chat, language, chosen=chosen)
            return False
