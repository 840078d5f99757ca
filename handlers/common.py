"""Commands and inputs valid anywhere: /help, /cancel, unsupported content, stray text."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from handlers.dialog import started_on
from handlers.texts import language_of, tr
from questionnaires.results import ResponseContext
from services.funnel import FunnelRecorder


def setup() -> Router:
    router = Router(name="common")

    @router.message(Command("help"))
    async def on_help(message: Message) -> None:
        await message.answer(tr(language_of(message.from_user), "help"))

    @router.message(Command("cancel"))
    async def on_cancel(message: Message, state: FSMContext, funnel: FunnelRecorder) -> None:
        language = language_of(message.from_user)
        if await state.get_state() is None:
            await message.answer(tr(language, "nothing_to_cancel"))
            return
        data = await state.get_data()
        await state.clear()
        progress = data.get("p")
        if progress and progress.get("cur"):
            funnel.cancelled(
                progress["qn"],
                ResponseContext(**progress["ctx"]),
                started_on(data),
                progress["cur"],
            )
        await message.answer(tr(language, "cancelled"))

    return router


def setup_fallback() -> Router:
    """Registered last: whatever no other handler took."""
    router = Router(name="fallback")

    async def is_text(message: Message) -> bool:
        return message.text is not None

    async def is_command(message: Message) -> bool:
        return (message.text or "").startswith("/")

    @router.message(is_command)
    async def on_unknown_command(message: Message) -> None:
        await message.answer(tr(language_of(message.from_user), "unknown_command"))

    @router.message(StateFilter(None), is_text)
    async def on_stray_text(message: Message) -> None:
        await message.answer(tr(language_of(message.from_user), "no_dialog"))

    @router.message()
    async def on_unsupported(message: Message) -> None:
        # Stickers, photos, voice, files, locations…: nothing is downloaded or stored.
        await message.answer(tr(language_of(message.from_user), "unsupported_content"))

    return router
