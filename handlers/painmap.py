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
from typing import Annotated, Final, Literal

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
from questionnaires.i18n import N_, tr
from reports.model import priority_band
from reports.painmap_import import BadHeader, NotAPainMap, is_pain_map
from reports.painmap_import import status_title as sheet_status_title
from reports.telegram import band_text
from services.painmap import (
    Comparison,
    FigureRecord,
    MeasureError,
    MeasureRecord,
    PainMapService,
    PainView,
    SatisfactionRecord,
    SheetImport,
    check_responsible,
    check_text,
    parse_deadline,
)
from services.reporting import ReportingService

logger = logging.getLogger(__name__)

#: Pains listed as buttons; the whole map is in the /export workbook.
LISTED: Final = 30
#: Closed months shown as the pain's trend on its card.
TREND_MONTHS: Final = 6
#: The pain map sheet sent back: at most this big (the workbook of a body is far smaller).
MAX_SHEET_BYTES: Final = 10 * 1024 * 1024
ERRORS_SHOWN: Final = 15
_HEX = r"^[0-9a-f]{32}$"

STATUS_CODES: Final = {"p": "planned", "i": "in_progress", "d": "done", "x": "dropped"}


def _t(user: User | None, key: str, **values: object) -> str:
    return tr(language_of(user), key, **values)


_CELL_PROBLEMS: Final = {
    "bad_date": N_("painmap.cell_bad_date"),
    "bad_key": N_("painmap.cell_bad_key"),
    "bad_status": N_("painmap.cell_bad_status"),
    "empty": N_("painmap.cell_empty"),
    "no_date": N_("painmap.cell_no_date"),
    "no_key": N_("painmap.cell_no_key"),
    "not_yours": N_("painmap.cell_not_yours"),
    "past_date": N_("painmap.cell_past_date"),
    "too_long": N_("painmap.cell_too_long"),
    "too_many": N_("painmap.cell_too_many"),
    "twice": N_("painmap.cell_twice"),
    "unknown_measure": N_("painmap.cell_unknown_measure"),
    "unknown_pain": N_("painmap.cell_unknown_pain"),
}
_REFUSALS: Final = {
    "empty": N_("painmap.empty_text"),
    "too_long": N_("painmap.too_long"),
    "bad_date": N_("painmap.bad_date"),
    "past_date": N_("painmap.past_date"),
}
_SOURCES: Final = {
    "rating_problem": N_("painmap.source.rating_problem"),
    "appeal_reason": N_("painmap.source.appeal_reason"),
    "staff_aspect": N_("painmap.source.staff_aspect"),
}


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


def _source(user: User | None, source: str) -> str:
    key = _SOURCES.get(source)
    return _t(user, key) if key else source


def status_title(user: User | None, status: str) -> str:
    return sheet_status_title(status, language_of(user))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%".replace(".", ",")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def _period(record: FigureRecord) -> str:
    return f"{record.period.start:%d.%m.%Y}–{record.period.end:%d.%m.%Y}"


def _figures_line(user: User | None, view: PainView, record: FigureRecord | None) -> str:
    if record is None:
        return _t(user, "painmap.none")
    figures = record.figures
    if figures.hidden:
        return _t(user, "painmap.hidden", period=_period(record))
    if view.pain.source == "appeal_reason":
        return _t(
            user,
            "painmap.appeal_figures",
            period=_period(record),
            respondents=figures.respondents,
            prevalence=_pct(figures.prevalence),
        )
    band = priority_band(figures.priority)
    return _t(
        user,
        "painmap.staff_figures" if view.pain.source == "staff_aspect" else "painmap.figures",
        period=_period(record),
        prevalence=_pct(figures.prevalence),
        band=band_text(band, language_of(user)) if band else "—",
        priority=_num(figures.priority),
        respondents=figures.respondents,
        mean=_num(figures.mean_overall),
    )


def _comparison_line(user: User | None, measure: MeasureRecord, comparison: Comparison) -> str:
    none = _t(user, "painmap.no_data")

    def prevalence(record: FigureRecord | None) -> str:
        if record is None:
            return none
        hidden = record.figures.hidden
        shown = _t(user, "painmap.hidden_short") if hidden else _pct(record.figures.prevalence)
        return f"{shown} ({_period(record)})"

    def csat(record: SatisfactionRecord | None) -> str:
        if record is None or record.satisfaction.hidden or record.satisfaction.csat is None:
            return none
        return f"{record.satisfaction.csat:.1f}%".replace(".", ",")

    assert measure.done_on is not None
    return _t(
        user,
        "painmap.before_after",
        done=f"{measure.done_on:%d.%m.%Y}",
        before=prevalence(comparison.before),
        after=prevalence(comparison.after),
        csat_before=csat(comparison.csat_before),
        csat_after=csat(comparison.csat_after),
    )


