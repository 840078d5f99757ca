"""The rating dialog: button presses and typed answers go to the engine, the step is redrawn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from datetime import date
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User

from handlers.errors import is_not_modified
from handlers.texts import language_of, reason_text, tr, verdict_text
from handlers.views import Action, Press, View, step_view, thanks_view
from questionnaires import engine
from questionnaires.campaigns import Verdict
from questionnaires.engine import Asked, Completed, Outcome, Progress, Rejected
from questionnaires.render import fill
from questionnaires.results import ResponseContext
from questionnaires.schema import Audience, Kind, Language, Questionnaire
from services.campaigns import CampaignService
from services.feedback import FeedbackService
from services.funnel import FunnelRecorder

logger = logging.getLogger(__name__)


class Dialog(StatesGroup):
    # One state for every question: the cursor lives in the engine's progress (FSM data).
    answering = State()


async def is_answer_text(message: Message) -> bool:
    # An async filter: aiogram runs plain callables (magic filters) in a worker thread.
    # Commands are never answers: an unknown /command is explained by the fallback router.
    return message.text is not None and not message.text.startswith("/")


async def begin_dialog(
    message: Message,
    state: FSMContext,
    feedback: FeedbackService,
    context: ResponseContext,
    user: User,
    funnel: FunnelRecorder,
    *,
    questionnaire: Questionnaire | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Start a dialog: the post-service rating for a context (from a deep link or the service
    picker), or the given questionnaire (a poll window, initiative feedback).

    `extra` goes into FSM data and says where the finished dialog is stored: "w" a window.
    """
    language = language_of(user)
    if questionnaire is None:
        if not await feedback.may_rate(user.id, context.service):
            await state.clear()
            await message.answer(tr(language, "bot.already_rated"))
            return
        outcome = feedback.start(context)
        questionnaire = feedback.questionnaire_for(outcome.progress)
    else:
        outcome = engine.start(questionnaire, context)
    titles = feedback.titles(context, language)
    intro = questionnaire.intro
    if intro is not None:
        await message.answer(fill(intro, language, titles))
    assert isinstance(outcome, Asked), "a questionnaire always has a first question"
    nonce = secrets.token_hex(3)
    today = feedback.today()
    # Durable before shown: the buttons of a message always find their dialog. Gathered, the
    # two writes join one group commit of the storage.
    await asyncio.gather(
        state.set_state(Dialog.answering),
        state.set_data(
            {**(extra or {}), "p": outcome.progress, "n": nonce, "d": today.isoformat()}
        ),
    )
    funnel.started(questionnaire.id, context, outcome.question.id, today)
    view = step_view(questionnaire, outcome, nonce, language, titles)
    sent = await message.answer(**_message_kwargs(view))
    await state.update_data(m=sent.message_id)


def _message_kwargs(view: View) -> dict[str, Any]:
    return {"text": view.text, "reply_markup": view.markup}


def setup() -> Router:
    router = Router(name="dialog")

    @router.callback_query(Press.filter())
    async def on_press(
        query: CallbackQuery,
        callback_data: Press,
        state: FSMContext,
        feedback: FeedbackService,
        campaigns: CampaignService,
        funnel: FunnelRecorder,
        bot: Bot,
    ) -> None:
        language = language_of(query.from_user)
        data = await state.get_data()
        progress = data.get("p")
        if not progress or data.get("n") != callback_data.d:
            await query.answer(tr(language, "bot.stale_button"), show_alert=True)
            return
        message_id = query.message.message_id if query.message else int(data.get("m") or 0)
        chat_id = query.message.chat.id if query.message else query.from_user.id
        if progress.get("turn") != callback_data.t:
            # A double tap, a press on an older step of this dialog, or on a message whose
            # edit never happened (a Telegram fault, a crash after the state was saved): the
            # current step is drawn on the pressed message, so the dialog goes on from there.
            await _answer(query, tr(language, "bot.already_counted"))
            await _redraw(bot, feedback, data, chat_id, message_id, language, state)
            return
        questionnaire = feedback.questionnaire_for(progress)
        action, value = callback_data.a, callback_data.v
        outcome: Outcome
        if action == Action.BACK:
            outcome = engine.back(questionnaire, progress)
        elif action == Action.SKIP:
            outcome = engine.skip(questionnaire, progress)
        else:
            outcome = engine.answer(questionnaire, progress, _press_input(action, value))
        # The pressed message is the live step (nonce and turn matched), so edit that one.
        if isinstance(outcome, Rejected):
            await _answer(query, reason_text(language, outcome.reason, outcome.limit), alert=True)
            return
        if isinstance(outcome, Completed):
            view = await _complete(
                outcome, data, state, feedback, campaigns, query.from_user, language, funnel
            )
            await _answer(query)
            await _edit_or_send(bot, chat_id, message_id, view)
            return
        await state.set_data({**data, "p": outcome.progress})
        track_move(funnel, data, progress, outcome.progress)
        await _answer(query)
        titles = feedback.titles(ResponseContext(**outcome.progress["ctx"]), language)
        view = step_view(questionnaire, outcome, data["n"], language, titles)
        new_id = await _edit_or_send(bot, chat_id, message_id, view)
        await _relocate(bot, state, data, chat_id, message_id, new_id)

    @router.message(StateFilter(Dialog.answering), is_answer_text)
    async def on_text(
        message: Message,
        state: FSMContext,
        feedback: FeedbackService,
        campaigns: CampaignService,
        funnel: FunnelRecorder,
        bot: Bot,
    ) -> None:
        user = message.from_user
        assert user is not None
        language = language_of(user)
        data = await state.get_data()
        progress = data["p"]
        questionnaire = feedback.questionnaire_for(progress)
        outcome = engine.answer(questionnaire, progress, engine.TextInput(message.text or ""))
        titles = feedback.titles(ResponseContext(**progress["ctx"]), language)
        old_id = int(data.get("m") or 0)
        if isinstance(outcome, Completed):
            view = await _complete(
                outcome, data, state, feedback, campaigns, user, language, funnel
            )
            # Stored and forgotten: the old buttons can do nothing any more.
            await _drop_keyboard(bot, message.chat.id, old_id)
            await message.answer(**_message_kwargs(view))
            return
        notice = None
        if isinstance(outcome, Rejected):
            notice = reason_text(language, outcome.reason, outcome.limit)
            outcome = outcome.asked
        else:
            await state.set_data({**data, "p": outcome.progress})
            track_move(funnel, data, progress, outcome.progress)
        # The person typed below our message, so the step is sent anew; the old one loses
        # its buttons so that only one live keyboard remains. Sent first: if sending fails,
        # the old buttons stay, and a press on them redraws the current step.
        view = step_view(questionnaire, outcome, data["n"], language, titles, notice)
        sent = await message.answer(**_message_kwargs(view))
        await state.update_data(m=sent.message_id)
        await _drop_keyboard(bot, message.chat.id, old_id)

    return router


