"""/comments: an officer reviews the comments of a closed period by category and re-tags them.

The list is the one the report shows (masked, alphabetical, only when the report may show
comments). Buttons carry the list's random token and a place in the alphabetical list: neither
an answer id nor anything that follows the order answers came in.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Annotated, Final

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.officer import is_officer
from handlers.texts import language_of
from questionnaires.i18n import N_, tr
from questionnaires.open_answers import OTHER
from questionnaires.schema import Language
from reports.model import Scope
from reports.open_answers_output import render_counts, render_tally
from services.feedback import FeedbackService
from services.officer_commands import ALL_SERVICES, PERIOD_KINDS, PERIODS, period_for, review
from services.open_answers import OpenAnswersService, Refusal, Shown
from services.reporting import ReportingService

logger = logging.getLogger(__name__)

MAX_PLACE: Final = 10_000
_KINDS: Final = PERIOD_KINDS


class CommentsPeriod(CallbackData, prefix="oap"):
    period: Annotated[str, Field(min_length=1, max_length=1)]
    service: Annotated[str, Field(max_length=48)] = ""


class TopicsPeriod(CallbackData, prefix="oat"):
    period: Annotated[str, Field(min_length=1, max_length=1)]


class CommentPress(CallbackData, prefix="oa"):
    """A button of one comment: list token, place in the list, action, category."""

    token: Annotated[str, Field(min_length=8, max_length=8)]
    place: Annotated[int, Field(ge=0, le=MAX_PLACE)]
    action: Annotated[str, Field(pattern=r"^[tgr]$")]  # toggle, go to, reset
    category: Annotated[str, Field(max_length=32)] = ""


def _page(shown: Shown, service: OpenAnswersService, language: Language) -> str:
    listing = shown.listing
    titles = [escape(service.categoriser.title(c, language)) for c in shown.categories]
    number = tr(language, "comments.comment", i=shown.index + 1, n=len(listing.comments))
    lines = [
        f"<b>{escape(number)}</b> · {listing.period}",
        "",
        escape(shown.comment.text),
        "",
        f"{escape(tr(language, 'comments.categories'))}: {', '.join(titles)}"
        + (f" {escape(tr(language, 'comments.retagged'))}" if shown.retagged else ""),
        escape(tr(language, "comments.hint")),
    ]
    return "\n".join(lines)


def _keyboard(
    shown: Shown, service: OpenAnswersService, language: Language
) -> InlineKeyboardMarkup:
    token, place = shown.listing.token, shown.index
    builder = InlineKeyboardBuilder()
    for category in service.categoriser.ids:
        if category == OTHER:
            continue
        mark = "✓ " if category in shown.categories else ""
        builder.button(
            text=mark + service.categoriser.title(category, language),
            callback_data=CommentPress(token=token, place=place, action="t", category=category),
        )
    real = len(service.categoriser.ids) - 1  # every category but «Прочее»
    sizes = [2] * (real // 2) + [1] * (real % 2)  # navigation keeps a row of its own
    last = len(shown.listing.comments) - 1
    navigation = 0
    if place > 0:
        builder.button(
            text="◀", callback_data=CommentPress(token=token, place=place - 1, action="g")
        )
        navigation += 1
    if shown.retagged:
        builder.button(
            text=tr(language, "comments.reset"),
            callback_data=CommentPress(token=token, place=place, action="r"),
        )
        navigation += 1
    if place < last:
        builder.button(
            text="▶", callback_data=CommentPress(token=token, place=place + 1, action="g")
        )
        navigation += 1
    builder.adjust(*sizes, navigation or 1)
    return builder.as_markup()


def _services_keyboard(
    reporting: ReportingService, officer: int, period: str, language: Language
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    services = reporting.services_of(officer)
    if len(services) == len(reporting.catalog.services):
        builder.button(
            text=tr(language, "comments.all_services"),
            callback_data=CommentsPeriod(period=period, service=ALL_SERVICES),
        )
    for entry in services:
        builder.button(
            text=entry.title.get(language),
            callback_data=CommentsPeriod(period=period, service=entry.code),
        )
    builder.adjust(1)
    return builder.as_markup()


REFUSALS: Final = {
    Refusal.STALE: N_("comments.stale"),
    Refusal.FORBIDDEN: N_("comments.forbidden"),
    Refusal.GONE: N_("comments.gone"),
    Refusal.UNKNOWN_CATEGORY: N_("comments.stale"),
}


def _periods_keyboard(
    reporting: ReportingService,
    press: type[CommentsPeriod] | type[TopicsPeriod],
    language: Language,
) -> InlineKeyboardMarkup:
    """The closed periods the disclosure policy offers, two buttons a row."""
    kinds = reporting.period_kinds()
    builder = InlineKeyboardBuilder()
    for code, key in PERIODS.items():
        if _KINDS[code] in kinds:
            builder.button(text=tr(language, key), callback_data=press(period=code))
    builder.adjust(2)
    return builder.as_markup()


def setup() -> Router:
    router = Router(name="open_answers")
    router.message.filter(is_officer)
    router.callback_query.filter(is_officer)

    @router.message(Command("comments"))
    async def on_command(message: Message, reporting: ReportingService) -> None:
        language = language_of(message.from_user)
        markup = _periods_keyboard(reporting, CommentsPeriod, language)
        await message.answer(tr(language, "comments.choose_period"), reply_markup=markup)

    @router.callback_query(CommentsPeriod.filter())
    async def on_period(
        query: CallbackQuery,
        callback_data: CommentsPeriod,
        reporting: ReportingService,
        feedback: FeedbackService,
        open_answers: OpenAnswersService,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        code = callback_data.period
        if not isinstance(message, Message) or _KINDS.get(code) not in reporting.period_kinds():
            await query.answer(tr(language, "comments.stale"), show_alert=True)
            return
        officer = query.from_user.id
        if not callback_data.service:
            await query.answer()
            await message.edit_text(
                tr(language, "comments.choose_service"),
                reply_markup=_services_keyboard(reporting, officer, code, language),
            )
            return
        service = None if callback_data.service == ALL_SERVICES else callback_data.service
        scope = Scope(service=service)
        if not reporting.may_see(officer, scope):
            await query.answer(tr(language, "comments.forbidden"), show_alert=True)
            return
        await query.answer()
        period = period_for(code, feedback.today())
        shown = await review(reporting, open_answers, officer, period, scope, language)
        title = escape(reporting.default_title(scope, language))
        await message.edit_text(f"{title}\n\n{render_counts(shown.counts, language)}")
        if shown.first is None:
            await message.answer(tr(language, "comments.none"))
            return
        await _draw(message, shown.first, open_answers, language, new=True)

    @router.callback_query(CommentPress.filter())
    async def on_press(
        query: CallbackQuery,
        callback_data: CommentPress,
        open_answers: OpenAnswersService,
    ) -> None:
        language = language_of(query.from_user)
        officer = query.from_user.id
        token, place = callback_data.token, callback_data.place
        if callback_data.action == "t":
            shown = await open_answers.toggle(officer, token, place, callback_data.category)
        elif callback_data.action == "r":
            shown = await open_answers.reset(officer, token, place)
        else:
            shown = await open_answers.show(officer, token, place)
        if isinstance(shown, Refusal):
            await query.answer(tr(language, REFUSALS[shown]), show_alert=True)
            return
        changed = callback_data.action in ("t", "r")
        await query.answer(tr(language, "comments.saved") if changed else None)
        if isinstance(query.message, Message):
            await _draw(query.message, shown, open_answers, language, new=False)

    return router


async def _draw(
    message: Message,
    shown: Shown | Refusal,
    service: OpenAnswersService,
    language: Language,
    *,
    new: bool,
) -> None:
    if isinstance(shown, Refusal):
        await message.answer(tr(language, REFUSALS[shown]))
        return
    text, keyboard = _page(shown, service, language), _keyboard(shown, service, language)
    if new:
        await message.answer(text, reply_markup=keyboard)
    else:
        await message.edit_text(text, reply_markup=keyboard)


async def is_internal_officer(
    event: TelegramObject, open_answers: OpenAnswersService | None = None
) -> bool:
    user: User | None = getattr(event, "from_user", None)
    return (
        user is not None and open_answers is not None and user.id in open_answers.internal_officers
    )


def setup_internal() -> Router:
    """/topics: the internal officer's tally of staff initiative feedback (Procedure §4.4)."""
    router = Router(name="open_answers_internal")
    router.message.filter(is_internal_officer)
    router.callback_query.filter(is_internal_officer)

    @router.message(Command("topics"))
    async def on_command(message: Message, reporting: ReportingService) -> None:
        language = language_of(message.from_user)
        markup = _periods_keyboard(reporting, TopicsPeriod, language)
        await message.answer(tr(language, "comments.topics_period"), reply_markup=markup)

    @router.callback_query(TopicsPeriod.filter())
    async def on_period(
        query: CallbackQuery,
        callback_data: TopicsPeriod,
        reporting: ReportingService,
        feedback: FeedbackService,
        open_answers: OpenAnswersService,
    ) -> None:
        language = language_of(query.from_user)
        code = callback_data.period
        if (
            not isinstance(query.message, Message)
            or _KINDS.get(code) not in reporting.period_kinds()
        ):
            await query.answer(tr(language, "comments.stale"), show_alert=True)
            return
        await query.answer()
        tally = await open_answers.initiative_tally(period_for(code, feedback.today()), language)
        await query.message.edit_text(
            render_tally(tally, reporting.disclosure.min_group, language)
        )

    return router
