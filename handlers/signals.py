"""The two buttons of the §3.3 signals: open the proposed extra poll, acknowledge a batch of
negative ratings. Officers only; every press gets one answer, stale and forged ones too."""

from __future__ import annotations

import logging
from html import escape
from typing import Annotated, Final, Literal

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from pydantic import Field

from handlers.texts import campaign_error_text, language_of
from questionnaires.campaigns import CampaignError
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from questionnaires.triggers import SIGNAL_ID_LENGTH
from services.reporting import ReportingService
from services.signals import (
    OPEN_ACTION,
    Outcome,
    PressResult,
    SignalService,
)

logger = logging.getLogger(__name__)

MAX_TEXT: Final = 4096


class SignalPress(CallbackData, prefix="sg"):
    """Parses the data services.signals.default_button_data packs on proposals and batches."""

    action: Literal["o", "a"]
    id: Annotated[
        str, Field(min_length=1, max_length=SIGNAL_ID_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")
    ]


_STALE: Final = N_("signals.stale")


async def is_officer(event: TelegramObject, reporting: ReportingService) -> bool:
    user: User | None = getattr(event, "from_user", None)
    return user is not None and reporting.is_officer(user.id)


async def has_signals(event: TelegramObject, signals: SignalService | None = None) -> bool:
    """Dispatchers built without the signals service (some tests) leave these presses to the
    inactive-button router."""
    return signals is not None


def setup() -> Router:
    router = Router(name="signals")
    router.callback_query.filter(is_officer)

    @router.callback_query(SignalPress.filter(), has_signals)
    async def on_press(
        query: CallbackQuery, callback_data: SignalPress, signals: SignalService
    ) -> None:
        language = language_of(query.from_user)
        if callback_data.action == OPEN_ACTION:
            await _open(query, callback_data.id, signals, language)
        else:
            await _acknowledge(query, callback_data.id, signals, language)

    return router


async def _open(
    query: CallbackQuery, proposal_id: str, signals: SignalService, language: Language
) -> None:
    try:
        result = await signals.open_proposed(proposal_id, query.from_user.id)
    except CampaignError as error:
        await query.answer(campaign_error_text(language, error), show_alert=True)
        return
    if result.outcome is Outcome.OPENED and result.window is not None:
        window = result.window
        url = signals.start_url(window.id)
        link = escape(url) if url else f"<code>/start {escape(window.start_payload)}</code>"
        await query.answer(tr(language, "signals.opened_short"))
        await _drop_button(query)
        if isinstance(query.message, Message):
            await query.message.answer(
                tr(
                    language,
                    "signals.running" if result.running else "signals.opened",
                    title=escape(window.title.get(language)),
                    day=f"{window.closes_on:%d.%m.%Y}",
                    link=link,
                )
            )
        return
    await query.answer(_refusal(result, language), show_alert=True)
    if result.outcome is not Outcome.NOT_YOURS:
        await _drop_button(query)


async def _acknowledge(
    query: CallbackQuery, batch_id: str, signals: SignalService, language: Language
) -> None:
    result = await signals.acknowledge(batch_id, query.from_user.id)
    if result.outcome is Outcome.ACKNOWLEDGED:
        key = N_("signals.acknowledged_late") if result.escalated else N_("signals.acknowledged")
        await query.answer(tr(language, key))
        message = query.message if isinstance(query.message, Message) else None
        text = f"{message.html_text}\n\n{tr(language, 'signals.noted_line')}" if message else ""
        if message is not None and message.html_text and len(text) <= MAX_TEXT:
            try:
                await message.edit_text(text, reply_markup=None)
                return
            except TelegramBadRequest as error:
                logger.info("Acknowledged batch not marked: %s", type(error).__name__)
        await _drop_button(query)
        return
    await query.answer(
        _refusal(result, language, stale=N_("signals.stale_batch")), show_alert=True
    )
    if result.outcome is not Outcome.NOT_YOURS:
        await _drop_button(query)


def _refusal(result: PressResult, language: Language, stale: str = _STALE) -> str:
    if result.outcome is Outcome.ALREADY_OPEN:
        day = f"{result.window.closes_on:%d.%m.%Y}" if result.window else "—"
        return tr(language, "signals.already_open", day=day)
    if result.outcome is Outcome.ALREADY_ACKNOWLEDGED:
        return tr(language, "signals.already_acknowledged")
    if result.outcome is Outcome.NOT_YOURS:
        return tr(language, "signals.not_yours")
    return tr(language, stale)


async def _drop_button(query: CallbackQuery) -> None:
    """A used or stale button goes away; a message Telegram no longer lets us edit keeps it."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest as error:
            logger.info("Signal button left in place: %s", type(error).__name__)
