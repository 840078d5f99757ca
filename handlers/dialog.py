"""The rating dialog on Telegram: presses and typed text go to the dialog service, and the step
it returns is drawn as a message. What stays here is Telegram's: the FSM data as the service's
state port, the message that shows the step, and which message loses its buttons."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape
from typing import Any, NotRequired, cast

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User

from handlers.errors import is_not_modified
from handlers.texts import language_of, reason_text, tr, verdict_text
from handlers.views import Action, Press, View, question_view, thanks_view
from questionnaires import engine
from questionnaires.fronts import Front
from questionnaires.schema import Language
from services.dialog import Action as DialogAction
from services.dialog import (
    Back,
    DialogData,
    DialogService,
    Finished,
    Origin,
    Question,
    Refusal,
    Refused,
    Skip,
    Stale,
    Step,
)

logger = logging.getLogger(__name__)


class Dialog(StatesGroup):
    # One state for every question: the cursor lives in the engine's progress (FSM data).
    answering = State()


class TelegramDialogData(DialogData):
    """The FSM data of a dialog: the service's keys and Telegram's own beside them."""

    m: NotRequired[int]  # the message that shows the step (0 or missing: none known)


class FsmDialogState:
    """The dialog service's state port on aiogram's FSM data.

    Beside the service's keys the data keeps Telegram's own: "m", the id of the message that
    shows the step. A save within the same dialog keeps it; a new dialog starts without it.
    """

    def __init__(self, state: FSMContext) -> None:
        self._state = state
        # Whatever the FSM data holds; a dialog's is a TelegramDialogData (it has "p").
        self._loaded: dict[str, Any] = {}
        self._message_id = 0

    @property
    def message_id(self) -> int:
        """The message showing the step (0 when none is known): as loaded, or as remembered
        since; a clear keeps it, so a finished dialog's message can still lose its buttons."""
        return self._message_id

    async def load(self) -> DialogData | None:
        self._loaded = await self._state.get_data()
        self._message_id = int(self._loaded.get("m") or 0)
        return cast(TelegramDialogData, self._loaded) if self._loaded.get("p") else None

    async def save(self, data: DialogData) -> None:
        if self._loaded.get("p") and self._loaded.get("n") == data["n"]:
            merged = {**self._loaded, **data}
            await self._state.set_data(merged)
        else:
            # A new dialog. Gathered, the two writes join one group commit of the storage.
            merged = dict(data)
            self._message_id = 0
            await asyncio.gather(
                self._state.set_state(Dialog.answering), self._state.set_data(merged)
            )
        self._loaded = merged

    async def clear(self) -> None:
        await self._state.clear()
        self._loaded = {}

    async def remember_message(self, message_id: int) -> None:
        """The step is shown by this message now."""
        await self._state.update_data(m=message_id)
        self._loaded["m"] = self._message_id = message_id


async def is_answer_text(message: Message) -> bool:
    # An async filter: aiogram runs plain callables (magic filters) in a worker thread.
    # Commands are never answers: an unknown /command is explained by the fallback router.
    return message.text is not None and not message.text.startswith("/")


async def begin_dialog(
    message: Message, state: FSMContext, dialogs: DialogService, user: User, origin: Origin
) -> Refused | None:
    """Start a dialog (a rating, a poll window, initiative feedback) and show its first step;
    a refusal is returned for the caller to word."""
    language = language_of(user)
    port = FsmDialogState(state)
    step = await dialogs.start(port, user.id, language, origin, front=Front.TELEGRAM)
    if isinstance(step, Refused):
        return step
    if step.intro is not None:
        await message.answer(step.intro)
    sent = await message.answer(**_message_kwargs(question_view(step, language)))
    await port.remember_message(sent.message_id)
    return None


def refusal_text(language: Language, refused: Refused) -> str:
    """The words for a rating the guard refused or a window that refused the person."""
    if refused.refusal is Refusal.WINDOW and refused.verdict is not None:
        return verdict_text(language, refused.verdict)
    return tr(language, "bot.already_rated")


def _message_kwargs(view: View) -> dict[str, Any]:
    return {"text": view.text, "reply_markup": view.markup}


def setup() -> Router:
    router = Router(name="dialog")

    @router.callback_query(Press.filter())
    async def on_press(
        query: CallbackQuery,
        callback_data: Press,
        state: FSMContext,
        dialogs: DialogService,
        bot: Bot,
    ) -> None:
        language = language_of(query.from_user)
        port = FsmDialogState(state)
        step = await dialogs.press(
            port,
            query.from_user.id,
            language,
            callback_data.d,
            callback_data.t,
            _action(callback_data),
        )
        await _show_pressed(bot, query, port, step, language)

    @router.message(StateFilter(Dialog.answering), is_answer_text)
    async def on_text(
        message: Message, state: FSMContext, dialogs: DialogService, bot: Bot
    ) -> None:
        user = message.from_user
        assert user is not None
        language = language_of(user)
        port = FsmDialogState(state)
        step = await dialogs.text(port, user.id, language, message.text or "")
        await _show_typed(bot, message, port, step, language)

    return router


