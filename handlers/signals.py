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


_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "opened": {
        Language.RU: "Внеплановый опрос «{title}» открыт до {day}. Приглашения уйдут в течение "
        "минуты. Ссылка: {link}",
        Language.EN: "The extra poll “{title}” is open until {day}. Invitations go out within a "
        "minute. Link: {link}",
    },
    "running": {
        Language.RU: "Опрос «{title}» уже идёт (до {day}): отдельный не нужен, предложение "
        "отмечено. Ссылка: {link}",
        Language.EN: "The poll “{title}” is running already (until {day}): no separate one is "
        "needed, the proposal is marked. Link: {link}",
    },
    "opened_short": {Language.RU: "Опрос открыт", Language.EN: "The poll is open"},
    "already_open": {
        Language.RU: "Опрос по этому предложению уже открыт (до {day}).",
        Language.EN: "The poll of this proposal is open already (until {day}).",
    },
    "stale": {
        Language.RU: "Предложение устарело: за новый период правило проверяется заново.",
        Language.EN: "This proposal is out of date: the rule is checked again for the new period.",
    },
    "stale_batch": {
        Language.RU: "Эта кнопка больше не действует.",
        Language.EN: "This button is no longer active.",
    },
    "not_yours": {
        Language.RU: "Эта кнопка предназначена другому ответственному.",
        Language.EN: "This button is meant for another officer.",
    },
    "acknowledged": {
        Language.RU: "Отмечено: принято к сведению.",
        Language.EN: "Noted: acknowledged.",
    },
    "acknowledged_late": {
        Language.RU: "Отмечено: принято к сведению. Пакет уже был передан на эскалацию.",
        Language.EN: "Noted: acknowledged. The batch had already been escalated.",
    },
    "already_acknowledged": {
        Language.RU: "Этот пакет уже отмечен как принятый к сведению.",
        Language.EN: "This batch was acknowledged already.",
    },
    "noted_line": {
        Language.RU: "✅ Принято к сведению",
        Language.EN: "✅ Acknowledged",
    },
}


def _t(language: Language, key: str, **values: object) -> str:
    text = _TEXTS[key][language]
    return text.format(**values) if values else text


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
        await query.answer(_t(language, "opened_short"))
        await _drop_button(query)
        if isinstance(query.message, Message):
            await query.message.answer(
                _t(
                    language,
                    "running" if result.running else "opened",
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
        key = "acknowledged_late" if result.escalated else "acknowledged"
        await query.answer(_t(language, key))
        message = query.message if isinstance(query.message, Message) else None
        text = f"{message.html_text}\n\n{_t(language, 'noted_line')}" if message else ""
        if message is not None and message.html_text and len(text) <= MAX_TEXT:
            try:
                await message.edit_text(text, reply_markup=None)
                return
            except TelegramBadRequest as error:
                logger.info("Acknowledged batch not marked: %s", type(error).__name__)
        await _drop_button(query)
        return
    await query.answer(_refusal(result, language, stale="stale_batch"), show_alert=True)
    if result.outcome is not Outcome.NOT_YOURS:
        await _drop_button(query)


def _refusal(result: PressResult, language: Language, stale: str = "stale") -> str:
    if result.outcome is Outcome.ALREADY_OPEN:
        day = f"{result.window.closes_on:%d.%m.%Y}" if result.window else "—"
        return _t(language, "already_open", day=day)
    if result.outcome is Outcome.ALREADY_ACKNOWLEDGED:
        return _t(language, "already_acknowledged")
    if result.outcome is Outcome.NOT_YOURS:
        return _t(language, "not_yours")
    return _t(language, stale)


async def _drop_button(query: CallbackQuery) -> None:
    """A used or stale button goes away; a message Telegram no longer lets us edit keeps it."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest as error:
            logger.info("Signal button left in place: %s", type(error).__name__)
