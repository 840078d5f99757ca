"""«Вы сказали — мы сделали» to the citizens who opted in (Procedure §3.11, issue 11 item 3).

Who hears of a measure: every chat subscribed to ``changes`` (the "tell me what changes"
button) hears of every public measure; a chat subscribed to a service's news (its own explicit
button after a rating of that service, storage.opt_ins) hears of the measures taken for that
service. A chat in both gets one message per announcement, never two: chats are grouped by the
measures they are to hear of, one broadcast per group. Figures are the public site's, already
through the disclosure policy (PainMapService).

When: with the weekly message (the local weekday and alert hour), not at once when a measure
is marked done: a measure marked done by mistake and reopened the same day is never told, and
several measures make one message rather than several.

Once per measure and person: a measure is recorded in the ledger (storage.announcements) with
the broadcasts that tell of it, and the Broadcaster sends each (broadcast, chat) row once.
Broadcast keys are digests of the measures, so a crash between creating the broadcasts and
recording them finds the same broadcasts again; an announcement not finished (a 401, the
database down, a crash) is resumed on the next tick and sends only rows never tried.
Every message carries a button that stops the news (:data:`NEWS_STOP_DATA`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from questionnaires.i18n import tr
from questionnaires.opt_ins import OptInTopic
from questionnaires.schema import Language
from reports.announcement import announcement_text
from reports.periods import local_today
from reports.public import DoneMeasure, MeasureNews
from services.broadcast import SendPort, Summary
from storage.announcements import AnnouncementStore

logger = logging.getLogger(__name__)

#: The broadcast kind in the outbox, and the weekly slot's kind in ``deliveries``.
KIND: Final = "measures_done"
WEEKLY_KIND: Final = "measures_weekly"
TOPIC: Final[OptInTopic] = "changes"
#: The page of the site the message links to (reports.site).
PAGE: Final = "done.html"


#: The data of the button under every news message (parsed by handlers.views.NewsStopPress).
NEWS_STOP_DATA: Final = "ns:1"


class MeasureSource(Protocol):
    """services.painmap.PainMapService: public done measures with their ids and services."""

    async def public_measures_by_id(self) -> list[MeasureNews]: ...


class Subscribers(Protocol):
    """storage.opt_ins.OptInStore."""

    async def chat_ids(self, topic: OptInTopic) -> list[int]: ...

    async def service_chat_ids(self, service_codes: Collection[str]) -> dict[str, set[int]]: ...


class ButtonOutbox(Protocol):
    """bot.outbox.BotOutbox: one message with one inline button."""

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None: ...


def news_sender(outbox: ButtonOutbox) -> SendPort:
    """The broadcast port of news messages: each carries the button that stops the news.
    Subscriptions keep no language (docs/anonymity.md): the body's, Russian."""
    label = tr(Language.RU, "news.stop_button")

    async def send(chat_id: int, text: str) -> None:
        await outbox.text_with_button(chat_id, text, label, NEWS_STOP_DATA)

    return send


class Broadcasts(Protocol):
    """services.broadcast.Broadcaster."""

    async def create(self, kind: str, key: str, text: str, chat_ids: Iterable[int]) -> int: ...

    async def run(self, broadcast_id: int) -> Summary: ...

    async def unreachable_chat_ids(self) -> set[int]: ...


