"""What the «вы сказали — мы сделали» tests share: a recording broadcast port, the announcer
as the bot wires it (over a virtual clock), and a done measure seeded in one step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from aiogram.methods import SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.announcements import ResultsAnnouncer
from services.broadcast import Broadcaster, BroadcastLimits
from storage.announcements import AnnouncementStore
from storage.deliveries import DeliveryStore
from storage.opt_ins import OptInStore
from storage.painmap import Figures, FoundPain, NewMeasure, ProcessKey, Satisfaction, Span
from tests.painmap.conftest import ZONE, Desk

SEPTEMBER = Span(date(2026, 9, 1), date(2026, 9, 30))
NOVEMBER = Span(date(2026, 11, 1), date(2026, 11, 30))
BEFORE = Satisfaction(False, 20, 55.0, 3.4)
AFTER = Satisfaction(False, 30, 72.5, 4.1)
URL = "https://example.gov.ru/otklik/"
#: Monday 7 December 2026, 10:00 in Yakutsk (UTC+9): the weekly slot at the alert hour 10.
MONDAY_TEN = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    """A clock that jumps by every sleep: the pacer never waits for real."""

    now: float = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Port:
    """The broadcaster's port: records deliveries (with the clock's time when ``clock`` is
    set); ``fail`` maps a chat to the errors its next sends raise, in order."""

    sent: list[tuple[int, str]] = field(default_factory=list)
    fail: dict[int, list[BaseException]] = field(default_factory=dict)
    times: list[tuple[float, int]] = field(default_factory=list)
    clock: Callable[[], float] | None = None

    async def __call__(self, chat_id: int, text: str) -> None:
        errors = self.fail.get(chat_id)
        if errors:
            raise errors.pop(0)
        if self.clock is not None:
            self.times.append((self.clock(), chat_id))
        self.sent.append((chat_id, text))

    def chats(self) -> list[int]:
        return sorted(chat for chat, _ in self.sent)

    def texts_to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


def method(chat_id: int) -> SendMessage:
    return SendMessage(chat_id=chat_id, text="x")


def build_announcer(
    desk: Desk,
    port: Port,
    sessions: async_sessionmaker[AsyncSession],
    opt_ins: OptInStore,
    broadcaster: Broadcaster | None = None,
) -> ResultsAnnouncer:
    """The announcer as bot.composition wires it, on the desk's clock and a fake pacer clock."""
    time = FakeTime()
    return ResultsAnnouncer(
        measures=desk.service,
        store=AnnouncementStore(sessions),
        subscribers=opt_ins,
        broadcaster=broadcaster
        or Broadcaster(
            sessions,
            port,
            limits=BroadcastLimits(flush_interval=0.01),
            clock=time.clock,
            sleep=time.sleep,
        ),
        zone=ZONE,
        ledger=DeliveryStore(sessions),
        hour=10,
        url=URL,
        clock=lambda: desk.clock[0],
    )


async def subscribe(
    opt_ins: OptInStore,
    *,
    changes: tuple[int, ...] = (),
    polls: tuple[int, ...] = (),
    services: Mapping[int, tuple[str, ...]] | None = None,
) -> None:
    """Subscribe chats to topics and services' news, written at once."""
    for chat in changes:
        await opt_ins.add(chat, "changes", date(2026, 10, 3))
    for chat in polls:
        await opt_ins.add(chat, "polls", date(2026, 10, 3))
    for chat, codes in (services or {}).items():
        for code in codes:
            await opt_ins.add_service(chat, code)
    await opt_ins.flush(force=True)


async def done_measure(
    desk: Desk,
    problem: str = "Очередь",
    text: str = "Электронная очередь",
    *,
    before: Satisfaction = BEFORE,
    after: Satisfaction = AFTER,
    code: str = "licensing",
    done_on: date = date(2026, 10, 15),
    process: ProcessKey | None = None,
) -> str:
    """A pain with its process's CSAT in September and November and a measure done between."""
    process = process or ProcessKey("service", code)
    found = [FoundPain("rating_problem", f"obstacles:{problem}", problem, Figures(False, 8, 0.4))]
    for period, satisfaction in ((SEPTEMBER, before), (NOVEMBER, after)):
        await desk.store.save_period(
            process, period, satisfaction, found, absent={}, today=date(2026, 12, 1)
        )
    [pain] = [p for p in await desk.store.pains([process]) if p.title == problem]
    [measure] = await desk.store.apply(
        [NewMeasure(pain.id, text, "Отдел", date(2027, 1, 31), status="done")], [], done_on
    )
    return measure
