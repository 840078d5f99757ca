"""Broadcast metrics (issue 14): 429s counted, the queue gauge rises and comes back down."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import metrics
from services.broadcast import Broadcaster, BroadcastLimits
from tests.botapi.emulator import BotApiEmulator
from tests.broadcast.conftest import RecordingPort

FAST = BroadcastLimits(global_rate=100, per_chat_interval=0.05, retry_delay=0.01)


def _value(name: str) -> float:
    return metrics.REGISTRY.get_sample_value(name) or 0.0


async def test_flood_waits_and_the_queue_are_measured(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    floods = _value("otklik_broadcast_flood_waits_total")
    queue = _value("otklik_broadcast_queue")
    seen: list[float] = []

    def note(chat: int) -> None:
        seen.append(_value("otklik_broadcast_queue"))

    port.before[0] = note
    port.before[5] = lambda chat: api.fail_next("sendMessage", 429, retry_after=1)
    broadcaster = Broadcaster(sessions, port, limits=FAST)
    broadcast_id = await broadcaster.create("invitation", "m1", "Опрос открыт.", range(1, 31))
    summary = await broadcaster.run(broadcast_id)
    assert summary.sent == 30
    assert _value("otklik_broadcast_flood_waits_total") == floods + 1
    assert seen and queue < seen[0] <= queue + 30  # waiting while the run had them
    assert _value("otklik_broadcast_queue") == queue  # and nothing once all went out
