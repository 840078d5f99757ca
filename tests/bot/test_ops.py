"""/whoami, the command menu per role and the update metrics (issue 14)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SetMyCommands

from bot.operations import instrument
from bot.settings import Settings
from handlers.ops import set_command_menus
from services import metrics
from services.officer_commands import BODY_OFFICER, CITIZEN, INTERNAL_OFFICER, Officers
from tests.bot.conftest import INTERNAL_OFFICER_ID, OFFICER_ID, World
from tests.botapi.emulator import BotApiEmulator


async def test_whoami_tells_a_citizen_their_id_and_how_to_become_an_officer(world: World) -> None:
    anna = world.harness.person(1234567)
    await anna.send("/whoami")
    text = anna.last_text()
    assert "<code>1234567</code>" in text and "житель" in text
    assert "BOT__OFFICER_IDS" in text
    john = world.harness.person(7654321, language="en")
    await john.send("/whoami")
    assert "Your Telegram id: <code>7654321</code>" in john.last_text()
    assert "citizen" in john.last_text()


async def test_whoami_names_the_officer_roles(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/whoami")
    assert f"<code>{OFFICER_ID}</code>" in officer.last_text()
    assert "все услуги" in officer.last_text()
    assert "BOT__OFFICER_IDS" not in officer.last_text()  # already one: no hint
    internal = world.harness.person(INTERNAL_OFFICER_ID)
    await internal.send("/whoami")
    assert "внутреннего отчёта" in internal.last_text()


async def test_whoami_during_a_dialog_keeps_the_dialog(world: World) -> None:
    anna = world.harness.person(1234567)
    await anna.send("/start s_licensing_office")
    question = anna.last_text()
    buttons = anna.buttons()
    await anna.send("/whoami")
    assert "<code>1234567</code>" in anna.last_text()
    await anna.click(buttons[-1])  # the dialog goes on from the same question
    assert anna.last_text() != question


def _scoped(calls: list[Any]) -> dict[tuple[str, int | None, str], list[str]]:
    menus = {}
    for call in calls:
        scope = call.params.get("scope") or {}
        if isinstance(scope, str):
            scope = json.loads(scope)
        commands = call.params["commands"]
        if isinstance(commands, str):
            commands = json.loads(commands)
        key = (
            scope.get("type", "default"),
            scope.get("chat_id"),
            call.params.get("language_code", ""),
        )
        menus[key] = [c["command"] for c in commands]
    return menus


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token="42:TEST") as emulator:
        yield emulator


async def test_menus_per_role_are_set_with_scopes(world: World, api: BotApiEmulator) -> None:
    bot = Bot("42:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        officers = Officers.of(world.reporting)
        assert OFFICER_ID in officers.body and INTERNAL_OFFICER_ID in officers.internal
        await set_command_menus(bot, officers)
    finally:
        await bot.session.close()
    menus = _scoped(api.calls("setMyCommands"))
    for language in ("", "en"):
        assert menus[("default", None, language)] == list(CITIZEN)
        assert menus[("all_private_chats", None, language)] == list(CITIZEN)
        assert menus[("chat", OFFICER_ID, language)] == list(BODY_OFFICER)
        assert menus[("chat", INTERNAL_OFFICER_ID, language)] == list(INTERNAL_OFFICER)
    assert "report" not in CITIZEN and "poll_open" not in INTERNAL_OFFICER
    english = [c for c in api.calls("setMyCommands") if c.params.get("language_code") == "en"]
    assert english and all("Rate a service" in json.dumps(c.params) for c in english)
    # Every officer's chat, and nobody else's, has a menu of its own.
    chats = {chat for (kind, chat, _) in menus if kind == "chat"}
    assert chats == {OFFICER_ID, INTERNAL_OFFICER_ID}


async def test_staff_get_their_menu_when_they_enrol(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite Отдел лицензирования 1")
    [code] = [
        line.removeprefix("<code>").removesuffix("</code>")
        for line in officer.last_text().splitlines()
        if line.startswith("<code>")
    ]
    before = len(world.harness.sent(SetMyCommands))
    ivan = world.harness.person(7770001234)
    await ivan.send(f"/join {code}")
    menus = world.harness.sent(SetMyCommands)[before:]
    assert len(menus) == 2  # Russian and English
    assert all(m.scope.chat_id == 7770001234 for m in menus)
    assert "feedback" in [c.command for c in menus[0].commands]
    await ivan.send(f"/join {code}")  # already enrolled: no new calls
    assert len(world.harness.sent(SetMyCommands)) == before + 2


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or None) or 0.0


async def test_update_metrics_count_updates_by_type_and_time_them(world: World) -> None:
    instrument(world.harness.dispatcher, Settings(_env_file=None))
    messages = _value("otklik_updates_total", type="message")
    presses = _value("otklik_updates_total", type="callback_query")
    timed = _value("otklik_handler_seconds_count", type="message")
    anna = world.harness.person(1234567)
    await anna.send("/start s_licensing_office")
    await anna.click(anna.buttons()[-1])
    assert _value("otklik_updates_total", type="message") == messages + 1
    assert _value("otklik_updates_total", type="callback_query") == presses + 1
    assert _value("otklik_handler_seconds_count", type="message") == timed + 1
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain") and b"otklik_updates_total" in body
    assert b"1234567" not in body  # nobody's id in a metric


async def test_report_time_is_measured(world: World) -> None:
    from datetime import date

    from reports.model import Period, Scope

    before = _value("otklik_report_seconds_count")
    await world.reporting.report(Period(date(2026, 11, 16), date(2026, 11, 22)), Scope())
    assert _value("otklik_report_seconds_count") == before + 1


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_help_names_every_command_of_the_citizen_menu(world: World, language: str) -> None:
    # /whoami among them: an officer learns their id by it before being configured.
    anna = world.harness.person(1234567, language=language)
    await anna.send("/help")
    text = anna.last_text()
    for command in CITIZEN:
        assert f"/{command} " in text, command
