"""Benchmark: broadcasts to MAX chats against the MAX emulator enforcing MAX's 30 requests a
second (https://dev.max.ru/help), through the real MAX client and the production ports.

Run from the repository root: ``.venv/bin/python -m bench.max_broadcast_bench [--recipients 750]``.
It prints, in the same run: the baseline (the client and emulator with no limits, as fast as
they go: how far the machine is from being the bottleneck), then the broadcast's rate against
MAX's limit, the 429s MAX answered and whether each chat got exactly one message. The tests
check the pacing on a virtual clock (tests/broadcast/test_max.py); rates are measured here only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from max_front.api import View
from max_front.client import MaxapiClient
from max_front.delivery import max_sender
from questionnaires.messengers import max_chat
from services.broadcast import Broadcaster, BroadcastLimits, by_messenger
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async
from tests.maxapi.emulator import MaxApiEmulator

TOKEN = "max-bench-token"
MAX_LIMIT = 30
TEXT = "Приглашаем пройти опрос о качестве услуг: https://max.ru/otklik_bot?start=x"


async def _baseline(messages: int) -> float:
    async with MaxApiEmulator(TOKEN) as emulator:
        client = MaxapiClient(TOKEN, emulator.base_url, retries=0)
        try:
            started = time.perf_counter()
            for start in range(0, messages, 16):
                await asyncio.gather(
                    *(client.send(user, View(TEXT)) for user in range(start + 1, start + 17))
                )
            return messages / (time.perf_counter() - started)
        finally:
            await client.close()


async def _broadcast(recipients: int, limits: BroadcastLimits, path: Path) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    engine = create_engine(url)
    async with MaxApiEmulator(TOKEN, requests_per_second=MAX_LIMIT) as emulator:
        client = MaxapiClient(TOKEN, emulator.base_url, retries=0)
        try:
            broadcaster = Broadcaster(
                create_session_factory(engine),
                by_messenger({"max": max_sender(client)}),
                limits=limits,
            )
            chats = [max_chat(user) for user in range(1, recipients + 1)]
            broadcast_id = await broadcaster.create("invitation", "bench", TEXT, chats)
            started = time.perf_counter()
            summary = await broadcaster.run(broadcast_id)
            elapsed = time.perf_counter() - started
        finally:
            await client.close()
            await engine.dispose()
    got = Counter(message.user_id for message in emulator.messages.values())
    once = len(got) == recipients and set(got.values()) == {1}
    rate = summary.sent / elapsed
    print(f"MAX broadcast: {summary.sent} sent in {elapsed:.1f} s = {rate:.1f} msg/s at "
          f"max_rate {limits.max_rate:g} ({rate / MAX_LIMIT:.2f} of MAX's {MAX_LIMIT}/s); "
          f"429s from MAX: {emulator.rate_limited}; each chat exactly once: {once}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=750)
    parser.add_argument("--rate", type=float, default=BroadcastLimits().max_rate)
    parser.add_argument("--baseline-messages", type=int, default=1_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    baseline = await _baseline(args.baseline_messages)
    print(f"baseline (no limits): {baseline:.0f} msg/s through maxapi + emulator, "
          f"{baseline / MAX_LIMIT:.0f}x MAX's {MAX_LIMIT}/s")  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        await _broadcast(
            args.recipients, BroadcastLimits(max_rate=args.rate), Path(directory) / "bench.db"
        )


if __name__ == "__main__":
    asyncio.run(main())