def _action(press: Press) -> DialogAction:
    """Callback data to the service's input."""
    action, value = press.a, press.v
    if action == Action.BACK:
        return Back()
    if action == Action.SKIP:
        return Skip()
    if action == Action.RATE:
        try:
            return engine.Rate(int(value))
        except ValueError:
            return engine.TextInput(value)
    if action == Action.CANNOT_RATE:
        return engine.CannotRate()
    if action == Action.TOGGLE:
        return engine.Toggle(value)
    if action == Action.DONE:
        return engine.Done()
    return engine.Choose(value)


def _end_view(step: Finished | Refused, language: Language) -> View:
    if isinstance(step, Refused):
        return View(refusal_text(language, step), None)
    if not step.offer_opt_in:
        # The "what will change" opt-in is for citizens; staff hear about changes inside the
        # body (issue 10, item 8).
        return View(escape(step.outro), None)
    return thanks_view(step.outro, language, step.news_service, step.news_service_title)


async def _show_pressed(
    bot: Bot, query: CallbackQuery, port: FsmDialogState, step: Step, language: Language
) -> None:
    """Answer the press and draw its step on the pressed message (the live step: nonce and
    turn matched, or a repeated press makes it the live one)."""
    if isinstance(step, Stale):
        # A repeat of a press handled before (a redelivery after a worker died) fails to
        # answer again: that loses nothing.
        await _answer(query, tr(language, "bot.stale_button"), alert=True)
        return
    if isinstance(step, Question) and step.rejection is not None:
        rejection = step.rejection
        await _answer(query, reason_text(language, rejection.reason, rejection.limit), alert=True)
        return
    live_id = port.message_id
    message_id = query.message.message_id if query.message else live_id
    chat_id = query.message.chat.id if query.message else query.from_user.id
    if isinstance(step, Question):
        # A repeated press (a double tap, a lost edit) is told it counted already, and the
        # current step is drawn on the pressed message, so the dialog goes on from there.
        await _answer(query, tr(language, "bot.already_counted") if step.repeated else None)
        new_id = await _edit_or_send(bot, chat_id, message_id, question_view(step, language))
        await _relocate(bot, port, chat_id, live_id, message_id, new_id)
        return
    if isinstance(step, Finished | Refused):
        await _answer(query)
        await _edit_or_send(bot, chat_id, message_id, _end_view(step, language))


async def _show_typed(
    bot: Bot, message: Message, port: FsmDialogState, step: Step, language: Language
) -> None:
    """After typed text the step is sent anew; the old message loses its buttons."""
    old_id = port.message_id
    if isinstance(step, Stale):
        await message.answer(tr(language, "bot.no_dialog"))
        return
    if isinstance(step, Finished | Refused):
        # Stored and forgotten: the old buttons can do nothing any more.
        await _drop_keyboard(bot, message.chat.id, old_id)
        await message.answer(**_message_kwargs(_end_view(step, language)))
        return
    if not isinstance(step, Question):
        return
    notice = None
    if step.rejection is not None:
        notice = reason_text(language, step.rejection.reason, step.rejection.limit)
    # Only one live keyboard remains. Sent first: if sending fails, the old buttons stay, and
    # a press on them redraws the current step.
    sent = await message.answer(**_message_kwargs(question_view(step, language, notice)))
    await port.remember_message(sent.message_id)
    await _drop_keyboard(bot, message.chat.id, old_id)


async def _answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the client's spinner. Failing that (after retries) loses nothing: the step is
    still drawn, and the client gives up waiting by itself."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramAPIError as error:
        logger.warning("A button press could not be answered: %s", type(error).__name__)


async def _relocate(
    bot: Bot, port: FsmDialogState, chat_id: int, live_id: int, pressed_id: int, new_id: int
) -> None:
    """Remember which message shows the step now; an earlier live one loses its buttons."""
    if new_id == live_id:
        return
    await port.remember_message(new_id)
    if live_id not in (pressed_id, new_id):
        await _drop_keyboard(bot, chat_id, live_id)


async def _edit_or_send(bot: Bot, chat_id: int, message_id: int, view: View) -> int:
    """Edit the dialog message in place; send a new one when it cannot be edited."""
    if message_id:
        try:
            await bot.edit_message_text(
                chat_id=chat_id, message_id=message_id, **_message_kwargs(view)
            )
            return message_id
        except TelegramBadRequest as error:
            if is_not_modified(error):
                return message_id  # a double tap: the screen already shows this step
            # Too old, deleted, not ours: the step goes out as a new message.
            logger.info("Dialog message could not be edited; sending anew")
    sent = await bot.send_message(chat_id=chat_id, **_message_kwargs(view))
    return sent.message_id


async def _drop_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    if not message_id:
        return
    # Already without buttons, or too old to edit: nothing to clean up then.
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
