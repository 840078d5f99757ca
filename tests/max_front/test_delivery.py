"""MAX's answers as the broadcaster's verdicts, and officers' messages in MAX (texts, a
button, workbooks uploaded as files) through the real client against the emulator."""

from __future__ import annotations

import pytest
from aiogram import Bot

from bot.outbox import MessengerOutbox, messengers
from bot.settings import Settings
from max_front.api import MaxApiError
from max_front.client import MaxapiClient
from max_front.delivery import MaxOutbox, refusal
from questionnaires.messengers import max_chat
from services.broadcast_errors import DeliveryRefusedError, RateLimitedError
from tests.maxapi.emulator import MaxApiEmulator

TOKEN = "max-outbox-token"


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (MaxApiError(403, "chat.denied"), "blocked"),
        (MaxApiError(404, "chat.not.found"), "blocked"),
        (MaxApiError(404, ""), "abort"),  # no MAX code: the API's address is wrong
        (MaxApiError(401, "verify.token"), "abort"),
        (MaxApiError(400, "proto.payload"), "failed"),
        (MaxApiError(503, "service.unavailable"), "retry"),
        (MaxApiError(0, "MaxConnection", never_sent=True), "retry"),
        (MaxApiError(0, "timeout"), "unknown"),  # MAX may have delivered it
    ],
)
def test_max_answers_become_the_broadcasters_verdicts(error: MaxApiError, verdict: str) -> None:
    translated = refusal(error)
    assert isinstance(translated, DeliveryRefusedError) and translated.verdict == verdict
    assert translated.bad_request == (error.code == 400)


def test_a_429_is_a_pause() -> None:
    translated = refusal(MaxApiError(429, "too.many.requests"))
    assert isinstance(translated, RateLimitedError) and translated.retry_after == 1.0


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def text(self, chat_id: int, html: str) -> None:
        self.calls.append(("text", chat_id))

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        self.calls.append(("button", chat_id))

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        self.calls.append(("photo", chat_id))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        self.calls.append(("document", chat_id))


async def test_the_outbox_sends_each_officer_through_their_messenger() -> None:
    telegram, max_outbox = Recorder(), Recorder()
    outbox = MessengerOutbox(telegram, max_outbox)
    await outbox.text(123, "<b>Сводка</b>")
    await outbox.text(max_chat(123), "<b>Сводка</b>")
    await outbox.document(max_chat(9), "report.xlsx", b"x", "Отчёт")
    await outbox.photo(-1001, "chart.png", b"png")
    await outbox.text_with_button(max_chat(9), "Пакет", "Принято", "sg:1")
    assert telegram.calls == [("text", 123), ("photo", -1001)]
    # MAX's outbox gets the MAX user id, never the address.
    assert max_outbox.calls == [("text", 123), ("document", 9), ("button", 9)]
    alone = MessengerOutbox(telegram)
    with pytest.raises(DeliveryRefusedError):
        await alone.text(max_chat(123), "MAX is not configured")
    assert telegram.calls[-1] == ("photo", -1001)  # nothing went to Telegram instead


async def test_officers_get_texts_and_workbooks_as_files_in_max() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        client = MaxapiClient(TOKEN, emulator.base_url, retries=0)
        outbox = MaxOutbox(client)
        try:
            await outbox.text(501, "<b>Недельная сводка</b>")
            await outbox.document(501, "otklik-2026-11.xlsx", b"PK\x03\x04workbook", "Отчёт")
            await outbox.text_with_button(501, "Пакет отзывов", "Принято", "sg:7")
            emulator.block(502)
            with pytest.raises(DeliveryRefusedError) as blocked:
                await outbox.text(502, "Сводка")
        finally:
            await client.close()
    text, document, button = emulator.history(501)
    assert (text.text, text.format) == ("<b>Недельная сводка</b>", "html")
    [attachment] = document.attachments
    assert attachment["type"] == "file" and document.text == "Отчёт"
    name, data = emulator.uploads[attachment["payload"]["token"]]
    assert data == b"PK\x03\x04workbook" and name.startswith("otklik-2026-11.xlsx")
    assert [(b["text"], b["payload"]) for b in button.buttons] == [("Принято", "sg:7")]
    assert blocked.value.verdict == "blocked"


async def test_the_composition_sends_max_chats_through_max_when_max_has_a_token() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        settings = Settings(
            _env_file=None, max={"token": TOKEN, "api_base_url": emulator.base_url}
        )
        bot = Bot("123456:TEST")
        ports = messengers(settings, bot)
        try:
            await ports.send(max_chat(601), "Приглашение на опрос")
            await ports.outbox.text(max_chat(602), "<b>Сводка</b>")
        finally:
            await ports.close()
            await bot.session.close()
        without = messengers(Settings(_env_file=None), bot)
        with pytest.raises(DeliveryRefusedError):
            await without.send(max_chat(601), "no MAX here")
    assert [(m.user_id, m.text) for m in emulator.messages.values()] == [
        (601, "Приглашение на опрос"),
        (602, "<b>Сводка</b>"),
    ]