async def _answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the client's spinner. Failing that (after retries) loses nothing: the step is
    still drawn, and the client gives up waiting by itself."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramAPIError as error:
        logger.warning("A button press could not be answered: %s", type(error).__name__)


async def _redraw(
    bot: Bot,
    feedback: FeedbackService,
    data: Mapping[str, Any],
    chat_id: int,
    message_id: int,
    language: Language,
    state: FSMContext,
) -> None:
    """Draw the step the dialog waits for on the pressed message; it becomes the live one."""
    progress = data["p"]
    questionnaire = feedback.questionnaire_for(progress)
    asked = engine.current(questionnaire, progress)
    titles = feedback.titles(ResponseContext(**progress["ctx"]), language)
    view = step_view(questionnaire, asked, data["n"], language, titles)
    new_id = await _edit_or_send(bot, chat_id, message_id, view)
    await _relocate(bot, state, data, chat_id, message_id, new_id)


async def _relocate(
    bot: Bot,
    state: FSMContext,
    data: Mapping[str, Any],
    chat_id: int,
    pressed_id: int,
    new_id: int,
) -> None:
    """Remember which message shows the step now; an earlier live one loses its buttons."""
    live_id = int(data.get("m") or 0)
    if new_id == live_id:
        return
    await state.update_data(m=new_id)
    if live_id not in (pressed_id, new_id):
        await _drop_keyboard(bot, chat_id, live_id)


def _press_input(action: str, value: str) -> engine.Input:
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


async def _complete(
    outcome: Completed,
    data: Mapping[str, Any],
    state: FSMContext,
    feedback: FeedbackService,
    campaigns: CampaignService,
    user: User,
    language: Language,
    funnel: FunnelRecorder,
) -> View:
    """Store the response where the dialog belongs, then forget the dialog; a failure keeps
    it for a retry."""
    last_question = data["p"]["cur"]
    window_id = data.get("w")
    if window_id is not None:
        verdict = await campaigns.store_answer(int(window_id), user.id, outcome)
        await state.clear()
        if verdict is not Verdict.OK:
            _track_refused(funnel, data, outcome, last_question)
            return View(verdict_text(language, verdict), None)
        _track_end(funnel, data, outcome, last_question)
    else:
        department = None
        if data.get("k") == Kind.INITIATIVE:
            # Staff feedback carries the member's department (only while enough staff are
            # enrolled in it to show it), never who the member is.
            department = await campaigns.reported_department(user.id)
        saved = await feedback.complete(outcome, person=user.id, department=department)
        await state.clear()
        if not saved:
            _track_refused(funnel, data, outcome, last_question)
            return View(tr(language, "bot.already_rated"), None)
        _track_end(funnel, data, outcome, last_question)
    titles = feedback.titles(outcome.context, language)
    outro = fill(outcome.questionnaire.outro, language, titles)
    if outcome.questionnaire.audience != Audience.EXTERNAL:
        # The "what will change" opt-in is for citizens; staff (the staff poll, /feedback)
        # hear about changes inside the body (issue 10, item 8).
        return View(escape(outro), None)
    return thanks_view(outro, language)


def started_on(data: Mapping[str, Any]) -> date:
    """The day the dialog started (its funnel counters are kept by that day)."""
    try:
        return date.fromisoformat(str(data["d"]))
    except (KeyError, ValueError):
        return date.min  # a dialog saved before this was recorded: counted apart, not lost


def track_move(
    funnel: FunnelRecorder, data: Mapping[str, Any], before: Progress, after: Progress
) -> None:
    funnel.moved(
        before["qn"],
        ResponseContext(**before["ctx"]),
        started_on(data),
        before["cur"],
        after["cur"],
    )


def _track_end(
    funnel: FunnelRecorder, data: Mapping[str, Any], outcome: Completed, last_question: str
) -> None:
    funnel.completed(outcome.questionnaire.id, outcome.context, started_on(data), last_question)


def _track_refused(
    funnel: FunnelRecorder, data: Mapping[str, Any], outcome: Completed, last_question: str
) -> None:
    # Finished but not stored (a repeat, a closed window): not a quit at the last question.
    funnel.cancelled(outcome.questionnaire.id, outcome.context, started_on(data), last_question)


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
