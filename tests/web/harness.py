"""The web front on the production wiring (bot.app.wire) and a form-filling client.

`WebVisitor` is a browser without JavaScript: it keeps the cookie, reads the form of the page
it was given and submits it with the chosen fields, as a person pressing "Next" would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiohttp import web
from aiohttp.test_utils import TestClient
from bs4 import BeautifulSoup
from sqlalchemy import text

from bot.app import Wiring, wire
from bot.settings import BotSettings, DatabaseSettings, PrivacySettings, Settings, WebSettings
from bot.web import build_web_services
from tests.web.conftest import serve
from web.app import create_app

PEPPER = "web-test-pepper-0123456789abcdef"
TOKEN = "123456:web-tests-never-call-telegram"


def web_settings(folder: Path, **privacy: Any) -> Settings:
    return Settings(
        _env_file=None,
        bot=BotSettings(token=TOKEN),
        db=DatabaseSettings(url=f"sqlite+aiosqlite:///{folder / 'otklik.db'}"),
        privacy=PrivacySettings(pepper=PEPPER, **privacy),
        web=WebSettings(rate_per_minute=10_000),
        log_level="WARNING",
    )


@dataclass
class Stack:
    settings: Settings
    wiring: Wiring
    client: TestClient[web.Request, web.Application]

    def visitor(self) -> WebVisitor:
        return WebVisitor(self)

    async def rows(self, sql: str, **values: Any) -> list[Mapping[str, Any]]:
        async with self.wiring.engine.connect() as connection:
            result = await connection.execute(text(sql), values)
            return [dict(row._mapping) for row in result]


@asynccontextmanager
async def web_stack(
    folder: Path, *, max_ready: Callable[[], None] | None = None, **privacy: Any
) -> AsyncIterator[Stack]:
    settings = web_settings(folder, **privacy)
    bot = Bot(TOKEN)
    wiring = await wire(settings, bot, "otklik_test_bot")
    try:
        app = create_app(build_web_services(settings, wiring, max_ready=max_ready))
        async with serve(app) as client:
            yield Stack(settings, wiring, client)
    finally:
        await wiring.close()
        await bot.session.close()


@dataclass
class Reply:
    status: int
    html: str
    soup: BeautifulSoup = field(init=False)

    def __post_init__(self) -> None:
        self.soup = BeautifulSoup(self.html, "html.parser")

    @property
    def question(self) -> str:
        legend = self.soup.select_one("form.step legend, form.step label.question")
        return legend.get_text(" ", strip=True) if legend else ""

    @property
    def message(self) -> str:
        found = self.soup.select_one("main [role=status], main .lead")
        return found.get_text(" ", strip=True) if found else ""

    @property
    def error(self) -> str:
        found = self.soup.select_one(".field-error")
        return found.get_text(" ", strip=True) if found else ""

    def hidden(self, name: str) -> str:
        found = self.soup.select_one(f"form.step input[name={name}]")
        assert found is not None, f"no field {name} in:\n{self.html}"
        return str(found["value"])

    def options(self) -> list[str]:
        return [str(i["value"]) for i in self.soup.select("form.step input[name=choice]")]


class WebVisitor:
    """One browser: its own cookie jar, the page it looks at."""

    def __init__(self, stack: Stack) -> None:
        from aiohttp import ClientSession, CookieJar

        self.stack = stack
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True))
        self.page: Reply | None = None

    def url(self, path: str) -> str:
        return str(self.stack.client.make_url(path))

    async def get(self, path: str) -> Reply:
        async with self.session.get(self.url(path)) as response:
            self.page = Reply(response.status, await response.text())
        return self.page

    async def post(self, path: str, data: Sequence[tuple[str, str]]) -> Reply:
        async with self.session.post(self.url(path), data=list(data)) as response:
            self.page = Reply(response.status, await response.text())
        return self.page

    async def submit(
        self,
        *choices: str,
        action: str = "answer",
        typed: str | None = None,
        page: Reply | None = None,
    ) -> Reply:
        """Fill the question form of `page` (default: the current one) and send it."""
        form = page or self.page
        assert form is not None
        data = [
            ("csrf", form.hidden("csrf")),
            ("state", form.hidden("state")),
            ("lang", form.hidden("lang")),
            ("action", action),
        ]
        data += [("choice", choice) for choice in choices]
        if typed is not None:
            data.append(("text", typed))
        return await self.post("/form", data)

    async def pick(self, service: str) -> Reply:
        assert self.page is not None
        csrf = str(self.page.soup.select_one("input[name=csrf]")["value"])  # type: ignore[index]
        return await self.post(
            "/start", [("csrf", csrf), ("lang", "ru"), ("service", service), ("action", "start")]
        )

    async def close(self) -> None:
        await self.session.close()
