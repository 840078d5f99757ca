"""Commands and inputs valid anywhere: /help, /cancel, unsupported content, stray text; the
private-chat gate and the one line groups get."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message

from handlers.dialog import FsmDialogState
from handlers.texts import language_of, tr
from questionnaires.schema import Language
from services.dialog import DialogService
from services.officer_languages import OfficerLanguages

PRIVATE_ONLY: Final = {language: tr(language, "bot.private_only") for language in Language}


def _chat_of(event: Message | CallbackQuery) -> Chat | None:
    if isinstance(event, Message):
        return event.chat
    return event.message.chat if event.message is not None else None


async def in_private_chat(event: Message | CallbackQuery) -> bool:
    """Every router of the bot sits behind this: groups and channels never reach a handler.

    A coroutine on purpose: aiogram runs a plain callable filter in a thread.
    """
    chat = _chat_of(event)
    return chat is not None and chat.type == ChatType.PRIVATE


def private_only(first: Router, *routers: Router) -> Router:
    """The routers behind the private-chat gate, in order.

    The first router is the gate itself: its handlers are asked first, as they would be as the
    gate's first child, and every update crosses one router level less (each level costs
    aiogram a middleware chain and a filter pass). Its own root filters, if any, would guard
    the others too, so it must have none.
    """
    for observer in (first.message, first.callback_query):
        if observer._handler.filters:
            raise ValueError(f"the gate router {first.name!r} must have no root filters")
        observer.filter(in_private_chat)
    first.include_routers(*routers)
    return first


def setup_elsewhere() -> Router:
    """Groups, supergroups and channels: one polite line to a command addressed to the bot,
    silence otherwise; a button pressed there is answered with the same line."""
    router = Router(name="elsewhere")

    async def is_group_command(message: Message) -> bool:
        # A channel is a broadcast medium: nothing is said there, not even the polite line.
        group = message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        return group and (message.text or "").startswith("/")

    @router.message(is_group_command)
    async def on_group_command(message: Message, bot: Bot) -> None:
        mention = (message.text or "").split(maxsplit=1)[0].partition("@")[2]
        if mention and mention.lower() != ((await bot.me()).username or "").lower():
            return  # a command for another bot in the same group
        await message.answer(PRIVATE_ONLY[language_of(message.from_user)])

    @router.message()
    async def on_group_message(message: Message) -> None:
        """Ordinary talk in a group is none of the bot's business."""

    @router.callback_query()
    async def on_group_press(query: CallbackQuery) -> None:
        await query.answer(PRIVATE_ONLY[language_of(query.from_user)], show_alert=True)

    return router


def setup() -> Router:
    router = Router(name="common")

    @router.message(Command("help"))
    async def on_help(message: Message, officer_languages: OfficerLanguages | None = None) -> None:
        language = language_of(message.from_user)
        text = tr(language, "bot.help")
        user = message.from_user
        if officer_languages is not None and user and officer_languages.is_officer(user.id):
            text += "\n\n" + tr(language, "officer.help_language")
        await message.answer(text)

    @router.message(Command("cancel"))
    async def on_cancel(message: Message, state: FSMContext, dialogs: DialogService) -> None:
        language = language_of(message.from_user)
        if await state.get_state() is None:
            await message.answer(tr(language, "bot.nothing_to_cancel"))
            return
        await dialogs.cancel(FsmDialogState(state))
        await message.answer(tr(language, "bot.cancelled"))

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
        await message.answer(tr(language_of(message.from_user), "bot.unknown_command"))

    @router.message(StateFilter(None), is_text)
    async def on_stray_text(message: Message) -> None:
        await message.answer(tr(language_of(message.from_user), "bot.no_dialog"))

    @router.message()
    async def on_unsupported(message: Message) -> None:
        # Stickers, photos, voice, files, locations…: nothing is downloaded or stored.
        await message.answer(tr(language_of(message.from_user), "bot.unsupported_content"))

    return router