class Ledger(Protocol):
    """storage.deliveries.DeliveryStore: the weekly slot is taken once."""

    async def claim(
        self, kind: str, period_key: str, recipient: int, now: datetime, due_at: datetime
    ) -> bool: ...

    async def finish(
        self, kind: str, period_key: str, recipient: int, now: datetime, *, ok: bool
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Preview:
    """What would go out now: the text (None when no measure is new) and to how many chats."""

    text: str | None
    measures: int
    recipients: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one announce did: measures told of now, and messages sent by every run."""

    measures: int
    sent: int
    complete: bool


def announcement_key(measure_ids: Sequence[str]) -> str:
    """The same measures give the same broadcast key (32 hex digits)."""
    digest = hashlib.sha256("\n".join(sorted(measure_ids)).encode()).hexdigest()
    return digest[:32]


def group_key(announcement: str, measure_ids: Sequence[str]) -> str:
    """The broadcast key of the chats that hear of only some of an announcement's measures."""
    return f"{announcement}-{announcement_key(measure_ids)[:16]}"


@dataclass(frozen=True, slots=True)
class Group:
    """The chats that hear of the same measures: one broadcast."""

    measures: tuple[MeasureNews, ...]
    chats: tuple[int, ...]


class ResultsAnnouncer:
    def __init__(
        self,
        *,
        measures: MeasureSource,
        store: AnnouncementStore,
        subscribers: Subscribers,
        broadcaster: Broadcasts,
        zone: ZoneInfo,
        ledger: Ledger | None = None,
        hour: int = 10,
        weekday: int = 0,
        url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        #: The weekly send: this local weekday (0 = Monday) from this hour (REPORTS__ALERT_HOUR).
        self.hour, self.weekday = hour, weekday
        self._measures = measures
        self._store = store
        self._subscribers = subscribers
        self._broadcaster = broadcaster
        self._zone = zone
        self._ledger = ledger
        self._clock = clock
        self._url = url.rstrip("/") + "/" + PAGE if url else None

    def today(self) -> date:
        return local_today(self._clock(), self._zone)

    async def _new(self) -> list[MeasureNews]:
        announced = await self._store.announced()
        fresh = await self._measures.public_measures_by_id()
        return sorted(
            (news for news in fresh if news.measure_id not in announced),
            key=lambda n: (n.measure.done_on, n.measure.process, n.measure.measure, n.measure_id),
        )

    async def _groups(self, new: Sequence[MeasureNews]) -> list[Group]:
        """The body-wide group first (every new measure, to the ``changes`` chats, perhaps
        none), then one group per set of measures heard by service subscribers only."""
        unreachable = await self._broadcaster.unreachable_chat_ids()
        everyone = set(await self._subscribers.chat_ids(TOPIC)) - unreachable
        services = {news.service for news in new if news.service}
        by_service = await self._subscribers.service_chat_ids(services)
        wanted: dict[int, set[str]] = {}
        for news in new:
            for chat in by_service.get(news.service, set()) if news.service else ():
                if chat not in everyone and chat not in unreachable:
                    wanted.setdefault(chat, set()).add(news.measure_id)
        whole = tuple(n.measure_id for n in new)
        chats_of: dict[tuple[str, ...], set[int]] = {whole: everyone}
        for chat, ids in wanted.items():
            chats_of.setdefault(tuple(i for i in whole if i in ids), set()).add(chat)
        groups = [Group(tuple(new), tuple(sorted(everyone)))]
        for subset, chats in sorted(chats_of.items()):
            if subset != whole:
                measures = tuple(n for n in new if n.measure_id in subset)
                groups.append(Group(measures, tuple(sorted(chats))))
        return groups

    def render(self, measures: Sequence[DoneMeasure]) -> str:
        # Opt-ins keep no language (docs/anonymity.md): the body's language, Russian.
        return announcement_text(measures, Language.RU, self._url)

    async def preview(self) -> Preview:
        """The message the next announce would send (to the ``changes`` chats), without
        sending anything; recipients counts every chat that would get a message."""
        new = await self._new()
        groups = await self._groups(new)
        text = self.render([n.measure for n in new]) if new else None
        return Preview(text, len(new), sum(len(group.chats) for group in groups))

    async def _run_all(self, broadcast_ids: Sequence[int]) -> tuple[int, bool]:
        """Run an announcement's broadcasts together: they share the broadcaster's pacer (so
        Telegram's limits hold over all of them) and no chat is in two of them, so one's tail
        does not leave the rate idle. The first error is raised once every run has stopped."""
        results = await asyncio.gather(
            *(self._broadcaster.run(broadcast_id) for broadcast_id in broadcast_ids),
            return_exceptions=True,
        )
        sent, complete = 0, True
        for result in results:
            if isinstance(result, BaseException):
                continue
            sent += result.sent_this_run
            complete = complete and result.complete
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sent, complete

    async def resume(self) -> int:
        """Finish the broadcasts of earlier announcements; messages sent."""
        sent = 0
        for announcement in await self._store.unfinished():
            done, complete = await self._run_all(announcement.broadcast_ids)
            sent += done
            if complete:
                await self._store.finish(announcement.key)
        return sent

    async def announce(self) -> Outcome:
        """Resume unfinished announcements, then tell of the measures done since."""
        sent = await self.resume()
        new = await self._new()
        if not new:
            return Outcome(0, sent, complete=not await self._store.unfinished())
        ids = [news.measure_id for news in new]
        key = announcement_key(ids)
        broadcast_ids = []
        for group in await self._groups(new):
            group_ids = [news.measure_id for news in group.measures]
            text = self.render([news.measure for news in group.measures])
            broadcast_key = key if group_ids == ids else group_key(key, group_ids)
            broadcast_ids.append(
                await self._broadcaster.create(KIND, broadcast_key, text, group.chats)
            )
        await self._store.record(key, broadcast_ids, ids, self.today())
        logger.info(
            "Announcing %d done measures (broadcasts %s)",
            len(ids),
            ", ".join(map(str, broadcast_ids)),
        )
        done, complete = await self._run_all(broadcast_ids)
        if complete:
            await self._store.finish(key)
        return Outcome(len(ids), sent + done, complete)

    async def tick(self, now: datetime | None = None) -> int:
        """Resume what a failure left; on the weekday from the hour, announce once a week."""
        now = now or self._clock()
        sent = await self.resume()
        local = now.astimezone(self._zone)
        if self._ledger is None or local.weekday() != self.weekday or local.hour < self.hour:
            return sent
        week = local.date().isocalendar()
        slot = f"{week.year}W{week.week:02d}"
        if not await self._ledger.claim(WEEKLY_KIND, slot, 0, now, now):
            return sent
        ok = False
        try:
            outcome = await self.announce()
            ok = True
        finally:
            await self._ledger.finish(WEEKLY_KIND, slot, 0, now, ok=ok)
        return sent + outcome.sent
