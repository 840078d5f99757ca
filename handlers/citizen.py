"""Entry points for citizens: /start with or without a deep link, the service picker, opt-in."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from handlers.dialog import begin_dialog, refusal_text
from handlers.texts import language_of, tr
from handlers.views import (
    OPT_IN_NO,
    OPT_IN_YES,
    NewsStopPress,
    OptInPress,
    Pick,
    ServiceNewsPress,
    picker_view,
)
from questionnaires.results import ResponseContext
from services.dialog import DialogService, Rating
from services.feedback import FeedbackService

logger = logging.getLogger(__name__)


def _internal(feedback: FeedbackService, context: ResponseContext | None) -> bool:
    service = feedback.catalog.service(context.service) if context and context.service else None
    return service is not None and service.internal


def _without(
    markup: InlineKeyboardMarkup | None, pressed: set[str]
) -> InlineKeyboardMarkup | None:
    """The keyboard without the rows of the pressed buttons (None when nothing is left)."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(button.callback_data in pressed for button in row)
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def setup() -> Router:
    router = Router(name="citizen")

    @router.message(CommandStart())
    async def on_start(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        feedback: FeedbackService,
        dialogs: DialogService,
    ) -> None:
        user = message.from_user
        assert user is not None
        language = language_of(user)
        payload = (command.args or "").strip()
        context = feedback.context_from_link(payload) if payload else None
        if _internal(feedback, context):
            # Internal processes are rated by staff in staff polls (Procedure §2.2b, §4).
            await state.clear()
            view = picker_view(
                feedback.citizen_services(), 0, language, tr(language, "bot.internal_service")
            )
            await message.answer(view.text, reply_markup=view.markup)
            return
        if context is not None:
            # A new dialog replaces the one the person had.
            refused = await begin_dialog(message, state, dialogs, user, Rating(context))
            if refused is not None:
                await message.answer(refusal_text(language, refused))
            return
        if payload:
            # Only the fact is logged: the payload could be anything a person typed.
            logger.info("Unknown deep-link payload (%d characters)", len(payload))
        await state.clear()
        intro = tr(language, "bot.unknown_link" if payload else "bot.welcome")
        view = picker_view(feedback.citizen_services(), 0, language, intro)
        await message.answer(view.text, reply_markup=view.markup)

    @router.callback_query(Pick.filter())
    async def on_pick(
        query: CallbackQuery,
        callback_data: Pick,
        state: FSMContext,
        feedback: FeedbackService,
        dialogs: DialogService,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if not isinstance(message, Message):
            await query.answer(tr(language, "bot.stale_button"), show_alert=True)
            return
        if not callback_data.service:
            view = picker_view(
                feedback.citizen_services(), callback_data.page, language, message.text or ""
            )
            await query.answer()
            if view.markup != message.reply_markup:
                await message.edit_reply_markup(reply_markup=view.markup)
            return
        context = feedback.context_for_service(callback_data.service)
        if context is None:
            await query.answer(tr(language, "bot.stale_button"), show_alert=True)
            return
        await query.answer()
        title = feedback.titles(context, language)["service"] or callback_data.service
        await message.edit_text(tr(language, "bot.service_chosen", service=title))
        refused = await begin_dialog(message, state, dialogs, query.from_user, Rating(context))
        if refused is not None:
            await message.answer(refusal_text(language, refused))

    @router.callback_query(OptInPress.filter())
    async def on_opt_in(
        query: CallbackQuery, callback_data: OptInPress, feedback: FeedbackService
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if callback_data.yes:
            # The chat id goes to the subscribers table only, which has no link to answers.
            await feedback.opt_in(message.chat.id if message else query.from_user.id)
        await query.answer()
        if isinstance(message, Message):
            # The rated service's own news button, if any, stays: it is a choice of its own.
            await message.edit_reply_markup(
                reply_markup=_without(message.reply_markup, {OPT_IN_YES, OPT_IN_NO})
            )
            await message.answer(
                tr(language, "bot.optin_saved" if callback_data.yes else "bot.optin_declined")
            )

    @router.callback_query(ServiceNewsPress.filter())
    async def on_service_news(
        query: CallbackQuery, callback_data: ServiceNewsPress, feedback: FeedbackService
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        chat_id = message.chat.id if message else query.from_user.id
        # Only the chat and the service code are kept (the month, in a shuffled batch):
        # nothing of the response this button followed.
        if not await feedback.subscribe_service(chat_id, callback_data.service):
            await query.answer(tr(language, "bot.stale_button"), show_alert=True)
            return
        await query.answer()
        if isinstance(message, Message):
            await message.edit_reply_markup(
                reply_markup=_without(message.reply_markup, {query.data or ""})
            )
            await message.answer(tr(language, "bot.news_service_saved"))

    @router.callback_query(NewsStopPress.filter())
    async def on_news_stop(query: CallbackQuery, feedback: FeedbackService) -> None:
        language = language_of(query.from_user)
        message = query.message
        await feedback.stop_news(message.chat.id if message else query.from_user.id)
        await query.answer(tr(language, "bot.news_stopped"), show_alert=True)
        if isinstance(message, Message) and message.reply_markup is not None:
            # A news message may be older than Telegram lets us edit: the button stays, and
            # pressing it again changes nothing.
            try:
                await message.edit_reply_markup(reply_markup=None)
            except TelegramBadRequest as error:
                logger.info("News button left in place: %s", type(error).__name__)

    @router.message(Command("stop"))
    async def on_stop(message: Message, feedback: FeedbackService) -> None:
        await feedback.opt_out(message.chat.id)
        await message.answer(tr(language_of(message.from_user), "bot.stopped"))

    return router
