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
from questionnaires.schema import Language
from reports.model import Band, priority_band
from reports.painmap_import import STATUS_TITLES, NotAPainMap, is_pain_map
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
STATUS_EN: Final = {
    "planned": "planned",
    "in_progress": "in progress",
    "done": "done",
    "dropped": "dropped",
}

TEXTS: Final[dict[Language, dict[str, str]]] = {
    Language.RU: {
        "title": "<b>Карта болей</b>: проблемы по приоритету (последний закрытый месяц)",
        "empty": "Карта болей пока пуста: она заполняется после закрытия каждого месяца "
        "и квартала из отчётов по услугам и жизненным ситуациям и из реестра обращений.",
        "more": "Показаны первые {shown} из {total}; вся карта — в выгрузке /export.",
        "stale": "Кнопка устарела",
        "add": "➕ Добавить меру",
        "back": "← К списку",
        "status_of": "Статус: {text}",
        "choose_status": "Новый статус меры «{text}»:",
        "ask_text": "Опишите меру (до 1000 знаков). Отмена: /cancel",
        "ask_responsible": "Кто ответственный? (должность или ФИО, до 200 знаков). "
        "Отмена: /cancel",
        "ask_deadline": "Срок в виде ДД.ММ.ГГГГ, например 31.03.2027. Отмена: /cancel",
        "empty_text": "Пустой текст не подойдёт: напишите словами. Отмена: /cancel",
        "too_long": "Слишком длинно: не больше {limit} знаков. Отмена: /cancel",
        "bad_date": "Не удалось прочитать дату: напишите ДД.ММ.ГГГГ, например 31.03.2027. "
        "Отмена: /cancel",
        "past_date": "Этот день уже прошёл: срок должен быть сегодня или позже. Отмена: /cancel",
        "not_text": "Нужен текст. Отмена: /cancel",
        "saved": "Мера сохранена.",
        "busy": "Сначала завершите начатый опрос или отмените его командой /cancel.",
        "gone": "Проблема больше недоступна; мера не сохранена.",
        "cancelled": "Добавление меры отменено, ничего не сохранено.",
        "status_saved": "Статус изменён",
        "process": "Процесс",
        "touchpoint": "Точка взаимодействия",
        "all_touchpoints": "все каналы",
        "source": "Источник",
        "figures": "За {period}: распространённость {prevalence}, приоритет {band} "
        "(индекс {priority}), назвали {respondents}, средняя оценка назвавших {mean}",
        "staff_figures": "За {period}: ниже 4 баллов у {prevalence} из {respondents} "
        "оценивших сотрудников, средняя оценка {mean}, приоритет {band} (индекс {priority})",
        "appeal_figures": "За {period}: обращений с этой причиной {respondents} "
        "({prevalence} обращений по процессу)",
        "hidden": "За {period}: цифры скрыты (мало ответов для анонимности)",
        "none": "Цифр за закрытые периоды пока нет",
        "trend": "Динамика распространённости по месяцам: {points}",
        "measures": "<b>Меры</b>",
        "no_measures": "Мер пока нет",
        "measure": "• {text} — {responsible}, срок {deadline}, {status}{overdue}",
        "overdue": " ⏰ просрочена",
        "before_after": "  до/после ({done}): распространённость {before} → {after}; "
        "CSAT процесса {csat_before} → {csat_after}",
        "no_data": "нет данных",
        "hidden_short": "скрыто",
        "sheet_done": "Карта болей принята: мер добавлено {added}, изменено {changed}, "
        "без изменений {unchanged}.",
        "sheet_bad": "Карта болей не принята, ничего не записано. Ошибки ({count}):",
        "sheet_big": "Файл больше 10 МБ: это не выгрузка карты болей",
        "sheet_more": "…и ещё {count}",
        "cell_unknown_pain": "нет такой проблемы в карте (ключ изменён или строка чужая)",
        "cell_not_yours": "эта проблема не относится к вашим услугам",
        "cell_unknown_measure": "нет такой меры у этой проблемы (ключ изменён)",
        "cell_twice": "эта мера встречается в файле дважды",
        "cell_bad_key": "ключ строки испорчен",
        "cell_no_key": "строка без ключа: добавляйте меру копией строки проблемы",
        "cell_too_many": "слишком много строк",
        "cell_too_long": "слишком длинный текст",
        "cell_empty": "пусто: заполните (чтобы отказаться от меры, поставьте статус «отменена»)",
        "cell_bad_date": "не дата: нужна ДД.ММ.ГГГГ",
        "cell_no_date": "не указан срок",
        "cell_past_date": "срок уже прошёл",
        "cell_bad_status": "неизвестный статус: запланирована, выполняется, выполнена, отменена",
    },
    Language.EN: {
        "title": "<b>Pain map</b>: problems by priority (last closed month)",
        "empty": "The pain map is empty so far: it is filled when each month and quarter "
        "closes, from the reports of services and life situations and the appeals register.",
        "more": "The first {shown} of {total} are shown; the whole map is in /export.",
        "stale": "This button is no longer active",
        "add": "➕ Add a measure",
        "back": "← Back to the list",
        "status_of": "Status: {text}",
        "choose_status": "New status of the measure “{text}”:",
        "ask_text": "Describe the measure (up to 1000 characters). Cancel: /cancel",
        "ask_responsible": "Who is responsible? (position or name, up to 200 characters). "
        "Cancel: /cancel",
        "ask_deadline": "Deadline as DD.MM.YYYY, for example 31.03.2027. Cancel: /cancel",
        "empty_text": "Empty text will not do: please write it in words. Cancel: /cancel",
        "too_long": "Too long: at most {limit} characters. Cancel: /cancel",
        "bad_date": "Could not read the date: write DD.MM.YYYY, for example 31.03.2027. "
        "Cancel: /cancel",
        "past_date": "That day has passed: the deadline must be today or later. Cancel: /cancel",
        "not_text": "Please send text. Cancel: /cancel",
        "saved": "The measure is saved.",
        "busy": "Finish the survey you started first, or cancel it with /cancel.",
        "gone": "The problem is no longer available; the measure was not saved.",
        "cancelled": "Adding the measure is cancelled, nothing was saved.",
        "status_saved": "Status changed",
        "process": "Process",
        "touchpoint": "Touchpoint",
        "all_touchpoints": "all channels",
        "source": "Source",
        "figures": "In {period}: prevalence {prevalence}, priority {band} (index {priority}), "
        "named by {respondents}, their mean score {mean}",
        "staff_figures": "In {period}: below 4 from {prevalence} of {respondents} staff "
        "who rated it, mean score {mean}, priority {band} (index {priority})",
        "appeal_figures": "In {period}: appeals with this reason {respondents} "
        "({prevalence} of the process's appeals)",
        "hidden": "In {period}: figures hidden (too few answers for anonymity)",
        "none": "No figures of closed periods yet",
        "trend": "Prevalence by month: {points}",
        "measures": "<b>Measures</b>",
        "no_measures": "No measures yet",
        "measure": "• {text} — {responsible}, due {deadline}, {status}{overdue}",
        "overdue": " ⏰ overdue",
        "before_after": "  before/after ({done}): prevalence {before} → {after}; "
        "process CSAT {csat_before} → {csat_after}",
        "no_data": "no data",
        "hidden_short": "hidden",
        "sheet_done": "Pain map accepted: {added} measures added, {changed} changed, "
        "{unchanged} unchanged.",
        "sheet_bad": "Pain map not accepted, nothing was written. Errors ({count}):",
        "sheet_big": "The file is over 10 MB: it is not a pain map export",
        "sheet_more": "…and {count} more",
        "cell_unknown_pain": "no such problem in the map (the key was changed)",
        "cell_not_yours": "this problem is not one of your services",
        "cell_unknown_measure": "no such measure for this problem (the key was changed)",
        "cell_twice": "this measure appears twice in the file",
        "cell_bad_key": "the row's key is damaged",
        "cell_no_key": "a row without a key: add a measure by copying the problem's row",
        "cell_too_many": "too many rows",
        "cell_too_long": "text too long",
        "cell_empty": "empty: fill it in (to drop a measure, set its status to dropped)",
        "cell_bad_date": "not a date: DD.MM.YYYY expected",
        "cell_no_date": "no deadline",
        "cell_past_date": "the deadline has passed",
        "cell_bad_status": "unknown status: planned, in progress, done, dropped",
    },
}


