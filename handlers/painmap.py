"""The pain map for officers: `/pains`, a pain's card, measures by buttons, the sheet sent back.

Officers only (a service's officer sees her services' pains, body-wide officers every process);
anyone else's /pains falls through to "unknown command". Every press is answered once; a press
on a pain or measure that is gone, or not this officer's, is answered "no longer active".
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from datetime import date
from html import escape
from typing import Annotated, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Document, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.officer import is_officer
from handlers.texts import language_of
from questionnaires.i18n import tr
from reports.painmap_import import BadHeader, NotAPainMap, is_pain_map
from services.painmap import (
    MeasureError,
    PainMapService,
    PainView,
    SheetImport,
    check_responsible,
    check_text,
    draft_key,
    parse_deadline,
)
from services.painmap_text import LISTED, MAX_SHEET_BYTES, STATUS_CODES, PainMapText
from services.reporting import ReportingService

logger = logging.getLogger(__name__)

_HEX = r"^[0-9a-f]{32}$"


def _words(user: User | None) -> PainMapText:
    """The pain map's texts for this officer, as Telegram's HTML."""
    return PainMapText(language_of(user))


def _t(user: User | None, key: str, **values: object) -> str:
    return tr(language_of(user), key, **values)


class PainPress(CallbackData, prefix="pn"):
    pain: Annotated[str, Field(pattern=_HEX)]


class PainList(CallbackData, prefix="pnl"):
    pass


class MeasureAdd(CallbackData, prefix="pma"):
    pain: Annotated[str, Field(pattern=_HEX)]


class MeasurePick(CallbackData, prefix="pmp"):
    measure: Annotated[str, Field(pattern=_HEX)]


class MeasureSet(CallbackData, prefix="pms"):
    measure: Annotated[str, Field(pattern=_HEX)]
    status: Literal["p", "i", "d", "x"]


class NewMeasureInput(StatesGroup):
    text = State()
    responsible = State()
    deadline = State()


def status_title(user: User | None, status: str) -> str:
    return _words(user).status_title(status)


def render_card(user: User | None, view: PainView, today: date) -> str:
    return _words(user).card(view, today)


def card_keyboard(user: User | None, view: PainView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_t(user, "painmap.add"), callback_data=MeasureAdd(pain=view.pain.id))
    for measure in view.measures:
        builder.button(
            text=_words(user).status_of_label(measure),
            callback_data=MeasurePick(measure=measure.id),
        )
    builder.button(text=_t(user, "painmap.back"), callback_data=PainList())
    builder.adjust(1)
    return builder.as_markup()


async def _list(user: User | None, painmap: PainMapService) -> tuple[str, InlineKeyboardMarkup]:
    views = await painmap.pains_for(user.id if user else 0)
    words = _words(user)
    builder = InlineKeyboardBuilder()
    for view in views[:LISTED]:
        builder.button(text=words.list_label(view), callback_data=PainPress(pain=view.pain.id))
    builder.adjust(1)
    return words.list_text(views), builder.as_markup()


def describe_import(user: User | None, result: SheetImport) -> str:
    return _words(user).describe_import(result)


async def pain_map_file(
    message: Message, bot: Bot, reporting: ReportingService, painmap: PainMapService | None = None
) -> bool | dict[str, bytes]:
    """An officer's XLSX carrying the pain map sheet: read once here and handed on; any other
    file is left to the appeals register handler."""
    document: Document | None = message.document
    user = message.from_user
    if painmap is None or document is None or user is None or not reporting.is_officer(user.id):
        return False
    if not (document.file_name or "").lower().endswith(".xlsx"):
        return False
    if document.file_size is not None and document.file_size > MAX_SHEET_BYTES:
        return False
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    data = buffer.getvalue()
    # Opening a workbook takes a while: people keep being answered meanwhile.
    return {"pain_map_data": data} if await asyncio.to_thread(is_pain_map, data) else False


def setup() -> Router:
    """/pains, the card's buttons and the sheet sent back (asked before the appeals router)."""
    router = Router(name="painmap")
    router.message.filter(is_officer)
    router.callback_query.filter(is_officer)

    @router.message(Command("pains"))
    async def on_command(message: Message, painmap: PainMapService | None = None) -> None:
        if painmap is None:
            return
        text, markup = await _list(message.from_user, painmap)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(PainList.filter())
    async def on_list(query: CallbackQuery, painmap: PainMapService | None = None) -> None:
        message = query.message
        if painmap is None or not isinstance(message, Message):
            await query.answer(_t(query.from_user, "painmap.stale"), show_alert=True)
            return
        await query.answer()
        text, markup = await _list(query.from_user, painmap)
        await message.edit_text(text, reply_markup=markup)

    @router.callback_query(PainPress.filter())
    async def on_pain(
        query: CallbackQuery, callback_data: PainPress, painmap: PainMapService | None = None
    ) -> None:
        await _show(query, callback_data.pain, painmap)

    @router.callback_query(MeasureAdd.filter())
    async def on_add(
        query: CallbackQuery,
        callback_data: MeasureAdd,
        state: FSMContext,
        painmap: PainMapService | None = None,
    ) -> None:
        user = query.from_user
        view = await painmap.card(user.id, callback_data.pain) if painmap else None
        if view is None or not isinstance(query.message, Message):
            await query.answer(_t(user, "painmap.stale"), show_alert=True)
            return
        current = await state.get_state()
        if current is not None and current not in NewMeasureInput.__all_states_names__:
            # A poll the officer is answering as a person keeps its place.
            await query.answer(_t(user, "painmap.busy"), show_alert=True)
            return
        await query.answer()
        await state.set_state(NewMeasureInput.text)
        # The measure's id is chosen now: the last step sent again stores it once.
        await state.set_data({"pain": view.pain.id, "key": draft_key()})
        await query.message.answer(_t(user, "painmap.ask_text"))

    @router.callback_query(MeasurePick.filter())
    async def on_pick(
        query: CallbackQuery, callback_data: MeasurePick, painmap: PainMapService | None = None
    ) -> None:
        user = query.from_user
        measure = await painmap.measure_for(user.id, callback_data.measure) if painmap else None
        if measure is None or not isinstance(query.message, Message):
            await query.answer(_t(user, "painmap.stale"), show_alert=True)
            return
        await query.answer()
        words = _words(user)
        builder = InlineKeyboardBuilder()
        for code, status in STATUS_CODES.items():
            builder.button(
                text=words.status_label(measure, status),
                callback_data=MeasureSet(measure=measure.id, status=code),
            )
        builder.button(
            text=_t(user, "painmap.back"), callback_data=PainPress(pain=measure.pain_id)
        )
        builder.adjust(2)
        await query.message.edit_text(
            words.choose_status(measure), reply_markup=builder.as_markup()
        )

    @router.callback_query(MeasureSet.filter())
    async def on_set(
        query: CallbackQuery, callback_data: MeasureSet, painmap: PainMapService | None = None
    ) -> None:
        user = query.from_user
        status = STATUS_CODES[callback_data.status]
        changed = (
            await painmap.set_status(user.id, callback_data.measure, status) if painmap else None
        )
        if changed is None or painmap is None:
            await query.answer(_t(user, "painmap.stale"), show_alert=True)
            return
        await _show(query, changed.pain_id, painmap, note=_t(user, "painmap.status_saved"))

    @router.message(F.document, pain_map_file)
    async def on_sheet(message: Message, pain_map_data: bytes, painmap: PainMapService) -> None:
        user = message.from_user
        try:
            result = await painmap.import_sheet(user.id if user else 0, pain_map_data)
        except BadHeader as refused:  # renamed, deleted or mixed headers
            await message.answer(
                _t(
                    user,
                    "painmap.sheet_header",
                    sheet=escape(refused.sheet),
                    columns=escape(refused.names()),
                )
            )
            return
        except NotAPainMap:  # the sheet was checked by the filter; only a race gets here
            await message.answer(_t(user, "painmap.sheet_bad", count=1))
            return
        await message.answer(describe_import(user, result))

    return router


