"""Faults injected against the real bot process (issue 9): Telegram answering 429 and 500 on the
answer path, a crash between saving a step and showing it, the database locked for seconds.
Each dialog completes with exactly one stored response; nothing that got a thank-you is lost."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botapi.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import (
    BotLauncher,
    press,
    read_rows,
    wait_for_button,
    wait_for_message,
)

pytestmark = pytest.mark.e2e

LINK = "/start licensing_office"
THANKS_RU = "Спасибо! Обобщённые результаты"
TRY_LATER = "временно недоступен"


async def _open(user: EmulatedUser) -> None:
    await user.send_text(LINK)
    await wait_for_message(user, "Вопрос 1 из")


async def _finish(user: EmulatedUser) -> None:
    """From the first question to the thank-you: 5, yes, one contact, no comment."""
    await press(user, "5", "Ваш вопрос решён?")
    await press(user, "Да", "Сколько раз вы обращались")
    await press(user, "1", "Что вам понравилось")
    await press(user, "Пропустить", THANKS_RU)


def _responses_by_overall(db_path: Path) -> list[int]:
    return sorted(
        int(str(row["number"]))
        for row in read_rows(db_path, "answers")
        if row["question_id"] == "overall"
    )


def _clean(log: str) -> None:
    assert "Traceback" not in log, log
    assert " ERROR " not in log and " CRITICAL " not in log, log


async def test_flood_control_on_every_call_of_the_answer_path_is_sat_out(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    """429 with retry_after on editMessageText, answerCallbackQuery and sendMessage."""
    bot = await launcher.start()
    anna = api.user(7771000001, "Анна", language_code="ru")
    api.fail_next("sendMessage", 429, retry_after=1, chat_id=anna.id, times=2)
    await _open(anna)  # the intro and the first question both hit flood control once
    api.fail_next("editMessageText", 429, retry_after=1, chat_id=anna.id)
    await press(anna, "5", "Ваш вопрос решён?")
    api.fail_next("answerCallbackQuery", 429, retry_after=1)
    await press(anna, "Да", "Сколько раз вы обращались")
    await press(anna, "1", "Что вам понравилось")
    api.fail_next("editMessageText", 429, retry_after=1, chat_id=anna.id)
    await press(anna, "Пропустить", THANKS_RU)

    assert _responses_by_overall(launcher.db_path) == [5]
    assert len(read_rows(launcher.db_path, "responses")) == 1
    statuses = [c.status for c in api.calls("editMessageText")]
    assert statuses.count(429) == 2 and statuses.count(200) >= 4
    answered = [c for c in api.calls("answerCallbackQuery") if c.ok]
    assert len(answered) == len({c.params["callback_query_id"] for c in answered}) == 4
    assert await bot.stop() == 0
    _clean(bot.log_text())


async def test_server_errors_are_retried_and_a_lasting_one_recovers_on_the_next_press(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    bot = await launcher.start()
    boris = api.user(7771000002, "Борис", language_code="ru")
    api.fail_next("sendMessage", 500, chat_id=boris.id)
    await _open(boris)
    api.fail_next("editMessageText", 500, chat_id=boris.id, times=2)
    api.fail_next("answerCallbackQuery", 500)
    await press(boris, "4", "Ваш вопрос решён?")
    # Telegram fails longer than the retries last: the state moved on, the screen did not.
    api.fail_next("editMessageText", 500, chat_id=boris.id, times=20)
    await boris.click("Да")
    await wait_for_message(boris, TRY_LATER)
    api.clear_failures()  # Telegram is back
    # The person presses the same old button again: the current step is drawn on it.
    await press(boris, "Да", "Сколько раз вы обращались")
    await press(boris, "1", "Вопрос 4 из")
    await press(boris, "Пропустить", THANKS_RU)

    assert _responses_by_overall(launcher.db_path) == [4]
    assert {
        (r["question_id"], r["option_id"]) for r in read_rows(launcher.db_path, "answers")
    } >= {
        ("solved", "yes"),
        ("contacts", "one"),
    }
    assert await bot.stop() == 0
    log = bot.log_text()
    assert "Traceback" not in log, log
    assert "retrying" in log and "Telegram unavailable" in log


async def test_telegram_unreachable_for_ten_seconds_while_running_loses_nothing(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    """Issue 9: the network to Telegram goes away mid-dialog and comes back; the presses made
    meanwhile wait at Telegram and are handled once, the dialog completes once."""
    bot = await launcher.start()
    gleb = api.user(7771000005, "Глеб", language_code="ru")
    await _open(gleb)
    await press(gleb, "4", "Ваш вопрос решён?")
    await api.go_offline()
    outage = time.monotonic()
    await gleb.click("Да")  # queued at Telegram: the bot cannot fetch it now
    await asyncio.sleep(10)
    assert "Ваш вопрос решён?" in str((await gleb.last_bot_message()).text)
    await api.go_online()
    await wait_for_message(gleb, "Сколько раз вы обращались", timeout=30)
    assert time.monotonic() - outage >= 10
    await press(gleb, "1", "Вопрос 4 из")
    await press(gleb, "Пропустить", THANKS_RU)

    assert _responses_by_overall(launcher.db_path) == [4]
    assert len(read_rows(launcher.db_path, "responses")) == 1
    assert {
        (r["question_id"], r["option_id"]) for r in read_rows(launcher.db_path, "answers")
    } >= {("solved", "yes"), ("contacts", "one")}
    answered = [c for c in api.calls("answerCallbackQuery") if c.ok]
    assert len(answered) == len({c.params["callback_query_id"] for c in answered})
    assert await bot.stop() == 0
    log = bot.log_text()
    assert "Failed to fetch updates" in log, log  # the outage was real
    assert "Traceback" not in log, log


async def test_a_crash_between_saving_a_step_and_showing_it_recovers_on_the_next_press(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    first = await launcher.start()
    vera = api.user(7771000003, "Вера", language_code="ru")
    await _open(vera)
    api.hold_next("editMessageText")
    await vera.click("2")
    # The step is saved and the press answered; the edit is on its way when the bot dies.
    await api.wait_for_request("answerCallbackQuery", ok=True)
    deadline = time.monotonic() + 5
    while not api.held("editMessageText"):
        assert time.monotonic() < deadline, "the edit never came"
        await asyncio.sleep(0.02)
    await first.kill()
    api.release_held()
    assert "Вопрос 1 из" in str((await vera.last_bot_message()).text)  # the screen is behind

    second = await launcher.start()
    await press(vera, "2", "Ваш вопрос решён?")  # the old screen's button: redrawn, not lost
    await press(vera, "Частично", "Что помешало?")
    await vera.click("Долгое ожидание")
    await wait_for_button(vera, "☑️ Долгое ожидание в очереди или на линии")
    await press(vera, "Готово", "Сколько раз вы обращались")
    await press(vera, "1", "Что пошло не так?")
    await press(vera, "Пропустить", THANKS_RU)

    assert _responses_by_overall(launcher.db_path) == [2]
    assert len(read_rows(launcher.db_path, "responses")) == 1
    assert read_rows(launcher.db_path, "fsm_states") == []
    assert await second.stop() == 0
    _clean(second.log_text())


@contextlib.contextmanager
def _locked(db_path: Path) -> Iterator[None]:
    """Another process holds the write lock: the bot's writes wait, then fail."""
    db = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    try:
        db.execute("BEGIN EXCLUSIVE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


async def test_database_locked_for_seconds_loses_nothing_and_the_press_can_be_repeated(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    bot = await launcher.start()
    gala = api.user(7771000004, "Галя", language_code="ru")
    await _open(gala)
    await press(gala, "4", "Ваш вопрос решён?")
    with _locked(launcher.db_path):
        await gala.click("Да")
        # Longer than the bot's busy timeout (5 s): the step fails and the person is told.
        deadline = time.monotonic() + 12
        while not any(
            TRY_LATER in str(c.params.get("text", "")) for c in api.calls("answerCallbackQuery")
        ):
            assert time.monotonic() < deadline, "no notice while the database was locked"
            await asyncio.sleep(0.05)
    current = await gala.last_bot_message()
    if "Ваш вопрос решён?" in (current.text or ""):
        await press(gala, "Да", "Сколько раз вы обращались")  # the same button again
    await press(gala, "1", "Вопрос 4 из")
    await press(gala, "Пропустить", THANKS_RU)

    assert _responses_by_overall(launcher.db_path) == [4]
    assert len(read_rows(launcher.db_path, "responses")) == 1
    assert await bot.stop() == 0
    assert "Traceback" not in bot.log_text()
