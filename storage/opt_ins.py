"""Chats that asked to hear about changes, new polls or one service's news, kept apart from
every response."""

from __future__ import annotations

import logging
import random
from collections.abc import Collection
from datetime import date
from typing import Any, Final, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.messengers import join, split
from questionnaires.opt_ins import OPT_IN_TOPICS as OPT_IN_TOPICS
from questionnaires.opt_ins import OptInTopic as OptInTopic
from storage.models import OptIn, ServiceNews
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

#: New subscriptions are written once at least this many wait (or at shutdown).
DEFAULT_MIN_BATCH: Final = 5

_shuffle = random.SystemRandom().shuffle


class OptInStore:
    """Subscribes and unsubscribes chats per topic; never sees what a chat answered.

    The "tell me what changes" button is pressed a moment after a response is stored, so a
    subscription written at once would sit right after that response in every order a database
    reader can see (rowid, heap position, PostgreSQL ``xmin``, the SQLite WAL), naming its
    author. New subscriptions therefore wait in memory and are written together, in random
    order, once ``min_batch`` different chats have gathered (:meth:`flush`, called by the
    scheduler and at shutdown); meanwhile :meth:`chat_ids` already counts them. A crash loses
    the waiting ones.
    A service's news (:meth:`add_service`) is the same kind of row in ``service_news``, a
    citizen's explicit choice made with a button, batched with the topics: the batch counts
    people, whichever table their rows go to.
    One instance per process: the citizen and poll services share it.
    Chats are addresses of questionnaires.messengers (a MAX chat is 2**62 + its MAX id): the
    rows keep the messenger in a column and that messenger's own id, and the batch counts
    people of every messenger together.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, min_batch: int = DEFAULT_MIN_BATCH
    ) -> None:
        if min_batch < 1:
            raise ValueError("min_batch must be at least 1")
        self._sessions = sessions
        self._min_batch = min_batch
        self._waiting: dict[tuple[int, str], date] = {}
        self._waiting_services: set[tuple[int, str]] = set()

    @property
    def waiting(self) -> int:
        """Subscriptions not yet written."""
        return len(self._waiting) + len(self._waiting_services)

    async def add(self, chat_id: int, topic: OptInTopic, today: date) -> None:
        """Subscribe the chat to the topic (written with the next batch); twice keeps the first.

        Only the month is kept: the day would narrow the subscriber's response down to the
        responses of that day, few on a quiet one.
        """
        _check_topic(topic)
        self._waiting.setdefault((chat_id, topic), today.replace(day=1))

    async def add_service(self, chat_id: int, service_code: str) -> None:
        """Subscribe the chat to one service's news (written with the next batch, as
        :meth:`add`, with no date at all: see models.ServiceNews)."""
        if not service_code:
            raise ValueError("a service subscription needs a service code")
        self._waiting_services.add((chat_id, service_code))

    async def flush(self, *, force: bool = False) -> int:
        """Write the waiting subscriptions if enough gathered (any number with ``force``)."""
        if not self._waiting and not self._waiting_services:
            return 0
        # People, not subscriptions: one chat subscribing to three topics is still one person
        # among the responses since the last batch.
        chats = {chat for chat, _ in self._waiting} | {chat for chat, _ in self._waiting_services}
        if len(chats) < self._min_batch and not force:
            return 0
        batch, self._waiting = self._waiting, {}
        services, self._waiting_services = self._waiting_services, set()
        rows = [
            {**_row(chat_id), "topic": topic, "created_on": day}
            for (chat_id, topic), day in batch.items()
        ]
        service_rows = [{**_row(chat_id), "service_code": code} for chat_id, code in services]
        _shuffle(rows)
        _shuffle(service_rows)
        try:
            async with self._sessions.begin() as session:
                if rows:
                    statement = insert_on_conflict(session, OptIn).on_conflict_do_nothing(
                        index_elements=[OptIn.messenger, OptIn.chat_id, OptIn.topic]
                    )
                    await session.execute(statement, rows)
                if service_rows:
                    news = insert_on_conflict(session, ServiceNews).on_conflict_do_nothing(
                        index_elements=[
                            ServiceNews.messenger,
                            ServiceNews.chat_id,
                            ServiceNews.service_code,
                        ]
                    )
                    await session.execute(news, service_rows)
        except BaseException:
            for key, day in batch.items():  # kept for the next try
                self._waiting.setdefault(key, day)
            self._waiting_services |= services
            raise
        return len(rows) + len(service_rows)

    async def remove(self, chat_id: int, topic: OptInTopic | None = None) -> int:
        """Unsubscribe the chat from the topic, or from everything (services' news too);
        return rows removed."""
        messenger, raw = split(chat_id)
        statement = delete(OptIn).where(OptIn.messenger == messenger, OptIn.chat_id == raw)
        if topic is not None:
            _check_topic(topic)
            statement = statement.where(OptIn.topic == topic)
        waiting = [key for key in self._waiting if key[0] == chat_id and topic in (None, key[1])]
        for key in waiting:
            del self._waiting[key]
        removed = len(waiting)
        async with self._sessions.begin() as session:
            result = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            removed += cast(CursorResult[Any], result).rowcount
            if topic is None:
                removed += await self._remove_services(session, chat_id)
        return removed

    async def remove_news(self, chat_id: int) -> int:
        """Unsubscribe the chat from every news of changes (the ``changes`` topic and every
        service), keeping poll invitations: the button under a news message."""
        waiting = [key for key in self._waiting if key == (chat_id, "changes")]
        for key in waiting:
            del self._waiting[key]
        removed = len(waiting)
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(OptIn).where(*_is(OptIn, chat_id), OptIn.topic == "changes"),
                execution_options={"synchronize_session": False},
            )
            removed += cast(CursorResult[Any], result).rowcount
            removed += await self._remove_services(session, chat_id)
        return removed

    async def _remove_services(self, session: AsyncSession, chat_id: int) -> int:
        waiting = [key for key in self._waiting_services if key[0] == chat_id]
        self._waiting_services.difference_update(waiting)
        result = await session.execute(
            delete(ServiceNews).where(*_is(ServiceNews, chat_id)),
            execution_options={"synchronize_session": False},
        )
        return cast(CursorResult[Any], result).rowcount + len(waiting)

    async def service_chat_ids(self, service_codes: Collection[str]) -> dict[str, set[int]]:
        """Chats subscribed to each of these services' news (written or waiting)."""
        found: dict[str, set[int]] = {code: set() for code in service_codes}
        if not found:
            return found
        statement = select(
            ServiceNews.service_code, ServiceNews.messenger, ServiceNews.chat_id
        ).where(ServiceNews.service_code.in_(sorted(found)))
        async with self._sessions.begin() as session:
            for code, messenger, chat in await session.execute(statement):
                found[code].add(join(messenger, chat))
        for chat, code in self._waiting_services:
            if code in found:
                found[code].add(chat)
        return found

    async def chat_ids(self, topic: OptInTopic) -> list[int]:
        """Chats subscribed to the topic (written or waiting), in a stable order."""
        _check_topic(topic)
        async with self._sessions.begin() as session:
            result = await session.execute(
                select(OptIn.messenger, OptIn.chat_id).where(OptIn.topic == topic)
            )
            stored = {join(messenger, chat) for messenger, chat in result}
        stored.update(chat for chat, waiting_topic in self._waiting if waiting_topic == topic)
        return sorted(stored)


def _row(chat: int) -> dict[str, Any]:
    messenger, raw = split(chat)
    return {"messenger": messenger, "chat_id": raw}


def _is(table: type[OptIn] | type[ServiceNews], chat: int) -> tuple[Any, Any]:
    messenger, raw = split(chat)
    return table.messenger == messenger, table.chat_id == raw


def _check_topic(topic: str) -> None:
    if topic not in OPT_IN_TOPICS:
        raise ValueError(
            f"unknown opt-in topic {topic!r}; expected one of {sorted(OPT_IN_TOPICS)}"
        )
