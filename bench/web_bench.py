"""Benchmark: whole web forms through the real server against a bare aiohttp handler.

Both servers listen on a real TCP port of this machine and are driven by the same aiohttp
client in this process, in alternating rounds of the same length. The bare server answers
every request with a fixed HTML page of the form's size from one handler (no middleware, no
templates, no storage): the floor of aiohttp on this machine. The full server is what
`otklik web` runs (`bot.app.wire` on a fresh SQLite database, `bot.web.build_web_services`,
`web.app.create_app`: rate limit, cookie, CSRF, security headers, the dialog service, the FSM
store durable before each page, Jinja2). Each web dialog is one GET of `/r/<payload>` and four
POSTs (the post-service rating with a low-effort path: 5, yes, one, skip the comment) from a
browser of its own; `--clients` of them run at once, each waiting for its page.

Printed per round: requests/s of each, and the ratio; then the median ratio with its min-max
spread. Target (issue 12): full form >= 0.3x the bare handler.

Run from the repository root: ``.venv/bin/python -m bench.web_bench``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiogram import Bot
from aiohttp import ClientSession, CookieJar, web

from bot.app import freeze_startup_heap, wire
from bot.settings import BotSettings, DatabaseSettings, PrivacySettings, Settings, WebSettings
from bot.web import build_web_services
from web.app import create_app, runner_options

TOKEN: Final = "123456:web-bench-never-calls-telegram"
PEPPER: Final = "web-bench-pepper-0123456789abcdef"
FIELD_RE: Final = re.compile(r'name="(csrf|state)" value="([^"]+)"')
#: The rating path: answers of the four POSTs after the first page.
PATH: Final = (("5",), ("yes",), ("one",), ())


@dataclass(frozen=True)
class Round:
    bare: float  # requests/s
    form: float

    @property
    def ratio(self) -> float:
        return self.form / self.bare


@asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, handle_signals=False, **runner_options())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def bare_app(page: str) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        if request.method == "POST":
            await request.post()
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def web_dialog(session: ClientSession, base: str) -> int:
    """One browser rates a service through the form; returns the requests made."""
    async with session.get(f"{base}/r/licensing_site") as response:
        page = await response.text()
    for choices in PATH:
        fields = dict(FIELD_RE.findall(page))
        data = [("csrf", fields["csrf"]), ("state", fields["state"]), ("lang", "ru")]
        data.append(("action", "answer" if choices else "skip"))
        data += [("choice", choice) for choice in choices]
        async with session.post(f"{base}/form", data=data) as response:
            page = await response.text()
            assert response.status == 200, page
    assert "Спасибо" in page
    return 1 + len(PATH)


async def bare_dialog(session: ClientSession, base: str) -> int:
    """The same request shapes (a GET, four form POSTs) against the bare handler."""
    async with session.get(f"{base}/r/licensing_site") as response:
        page = await response.text()
    for choices in PATH:
        fields = dict(FIELD_RE.findall(page))
        data = [("csrf", fields.get("csrf", "")), ("state", fields.get("state", ""))]
        data += [("action", "answer")] + [("choice", choice) for choice in choices]
        async with session.post(f"{base}/form", data=data) as response:
            page = await response.text()
    return 1 + len(PATH)


async def drive(
    dialog: Callable[[ClientSession, str], Awaitable[int]],
    base: str,
    clients: int,
    seconds: float,
) -> float:
    """Requests/s of `clients` browsers doing dialogs back to back for `seconds`."""
    deadline = time.perf_counter() + seconds
    counts = [0] * clients

    async def lane(index: int) -> None:
        while time.perf_counter() < deadline:
            # A new browser (cookie jar) per dialog, as many people would be.
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
                counts[index] += await dialog(session, base)

    started = time.perf_counter()
    await asyncio.gather(*(lane(index) for index in range(clients)))
    return sum(counts) / (time.perf_counter() - started)


def bench_settings(folder: Path) -> Settings:
    return Settings(
        _env_file=None,
        bot=BotSettings(token=TOKEN),
        db=DatabaseSettings(url=f"sqlite+aiosqlite:///{folder / 'bench.db'}"),
        # Every dialog is a new browser anyway; the guard would only cost memory here.
        privacy=PrivacySettings(pepper=PEPPER, ratings_per_service_per_day=0),
        web=WebSettings(rate_per_minute=10_000_000),
        log_level="WARNING",
    )


async def run(clients: int, seconds: float, rounds: int) -> list[Round]:
    access = logging.getLogger("web.access")
    level = access.level
    access.setLevel(logging.WARNING)  # a line per request would measure the terminal
    try:
        return await _run(clients, seconds, rounds)
    finally:
        access.setLevel(level)


async def _run(clients: int, seconds: float, rounds: int) -> list[Round]:
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(Path(folder))
        bot = Bot(TOKEN)
        wiring = await wire(settings, bot, "otklik_bench_bot")
        try:
            form_app = create_app(build_web_services(settings, wiring))
            async with listening(form_app) as form_base:
                async with (
                    ClientSession() as session,
                    session.get(f"{form_base}/r/licensing_site") as response,
                ):
                    page = await response.text()
                async with listening(bare_app(page)) as bare_base:
                    # Warm-up (imports, template compilation, statement caches), then the
                    # heap is frozen as the bot process does after start-up.
                    await drive(web_dialog, form_base, clients, 1.0)
                    await drive(bare_dialog, bare_base, clients, 1.0)
                    freeze_startup_heap()
                    results = []
                    for number in range(rounds):
                        bare = await drive(bare_dialog, bare_base, clients, seconds)
                        form = await drive(web_dialog, form_base, clients, seconds)
                        result = Round(bare, form)
                        results.append(result)
                        print(
                            f"round {number + 1}: bare {bare:7.0f} req/s   "
                            f"form {form:7.0f} req/s   ratio {result.ratio:.2f}x",
                            flush=True,
                        )
            return results
        finally:
            await wiring.close()
            await bot.session.close()


def summary(results: list[Round]) -> str:
    ratios = [result.ratio for result in results]
    forms = [result.form for result in results]
    return (
        f"full form {statistics.median(forms):.0f} req/s; ratio to the bare handler "
        f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}; "
        "target >= 0.30x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", default="10,50", help="browsers at once, one or more (comma-separated)"
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/form pairs")
    args = parser.parse_args()
    for clients in (int(part) for part in args.clients.split(",")):
        print(f"--- {clients} browsers at once")
        results = asyncio.run(run(clients, args.seconds, args.rounds))
        print(f"{clients} browsers: {summary(results)}")


if __name__ == "__main__":
    main()
