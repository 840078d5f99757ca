"""A broadcaster process for the crash test to kill with SIGKILL halfway through a broadcast.

``python -m tests.broadcast.crash_child BASE_URL DB_URL CONNECT_ARGS_JSON BROADCAST_ID``
"""

from __future__ import annotations

import asyncio
import json
import sys

from services.broadcast import Broadcaster, BroadcastLimits, telegram_sender
from storage.database import create_engine, create_session_factory
from tests.broadcast.conftest import make_bot

#: Fast enough to crash mid-broadcast soon, slow enough that the claim batches matter.
CHILD_LIMITS = BroadcastLimits(global_rate=60)


async def main(base_url: str, db_url: str, connect_args: str, broadcast_id: int) -> None:
    engine = create_engine(db_url, connect_args=json.loads(connect_args))
    bot = make_bot(base_url)
    broadcaster = Broadcaster(
        create_session_factory(engine), telegram_sender(bot), limits=CHILD_LIMITS
    )
    print("running", flush=True)
    await broadcaster.run(broadcast_id)  # the parent kills us long before this returns


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