async def _show(
    query: CallbackQuery, pain_id: str, painmap: PainMapService | None, note: str | None = None
) -> None:
    user = query.from_user
    view = await painmap.card(user.id, pain_id) if painmap else None
    if view is None or painmap is None or not isinstance(query.message, Message):
        await query.answer(_t(user, "painmap.stale"), show_alert=True)
        return
    await query.answer(note)
    await query.message.edit_text(
        render_card(user, view, painmap.today()), reply_markup=card_keyboard(user, view)
    )


def setup_input() -> Router:
    """The typed steps of a new measure, with their own /cancel: asked before the common
    router, whose /cancel speaks of polls."""
    router = Router(name="painmap-input")
    router.message.filter(StateFilter(NewMeasureInput), is_officer)

    @router.message(Command("cancel"))
    async def on_cancel(message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer(_t(message.from_user, "painmap.cancelled"))

    async def typed(message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")

    @router.message(NewMeasureInput.text, typed)
    async def on_text(message: Message, state: FSMContext) -> None:
        if await _accept(message, state, "text", check_text):
            await state.set_state(NewMeasureInput.responsible)
            await message.answer(_t(message.from_user, "painmap.ask_responsible"))

    @router.message(NewMeasureInput.responsible, typed)
    async def on_responsible(message: Message, state: FSMContext) -> None:
        if await _accept(message, state, "responsible", check_responsible):
            await state.set_state(NewMeasureInput.deadline)
            await message.answer(_t(message.from_user, "painmap.ask_deadline"))

    @router.message(NewMeasureInput.deadline, typed)
    async def on_deadline(
        message: Message, state: FSMContext, painmap: PainMapService | None = None
    ) -> None:
        user = message.from_user
        if painmap is None or user is None:
            await state.clear()
            return
        try:
            deadline = parse_deadline(message.text or "", painmap.today())
        except MeasureError as refused:
            await message.answer(_refusal(user, refused))
            return
        data = await state.get_data()
        pain, text, responsible = (
            str(data.get(key, "")) for key in ("pain", "text", "responsible")
        )
        # The typed steps stay until the measure is stored: if the database is down, the
        # error router asks to try again and the same deadline sent again stores it; a
        # process killed after the commit and before the clear stores nothing twice (the key).
        key = data.get("key")
        measure = (
            await painmap.add_measure(
                user.id, pain, text, responsible, deadline, key=str(key) if key else None
            )
            if pain and text and responsible
            else None
        )
        await state.clear()
        if measure is None:
            await message.answer(_t(user, "painmap.gone"))
            return
        view = await painmap.card(user.id, measure.pain_id)
        assert view is not None
        await message.answer(_t(user, "painmap.saved"))
        await message.answer(
            render_card(user, view, painmap.today()), reply_markup=card_keyboard(user, view)
        )

    async def not_command(message: Message) -> bool:
        # Other commands go on to their routers; the measure waits (/cancel drops it).
        return not (message.text or "").startswith("/")

    @router.message(not_command)
    async def on_other(message: Message) -> None:
        """A sticker, a photo, a file mid-way: nothing is stored, the step is asked again."""
        await message.answer(_t(message.from_user, "painmap.not_text"))

    return router


async def _accept(
    message: Message, state: FSMContext, key: str, check: Callable[[str], str]
) -> bool:
    try:
        value = check(message.text or "")
    except MeasureError as refused:
        await message.answer(_refusal(message.from_user, refused))
        return False
    await state.update_data({key: value})
    return True


def _refusal(user: User | None, refused: MeasureError) -> str:
    return _words(user).refusal(refused)
