"""Benchmark: broadcast throughput against the emulator enforcing Telegram's limits, vs 30/s.

Run from the repository root: ``.venv/bin/python -m bench.broadcast_bench [--recipients 10000]``.
10,000 recipients take about six minutes at 29/s. The baseline, measured in the same run, is
the same bot and emulator sending as fast as they can with no limits: it shows how far the
machine is from being the bottleneck. ``--latency-ms`` puts a slow network between the bot and
the API (several sends must be in flight to keep the rate); ``--broadcasts 2`` runs two
broadcasts to the same chats at once (they must share the limits). The tests check the same
behaviour on a virtual clock (tests/broadcast/test_run.py); the rates are measured here only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from services.broadcast import Broadcaster, BroadcastLimits, Progress, SendPort, telegram_sender
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async
from tests.botapi.emulator import BotApiEmulator

logger = logging.getLogger(__name__)

TOKEN = "123456:BENCH"
TELEGRAM_RATE = 30.0
TARGET_SHARE = 0.95
FIRST_CHAT = 10**9
TEXT = "Приглашаем пройти опрос о качестве услуг инспекции: https://t.me/otklik_bot?start=x"


def _bot(api: BotApiEmulator) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))


def _with_latency(send: SendPort, seconds: float) -> SendPort:
    """Half the latency before the request reaches the API, half before the answer returns."""
    if seconds <= 0:
        return send

    async def far_away(chat_id: int, text: str) -> None:
        await asyncio.sleep(seconds / 2)
        await send(chat_id, text)
        await asyncio.sleep(seconds / 2)

    return far_away


async def _baseline(messages: int) -> float:
    """Unpaced sends per second, 16 in flight, to an emulator that enforces no limit."""
    async with BotApiEmulator(TOKEN) as api:
        bot = _bot(api)
        chats = iter(range(FIRST_CHAT, FIRST_CHAT + messages))

        async def worker() -> None:
            for chat in chats:
                await bot.send_message(chat, TEXT)

        try:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(16)))
            return messages / (time.perf_counter() - started)
        finally:
            await bot.session.close()


async def _broadcast(
    recipients: int, limits: BroadcastLimits, latency: float, db: Path, broadcasts: int = 1
) -> None:
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade_async(url)
    engine = create_engine(url)
    async with BotApiEmulator(
        TOKEN, rate_limit_per_chat=1.0, rate_limit_global=TELEGRAM_RATE
    ) as api:
        bot = _bot(api)

        async def progress(report: Progress) -> None:
            print(
                f"  {report.elapsed:6.0f} s  sent {report.sent:>6}/{report.total}  "
                f"{report.rate:5.2f}/s  429s {report.rate_limited}",
                flush=True,
            )

        try:
            broadcaster = Broadcaster(
                create_session_factory(engine),
                _with_latency(telegram_sender(bot), latency),
                limits=limits,
                progress_every_seconds=30,
                progress_every_messages=10**9,
            )
            chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
            started = time.perf_counter()
            ids = [
                await broadcaster.create(f"bench{number}", "bench", TEXT, chats)
                for number in range(broadcasts)
            ]
            created = time.perf_counter() - started
            started = time.perf_counter()
            summaries = await asyncio.gather(*(broadcaster.run(i, progress) for i in ids))
            elapsed = time.perf_counter() - started
        finally:
            await bot.session.close()
            await engine.dispose()

    accepted = [call for call in api.calls("sendMessage") if call.ok]
    per_chat = Counter(int(call.params["chat_id"]) for call in accepted)
    flood = sum(1 for call in api.calls("sendMessage") if call.status == 429)
    steady = (len(accepted) - 1) / (accepted[-1].at - accepted[0].at) if len(accepted) > 1 else 0
    sent = sum(summary.sent for summary in summaries)
    rate = sent / elapsed
    # The emulator refuses the 31st request within one second: how close did we come?
    arrivals = [call.at for call in accepted]
    window = int(TELEGRAM_RATE) + 1
    spans = [arrivals[i + window - 1] - arrivals[i] for i in range(len(arrivals) - window + 1)]
    print(f"create():            {broadcasts} × {recipients} rows in {created:.2f} s")
    print(f"run():               {sent} sent in {elapsed:.1f} s")
    print(f"achieved rate:       {rate:.2f} msg/s = {rate / TELEGRAM_RATE:.1%} of 30/s "
          f"(target >= {TARGET_SHARE:.0%}; configured {limits.global_rate:g}/s)")  # fmt: skip
    print(f"steady-state rate:   {steady:.2f} msg/s = {steady / TELEGRAM_RATE:.1%} of 30/s "
          "(first to last accepted request)")  # fmt: skip
    if spans:
        print(f"tightest {window} sends:   {min(spans) * 1000:.0f} ms at the emulator "
              "(under 1000 ms means a 429)")  # fmt: skip
    print(f"429 answers:         {flood}")
    print(f"duplicates:          {sum(1 for n in per_chat.values() if n > broadcasts)}")
    print(f"missing:             {recipients - len(per_chat)}")
    verdict = "OK" if rate / TELEGRAM_RATE >= TARGET_SHARE and flood == 0 else "BELOW TARGET"
    print(f"verdict:             {verdict}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=BroadcastLimits().global_rate)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated network RTT")
    parser.add_argument("--baseline-messages", type=int, default=2_000)
    parser.add_argument(
        "--broadcasts", type=int, default=1, help="broadcasts to the same chats at once"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    baseline = await _baseline(args.baseline_messages)
    print(f"baseline (no limits): {baseline:.0f} msg/s through aiogram + emulator, "
          f"{baseline / TELEGRAM_RATE:.0f}x Telegram's 30/s")  # fmt: skip
    limits = BroadcastLimits(global_rate=args.rate)
    with tempfile.TemporaryDirectory() as directory:
        await _broadcast(
            args.recipients,
            limits,
            args.latency_ms / 1000,
            Path(directory) / "bench.db",
            args.broadcasts,
        )


if __name__ == "__main__":
    asyncio.run(main())
