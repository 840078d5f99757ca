"""«Вы сказали — мы сделали» to the citizens who opted in (Procedure §3.11, issue 11 item 3).

Privacy: an opt-in names a chat and a topic, never a service (a service would tell which
service that chat used), so the message is body-wide: every public measure done since the last
message, to every chat subscribed to ``changes`` (the "tell me what changes" button). Its
figures are the public site's, already through the disclosure policy (PainMapService).

Once per measure and person: a measure is recorded in the ledger (storage.announcements) with
the broadcast that tells of it, and the Broadcaster sends each (broadcast, chat) row once.
The broadcast's key is a digest of its measures, so a crash between creating the broadcast and
recording it finds the same broadcast again; a broadcast not finished (a 401, the database
down, a crash) is resumed on the next tick and sends only rows never tried.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from questionnaires.opt_ins import OptInTopic
from questionnaires.schema import Language
from reports.announcement import announcement_text
from reports.periods import local_today
from reports.public import DoneMeasure
from services.broadcast import Summary
from storage.announcements import AnnouncementStore

logger = logging.getLogger(__name__)

#: The broadcast kind in the outbox, and the weekly slot's kind in ``deliveries``.
KIND: Final = "measures_done"
WEEKLY_KIND: Final = "measures_weekly"
TOPIC: Final[OptInTopic] = "changes"
#: The page of the site the message links to (reports.site).
PAGE: Final = "done.html"


class MeasureSource(Protocol):
    """services.painmap.PainMapService: public done measures with their ids."""

    async def public_measures_by_id(self) -> list[tuple[str, DoneMeasure]]: ...


class Subscribers(Protocol):
    """storage.opt_ins.OptInStore."""

    async def chat_ids(self, topic: OptInTopic) -> list[int]: ...


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

    async def _new(self) -> list[tuple[str, DoneMeasure]]:
        announced = await self._store.announced()
        fresh = [(key, m) for key, m in await self._measures.public_measures_by_id()]
        return sorted(
            ((key, m) for key, m in fresh if key not in announced),
            key=lambda item: (item[1].done_on, item[1].process, item[1].measure, item[0]),
        )

    async def _recipients(self) -> list[int]:
        chats = set(await self._subscribers.chat_ids(TOPIC))
        return sorted(chats - await self._broadcaster.unreachable_chat_ids())

    def render(self, measures: Sequence[DoneMeasure]) -> str:
        # Opt-ins keep no language (docs/anonymity.md): the body's language, Russian.
        return announcement_text(measures, Language.RU, self._url)

    async def preview(self) -> Preview:
        """The message the next announce would send, without sending anything."""
        new = await self._new()
        recipients = await self._recipients()
        text = self.render([m for _, m in new]) if new else None
        return Preview(text, len(new), len(recipients))

    async def resume(self) -> int:
        """Finish the broadcasts of earlier announcements; messages sent."""
        sent = 0
        for announcement in await self._store.unfinished():
            summary = await self._broadcaster.run(announcement.broadcast_id)
            sent += summary.sent_this_run
            if summary.complete:
                await self._store.finish(announcement.key)
        return sent

    async def announce(self) -> Outcome:
        """Resume unfinished announcements, then tell of the measures done since."""
        sent = await self.resume()
        new = await self._new()
        if not new:
            return Outcome(0, sent, complete=not await self._store.unfinished())
        ids = [key for key, _ in new]
        key = announcement_key(ids)
        text = self.render([m for _, m in new])
        broadcast_id = await self._broadcaster.create(KIND, key, text, await self._recipients())
        await self._store.record(key, broadcast_id, ids, self.today())
        logger.info("Announcing %d done measures (broadcast %s)", len(ids), broadcast_id)
        summary = await self._broadcaster.run(broadcast_id)
        if summary.complete:
            await self._store.finish(key)
        return Outcome(len(ids), sent + summary.sent_this_run, summary.complete)

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