def render_card(user: User | None, view: PainView, today: date) -> str:
    lines = [
        f"<b>{escape(view.pain.title)}</b>",
        f"{_t(user, 'painmap.process')}: {escape(view.process_title)}",
        f"{_t(user, 'painmap.touchpoint')}: "
        f"{escape(view.touchpoint_title) or _t(user, 'painmap.all_touchpoints')}",
        f"{_t(user, 'painmap.source')}: {_source(user, view.pain.source)}",
        _figures_line(user, view, view.latest),
    ]
    months = [r for r in view.history if (r.period.end - r.period.start).days < 31]
    points = [
        f"{r.period.start:%m.%Y} {'—' if r.figures.hidden else _pct(r.figures.prevalence)}"
        for r in months[-TREND_MONTHS:]
    ]
    if len(points) > 1:
        lines.append(_t(user, "painmap.trend", points=", ".join(points)))
    lines += ["", _t(user, "painmap.measures")]
    if not view.measures:
        lines.append(_t(user, "painmap.no_measures"))
    for measure in view.measures:
        overdue = measure.status in ("planned", "in_progress") and measure.deadline < today
        lines.append(
            _t(
                user,
                "painmap.measure",
                text=escape(measure.text),
                responsible=escape(measure.responsible),
                deadline=f"{measure.deadline:%d.%m.%Y}",
                status=status_title(user, measure.status),
                overdue=_t(user, "painmap.overdue") if overdue else "",
            )
        )
        comparison = view.comparisons.get(measure.id)
        if comparison is not None:
            lines.append(_comparison_line(user, measure, comparison))
    return "\n".join(lines)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_keyboard(user: User | None, view: PainView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_t(user, "painmap.add"), callback_data=MeasureAdd(pain=view.pain.id))
    for measure in view.measures:
        builder.button(
            text=_t(user, "painmap.status_of", text=_short(measure.text)),
            callback_data=MeasurePick(measure=measure.id),
        )
    builder.button(text=_t(user, "painmap.back"), callback_data=PainList())
    builder.adjust(1)
    return builder.as_markup()


async def _list(user: User | None, painmap: PainMapService) -> tuple[str, InlineKeyboardMarkup]:
    views = await painmap.pains_for(user.id if user else 0)
    builder = InlineKeyboardBuilder()
    if not views:
        return _t(user, "painmap.empty"), builder.as_markup()
    for view in views[:LISTED]:
        band = priority_band(view.priority)
        label = f"{_short(view.pain.title, 34)} · {_short(view.process_title, 20)}"
        if view.touchpoint_title:
            label += f" ({_short(view.touchpoint_title, 16)})"
        if band is not None:
            label += f" · {band_text(band, language_of(user))}"
        builder.button(text=label, callback_data=PainPress(pain=view.pain.id))
    builder.adjust(1)
    text = _t(user, "painmap.title")
    if len(views) > LISTED:
        text += "\n" + _t(user, "painmap.more", shown=LISTED, total=len(views))
    return text, builder.as_markup()


def describe_import(user: User | None, result: SheetImport) -> str:
    if result.applied:
        return _t(
            user,
            "painmap.sheet_done",
            added=result.added,
            changed=result.changed,
            unchanged=result.unchanged,
        )
    texts = {problem: _t(user, key) for problem, key in _CELL_PROBLEMS.items()}
    lines = [_t(user, "painmap.sheet_bad", count=len(result.errors))]
    lines += [escape(e.describe(texts), quote=False) for e in result.errors[:ERRORS_SHOWN]]
    if len(result.errors) > ERRORS_SHOWN:
        lines.append(_t(user, "painmap.sheet_more", count=len(result.errors) - ERRORS_SHOWN))
    return "\n".join(lines)


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
        await state.set_data({"pain": view.pain.id})
        await query.message.answer(_t(user, "painmap.ask_text"))

    @router.callback_query(MeasurePick.filter())
    async def on_pick(
        query: CallbackQuery, callback_data: MeasurePick, painmap: PainMapService | None = None
    ) -> None:
        user = query.from_user
        measure = await painmap.store.measure(callback_data.measure) if painmap else None
        view = await painmap.card(user.id, measure.pain_id) if painmap and measure else None
        if measure is None or view is None or not isinstance(query.message, Message):
            await query.answer(_t(user, "painmap.stale"), show_alert=True)
            return
        await query.answer()
        builder = InlineKeyboardBuilder()
        for code, status in STATUS_CODES.items():
            mark = "✓ " if status == measure.status else ""
            builder.button(
                text=mark + status_title(user, status),
                callback_data=MeasureSet(measure=measure.id, status=code),
            )
        builder.button(text=_t(user, "painmap.back"), callback_data=PainPress(pain=view.pain.id))
        builder.adjust(2)
        await query.message.edit_text(
            _t(user, "painmap.choose_status", text=escape(_short(measure.text, 200))),
            reply_markup=builder.as_markup(),
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
        # error router asks to try again and the same deadline sent again stores it.
        measure = (
            await painmap.add_measure(user.id, pain, text, responsible, deadline)
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
    key = _REFUSALS[refused.problem.value]
    return _t(user, key, limit=refused.limit) if key == "painmap.too_long" else _t(user, key)
