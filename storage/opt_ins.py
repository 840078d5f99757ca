"""Chats that asked to hear about changes or new polls, kept apart from every response."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Final, Literal, cast, get_args

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OptIn
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

OptInTopic = Literal["changes", "polls", "staff_polls"]
OPT_IN_TOPICS: Final[frozenset[str]] = frozenset(get_args(OptInTopic))


class OptInStore:
    """Subscribes and unsubscribes chats per topic; never sees what a chat answered."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, chat_id: int, topic: OptInTopic, today: date) -> None:
        """Subscribe the chat to the topic; subscribing twice keeps the first date."""
        _check_topic(topic)
        async with self._sessions.begin() as session:
            statement = (
                insert_on_conflict(session, OptIn)
                .values(chat_id=chat_id, topic=topic, created_on=today)
                .on_conflict_do_nothing(index_elements=[OptIn.chat_id, OptIn.topic])
            )
            await session.execute(statement)

    async def remove(self, chat_id: int, topic: OptInTopic | None = None) -> int:
        """Unsubscribe the chat from the topic, or from everything; return rows removed."""
        statement = delete(OptIn).where(OptIn.chat_id == chat_id)
        if topic is not None:
            _check_topic(topic)
            statement = statement.where(OptIn.topic == topic)
        async with self._sessions.begin() as session:
            result = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
        return cast(CursorResult[Any], result).rowcount

    async def chat_ids(self, topic: OptInTopic) -> list[int]:
        """Chats subscribed to the topic, in a stable order."""
        _check_topic(topic)
        async with self._sessions.begin() as session:
            result = await session.scalars(
                select(OptIn.chat_id).where(OptIn.topic == topic).order_by(OptIn.chat_id)
            )
            return list(result)


def _check_topic(topic: str) -> None:
    if topic not in OPT_IN_TOPICS:
        raise ValueError(
            f"unknown opt-in topic {topic!r}; expected one of {sorted(OPT_IN_TOPICS)}"
        )