SOURCES: Final = {
    Language.RU: {
        "rating_problem": "оценки после услуги",
        "appeal_reason": "реестр обращений",
        "staff_aspect": "опрос сотрудников",
    },
    Language.EN: {
        "rating_problem": "post-service ratings",
        "appeal_reason": "appeals register",
        "staff_aspect": "staff poll",
    },
}
BANDS: Final = {
    Language.RU: {Band.HIGH: "высокий", Band.MEDIUM: "средний", Band.LOW: "низкий"},
    Language.EN: {Band.HIGH: "high", Band.MEDIUM: "medium", Band.LOW: "low"},
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


def _t(user: User | None, key: str, **values: object) -> str:
    text = TEXTS[language_of(user)][key]
    return text.format(**values) if values else text


def status_title(user: User | None, status: str) -> str:
    if language_of(user) == Language.EN:
        return STATUS_EN.get(status, status)
    return STATUS_TITLES.get(status, status)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%".replace(".", ",")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def _period(record: FigureRecord) -> str:
    return f"{record.period.start:%d.%m.%Y}–{record.period.end:%d.%m.%Y}"


def _figures_line(user: User | None, view: PainView, record: FigureRecord | None) -> str:
    if record is None:
        return _t(user, "none")
    figures = record.figures
    if figures.hidden:
        return _t(user, "hidden", period=_period(record))
    if view.pain.source == "appeal_reason":
        return _t(
            user,
            "appeal_figures",
            period=_period(record),
            respondents=figures.respondents,
            prevalence=_pct(figures.prevalence),
        )
    band = priority_band(figures.priority)
    return _t(
        user,
        "staff_figures" if view.pain.source == "staff_aspect" else "figures",
        period=_period(record),
        prevalence=_pct(figures.prevalence),
        band=BANDS[language_of(user)][band] if band else "—",
        priority=_num(figures.priority),
        respondents=figures.respondents,
        mean=_num(figures.mean_overall),
    )


def _comparison_line(user: User | None, measure: MeasureRecord, comparison: Comparison) -> str:
    none = _t(user, "no_data")

    def prevalence(record: FigureRecord | None) -> str:
        if record is None:
            return none
        hidden = record.figures.hidden
        shown = _t(user, "hidden_short") if hidden else _pct(record.figures.prevalence)
        return f"{shown} ({_period(record)})"

    def csat(record: SatisfactionRecord | None) -> str:
        if record is None or record.satisfaction.hidden or record.satisfaction.csat is None:
            return none
        return f"{record.satisfaction.csat:.1f}%".replace(".", ",")

    assert measure.done_on is not None
    return _t(
        user,
        "before_after",
        done=f"{measure.done_on:%d.%m.%Y}",
        before=prevalence(comparison.before),
        after=prevalence(comparison.after),
        csat_before=csat(comparison.csat_before),
        csat_after=csat(comparison.csat_after),
    )


def render_card(user: User | None, view: PainView, today: date) -> str:
    sources = SOURCES[language_of(user)]
    lines = [
        f"<b>{escape(view.pain.title)}</b>",
        f"{_t(user, 'process')}: {escape(view.process_title)}",
        f"{_t(user, 'touchpoint')}: "
        f"{escape(view.touchpoint_title) or _t(user, 'all_touchpoints')}",
        f"{_t(user, 'source')}: {sources.get(view.pain.source, view.pain.source)}",
        _figures_line(user, view, view.latest),
    ]
    months = [r for r in view.history if (r.period.end - r.period.start).days < 31]
    points = [
        f"{r.period.start:%m.%Y} {'—' if r.figures.hidden else _pct(r.figures.prevalence)}"
        for r in months[-TREND_MONTHS:]
    ]
    if len(points) > 1:
        lines.append(_t(user, "trend", points=", ".join(points)))
    lines += ["", _t(user, "measures")]
    if not view.measures:
        lines.append(_t(user, "no_measures"))
    for measure in view.measures:
        overdue = measure.status in ("planned", "in_progress") and measure.deadline < today
        lines.append(
            _t(
                user,
                "measure",
                text=escape(measure.text),
                responsible=escape(measure.responsible),
                deadline=f"{measure.deadline:%d.%m.%Y}",
                status=status_title(user, measure.status),
                overdue=_t(user, "overdue") if overdue else "",
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
    builder.button(text=_t(user, "add"), callback_data=MeasureAdd(pain=view.pain.id))
    for measure in view.measures:
        builder.button(
            text=_t(user, "status_of", text=_short(measure.text)),
            callback_data=MeasurePick(measure=measure.id),
        )
    builder.button(text=_t(user, "back"), callback_data=PainList())
    builder.adjust(1)
    return builder.as_markup()


async def _list(user: User | None, painmap: PainMapService) -> tuple[str, InlineKeyboardMarkup]:
    views = await painmap.pains_for(user.id if user else 0)
    builder = InlineKeyboardBuilder()
    if not views:
        return _t(user, "empty"), builder.as_markup()
    bands = BANDS[language_of(user)]
    for view in views[:LISTED]:
        band = priority_band(view.priority)
        label = f"{_short(view.pain.title, 34)} · {_short(view.process_title, 20)}"
        if view.touchpoint_title:
            label += f" ({_short(view.touchpoint_title, 16)})"
        if band is not None:
            label += f" · {bands[band]}"
        builder.button(text=label, callback_data=PainPress(pain=view.pain.id))
    builder.adjust(1)
    text = _t(user, "title")
    if len(views) > LISTED:
        text += "\n" + _t(user, "more", shown=LISTED, total=len(views))
    return text, builder.as_markup()


def describe_import(user: User | None, result: SheetImport) -> str:
    if result.applied:
        return _t(
            user,
            "sheet_done",
            added=result.added,
            changed=result.changed,
            unchanged=result.unchanged,
        )
    texts = {
        key.removeprefix("cell_"): value
        for key, value in TEXTS[language_of(user)].items()
        if key.startswith("cell_")
    }
    lines = [_t(user, "sheet_bad", count=len(result.errors))]
    lines += [escape(e.describe(texts), quote=False) for e in result.errors[:ERRORS_SHOWN]]
    if len(result.errors) > ERRORS_SHOWN:
        lines.append(_t(user, "sheet_more", count=len(result.errors) - ERRORS_SHOWN))
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
            await query.answer(_t(query.from_user, "stale"), show_alert=True)
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
            await query.answer(_t(user, "stale"), show_alert=True)
            return
        current = await state.get_state()
        if current is not None and current not in NewMeasureInput.__all_states_names__:
            # A poll the officer is answering as a person keeps its place.
            await query.answer(_t(user, "busy"), show_alert=True)
            return
        await query.answer()
        await state.set_state(NewMeasureInput.text)
        await state.set_data({"pain": view.pain.id})
        await query.message.answer(_t(user, "ask_text"))

    @router.callback_query(MeasurePick.filter())
    async def on_pick(
        query: CallbackQuery, callback_data: MeasurePick, painmap: PainMapService | None = None
    ) -> None:
        user = query.from_user
        measure = await painmap.store.measure(callback_data.measure) if painmap else None
        view = await painmap.card(user.id, measure.pain_id) if painmap and measure else None
        if measure is None or view is None or not isinstance(query.message, Message):
            await query.answer(_t(user, "stale"), show_alert=True)
            return
        await query.answer()
        builder = InlineKeyboardBuilder()
        for code, status in STATUS_CODES.items():
            mark = "✓ " if status == measure.status else ""
            builder.button(
                text=mark + status_title(user, status),
                callback_data=MeasureSet(measure=measure.id, status=code),
            )
        builder.button(text=_t(user, "back"), callback_data=PainPress(pain=view.pain.id))
        builder.adjust(2)
        await query.message.edit_text(
            _t(user, "choose_status", text=escape(_short(measure.text, 200))),
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
            await query.answer(_t(user, "stale"), show_alert=True)
            return
        await _show(query, changed.pain_id, painmap, note=_t(user, "status_saved"))

    @router.message(F.document, pain_map_file)
    async def on_sheet(message: Message, pain_map_data: bytes, painmap: PainMapService) -> None:
        user = message.from_user
        try:
            result = await painmap.import_sheet(user.id if user else 0, pain_map_data)
        except NotAPainMap:  # the sheet was checked by the filter; only a race gets here
            await message.answer(_t(user, "sheet_bad", count=1))
            return
        await message.answer(describe_import(user, result))

    return router


async def _show(
    query: CallbackQuery, pain_id: str, painmap: PainMapService | None, note: str | None = None
) -> None:
    user = query.from_user
    view = await painmap.card(user.id, pain_id) if painmap else None
    if view is None or painmap is None or not isinstance(query.message, Message):
        await query.answer(_t(user, "stale"), show_alert=True)
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
        await message.answer(_t(message.from_user, "cancelled"))

    async def typed(message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")

    @router.message(NewMeasureInput.text, typed)
    async def on_text(message: Message, state: FSMContext) -> None:
        if await _accept(message, state, "text", check_text):
            await state.set_state(NewMeasureInput.responsible)
            await message.answer(_t(message.from_user, "ask_responsible"))

    @router.message(NewMeasureInput.responsible, typed)
    async def on_responsible(message: Message, state: FSMContext) -> None:
        if await _accept(message, state, "responsible", check_responsible):
            await state.set_state(NewMeasureInput.deadline)
            await message.answer(_t(message.from_user, "ask_deadline"))

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
            await message.answer(_t(user, "gone"))
            return
        view = await painmap.card(user.id, measure.pain_id)
        assert view is not None
        await message.answer(_t(user, "saved"))
        await message.answer(
            render_card(user, view, painmap.today()), reply_markup=card_keyboard(user, view)
        )

    async def not_command(message: Message) -> bool:
        # Other commands go on to their routers; the measure waits (/cancel drops it).
        return not (message.text or "").startswith("/")

    @router.message(not_command)
    async def on_other(message: Message) -> None:
        """A sticker, a photo, a file mid-way: nothing is stored, the step is asked again."""
        await message.answer(_t(message.from_user, "not_text"))

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
    key = {"empty": "empty_text"}.get(refused.problem.value, refused.problem.value)
    return _t(user, key, limit=refused.limit) if key == "too_long" else _t(user, key)
