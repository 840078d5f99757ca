"""Drives the Bot API emulator with a real aiogram Bot + Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from tests.botapi.emulator import BotApiEmulator

TOKEN = "123456:TEST"
ANNA = 1001


def make_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text="Отлично", callback_data="rate:5")
        keyboard.button(text="Плохо", callback_data="rate:1")
        await message.answer(f"Привет! source={command.args}", reply_markup=keyboard.as_markup())

    @router.callback_query(F.data.startswith("rate:"))
    async def rate(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message) and query.data
        await query.message.edit_text(f"Оценка {query.data.removeprefix('rate:')}")
        await query.answer("Спасибо")

    @router.message(F.document)
    async def document(message: Message) -> None:
        await message.answer_document(BufferedInputFile(b"report-bytes", filename="report.txt"))

    return router


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


def make_bot(api: BotApiEmulator) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))


@pytest.fixture
async def bot(api: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    yield bot
    await bot.session.close()


@pytest.fixture
async def polling(api: BotApiEmulator, bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = Dispatcher()
    dp.include_router(make_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    # stop_polling() raises until start_polling holds its lock: wait for the first long poll.
    await api.wait_for_request("getUpdates", ok=None)
    yield dp
    await dp.stop_polling()
    await task


async def test_start_reaches_handler_with_inline_keyboard(
    api: BotApiEmulator, polling: Dispatcher
) -> None:
    anna = api.user(id=ANNA, first_name="Anna", username="anna", language_code="ru")
    await anna.send_text("/start svc_channel")

    reply = await api.wait_for_request("sendMessage", chat_id=ANNA)
    assert reply.params["text"] == "Привет! source=svc_channel"
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rate:5"
    message = await anna.last_bot_message()
    assert [b["text"] for b in message.buttons] == ["Отлично", "Плохо"]
    assert message.message_id == 2  # the user's /start is message 1 of the private chat


async def test_click_edits_message_in_place(api: BotApiEmulator, polling: Dispatcher) -> None:
    anna = api.user(id=ANNA, first_name="Anna")
    await anna.send_text("/start")
    first = await api.wait_for_request("sendMessage")

    query_id = await anna.click("Отлич")  # unique substring
    edit = await api.wait_for_request("editMessageText", chat_id=ANNA)
    answer = await api.wait_for_request("answerCallbackQuery", callback_query_id=query_id)

    assert edit.params["message_id"] == first.result["message_id"]
    assert answer.params["text"] == "Спасибо"
    message = await anna.last_bot_message()
    assert (message.text, message.reply_markup) == ("Оценка 5", None)
    assert len(api.history(ANNA)) == 2


async def test_stale_click_on_old_message_is_delivered(
    api: BotApiEmulator, polling: Dispatcher
) -> None:
    anna = api.user(id=ANNA, first_name="Anna")
    await anna.send_text("/start")
    old = await api.wait_for_request("sendMessage")
    await anna.send_text("/start")
    await api.wait_for_request("sendMessage")

    query_id = await anna.click_data("rate:1", message_id=old.result["message_id"])
    await api.wait_for_request("answerCallbackQuery", callback_query_id=query_id)
    old_now, _, newest = api.history(ANNA)[1:]
    assert old_now.text == "Оценка 1" and old_now.raw["edit_date"]
    assert newest.text == "Привет! source=None" and newest.buttons


async def test_long_polling_does_not_spin(api: BotApiEmulator, polling: Dispatcher) -> None:
    before = len(api.calls("getUpdates"))
    await asyncio.sleep(1.0)
    assert len(api.calls("getUpdates")) - before <= 2


async def test_long_poll_wakes_on_update_and_offset_confirms(
    api: BotApiEmulator, bot: Bot
) -> None:
    anna = api.user(id=ANNA, first_name="Anna")

    async def type_later() -> None:
        await asyncio.sleep(0.2)
        await anna.send_text("hi")

    typing = asyncio.create_task(type_later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=10)
    assert time.monotonic() - started < 2
    await typing
    assert updates[0].message and updates[0].message.text == "hi"
    assert await bot.get_updates(offset=updates[0].update_id + 1) == []
    assert api.pending_updates == 0


async def test_user_media_parse_as_aiogram_types(api: BotApiEmulator, bot: Bot) -> None:
    anna = api.user(id=ANNA, first_name="Anna")
    await anna.send_sticker()
    await anna.send_photo(caption="фото")
    await anna.send_voice(b"voice-bytes")
    await anna.send_document(b"doc-bytes", file_name="a.pdf")
    sticker, photo, voice, document = [u.message for u in await bot.get_updates()]
    assert sticker and sticker.sticker and photo and photo.photo and photo.caption == "фото"
    assert voice and voice.voice and document and document.document
    downloaded = await bot.download(voice.voice.file_id)
    assert downloaded is not None and downloaded.read() == b"voice-bytes"


async def test_injected_429_gives_retry_after(api: BotApiEmulator, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANNA, "hi")
    assert caught.value.retry_after == 3
    await bot.send_message(ANNA, "hi")  # only the next call fails
    assert [c.status for c in api.calls("sendMessage")] == [429, 200]


async def test_injected_500_n_times_then_success(api: BotApiEmulator, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=500, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(ANNA, "hi")
    await bot.send_message(ANNA, "hi")
    assert [c.status for c in api.calls("sendMessage")] == [500, 500, 200]


async def test_held_call_hangs_unapplied_until_released(api: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(ANNA, "first")
    api.hold_next("editMessageText")
    edit = asyncio.create_task(
        bot.edit_message_text("second", chat_id=ANNA, message_id=sent.message_id)
    )
    await api.wait_for_request("editMessageText", ok=None)
    await asyncio.sleep(0.05)
    assert not edit.done() and len(api.held("editMessageText")) == 1
    assert api.history(ANNA)[-1].text == "first"  # not applied
    api.release_held()
    with pytest.raises(TelegramServerError):
        await edit
    assert api.history(ANNA)[-1].text == "first" and api.held("editMessageText") == []


async def test_blocked_chat_gives_forbidden(api: BotApiEmulator, bot: Bot) -> None:
    api.fail_for_chat(ANNA)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA, "hi")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(ANNA, "typing")
    await bot.send_message(ANNA + 1, "others still get messages")


async def test_multipart_document_is_recorded(api: BotApiEmulator, polling: Dispatcher) -> None:
    anna = api.user(id=ANNA, first_name="Anna")
    await anna.send_document()
    call = await api.wait_for_request("sendDocument", chat_id=ANNA)
    (upload,) = call.files.values()
    assert (upload.filename, upload.size, upload.data) == ("report.txt", 12, b"report-bytes")
    assert call.result["document"]["file_name"] == "report.txt"


async def test_edit_errors_match_telegram(api: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(ANNA, "<b>Итог</b> &amp; всё", parse_mode="HTML")
    assert sent.text == "Итог & всё"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("<b>Итог</b> &amp; всё", chat_id=ANNA,
                                    message_id=sent.message_id, parse_mode="HTML")  # fmt: skip
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ANNA, message_id=999)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ANNA, "a <b", parse_mode="HTML")


async def test_unknown_method_and_wrong_token(api: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.base_url}/bot{TOKEN}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False, "error_code": 404, "description": "Not Found: method not found"
            }  # fmt: skip
        async with http.post(f"{api.base_url}/bot1:WRONG/getMe") as resp:
            assert resp.status == 401


async def test_rate_limit_mode() -> None:
    async with BotApiEmulator(token=TOKEN, rate_limit_per_chat=1.0, rate_limit_global=2.0) as api:
        bot = make_bot(api)
        try:
            await bot.send_message(ANNA, "1")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(ANNA, "2")
            assert caught.value.retry_after == 1
            await bot.send_message(ANNA + 1, "other chat")
            with pytest.raises(TelegramRetryAfter):  # the global window is full now
                await bot.send_message(ANNA + 2, "third chat")
        finally:
            await bot.session.close()
