"""Benchmark: «вы сказали — мы сделали» with per-service news, against the emulator enforcing
Telegram's limits, vs one plain broadcast to as many chats in the same run.

Run from the repository root: ``.venv/bin/python -m bench.announce_bench [--recipients 600]``.
Half the chats subscribe to every change, the rest to one of three services' news (some to two),
so one announcement is several broadcasts, one per set of measures (services.announcements),
sent together through one pacer, each message with the stop button. The baseline is
one broadcast of the same size through the same pacer and emulator: the ratio shows what the
grouping costs (target: at least 0.9). Every chat must get exactly one message, with no 429.
The tests check the same on a virtual clock (tests/painmap/test_service_news.py); rates are
measured here only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.broadcast_bench import TELEGRAM_RATE, TEXT, TOKEN, _bot
from bot.outbox import BotOutbox
from reports.public import DoneMeasure, MeasureNews
from services.announcements import ResultsAnnouncer, news_sender
from services.broadcast import Broadcaster
from storage.announcements import AnnouncementStore
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async
from storage.opt_ins import OptInStore
from tests.botapi.emulator import BotApiEmulator

FIRST_CHAT = 10**9
SERVICES = ("licensing", "inspections", "appeals")
#: The announcement's rate against one broadcast's in the same run.
TARGET_RATIO = 0.9


class Measures:
    """Three services' measures and a life situation's, as PainMapService would give them."""

    async def public_measures_by_id(self) -> list[MeasureNews]:
        done = date(2026, 11, 20)
        news = [
            MeasureNews(f"m-{code}", code, DoneMeasure("Очередь", code, f"Мера {code}", done))
            for code in SERVICES
        ]
        life = DoneMeasure("Долго", "Получение лицензии", "Памятка", done)
        return [*news, MeasureNews("m-life", None, life)]


async def _subscribe(opt_ins: OptInStore, recipients: int) -> None:
    for number in range(recipients):
        chat = FIRST_CHAT + number
        if number % 2 == 0:
            await opt_ins.add(chat, "changes", date(2026, 11, 1))
        else:
            await opt_ins.add_service(chat, SERVICES[number % 3])
            if number % 5 == 1:
                await opt_ins.add_service(chat, SERVICES[(number + 1) % 3])
    await opt_ins.flush(force=True)


async def _run(recipients: int, db: Path) -> tuple[float, float, int, int, int]:
    """(announcement rate, baseline rate, 429s, duplicates, missing)."""
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade_async(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    async with BotApiEmulator(
        TOKEN, rate_limit_per_chat=1.0, rate_limit_global=TELEGRAM_RATE
    ) as api:
        bot = _bot(api)
        try:
            opt_ins = OptInStore(sessions)
            await _subscribe(opt_ins, recipients)
            broadcaster = Broadcaster(sessions, news_sender(BotOutbox(bot)))
            announcer = ResultsAnnouncer(
                measures=Measures(),
                store=AnnouncementStore(sessions),
                subscribers=opt_ins,
                broadcaster=broadcaster,
                zone=ZoneInfo("Asia/Yakutsk"),
                url="https://example.gov.ru/otklik/",
                clock=lambda: datetime(2026, 11, 30, 3, tzinfo=UTC),
            )
            started = time.perf_counter()
            outcome = await announcer.announce()
            announce_rate = outcome.sent / (time.perf_counter() - started)
            announced = len(api.calls("sendMessage"))
            # The baseline: one broadcast to as many other chats, the same pacer and emulator.
            await asyncio.sleep(1.1)  # the last chats' per-chat gap, and the second's budget
            others = range(FIRST_CHAT * 2, FIRST_CHAT * 2 + outcome.sent)
            started = time.perf_counter()
            baseline = await broadcaster.create("bench", "bench", TEXT, others)
            summary = await broadcaster.run(baseline)
            baseline_rate = summary.sent / (time.perf_counter() - started)
        finally:
            await bot.session.close()
            await engine.dispose()
    calls = api.calls("sendMessage")
    accepted = [c for c in calls[:announced] if c.ok]
    per_chat = Counter(int(c.params["chat_id"]) for c in accepted)
    flood = sum(1 for c in calls if c.status == 429)
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    return announce_rate, baseline_rate, flood, duplicates, recipients - len(per_chat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rate, baseline, flood, duplicates, missing = asyncio.run(
            _run(args.recipients, Path(folder) / "bench.db")
        )
    print(f"announcement:        {rate:.2f} msg/s = {rate / TELEGRAM_RATE:.1%} of 30/s")
    print(f"one broadcast:       {baseline:.2f} msg/s (same run, same pacer)")
    print(f"ratio:               {rate / baseline:.2f}")
    print(f"429 answers:         {flood}")
    print(f"duplicates:          {duplicates}")
    print(f"missing:             {missing}")
    ok = rate / baseline >= TARGET_RATIO and not (flood or duplicates or missing)
    print(f"verdict:             {'OK' if ok else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
