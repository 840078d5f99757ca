"""Officer commands: /report and /export with period and service chosen by buttons, or a typed
closed range (``/report 01.01.2026–31.03.2026``) checked against the disclosure policy.
A report of all services carries a button for the Appendix 2 document of the same period
(services.appendix2), for body-wide officers.

Anyone who is not an officer never reaches these handlers: their /report falls through to the
"unknown command" answer every citizen gets, so nothing hints that the commands exist.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Annotated

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    User,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.texts import language_of
from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.model import Period, Scope
from services.appendix2 import Appendix2Service, beside_of, file_name
from services.feedback import FeedbackService
from services.officer_commands import (
    PERIODS,
    STAFF_PERIODS,
    STAFF_REPORT,
    offered_periods,
    period_for,
    pressed_range,
    range_days,
    report_scope,
    report_services,
    typed_range,
    whole_quarters,
)
from services.reporting import ReportingService

logger = logging.getLogger(__name__)

#: The staff report (§4.2, §4.4) in a typed range's keyboard (services.officer_commands).
STAFF = STAFF_REPORT


class ReportPress(CallbackData, prefix="rep"):
    export: bool
    period: Annotated[str, Field(min_length=1, max_length=1)]
    service: Annotated[str, Field(max_length=64)] = ""


class StaffPress(CallbackData, prefix="reps"):
    """The internal officer's staff report (or its workbook) for a closed period."""

    export: bool
    period: Annotated[str, Field(min_length=1, max_length=1)]


class RangePress(CallbackData, prefix="repr"):
    """The service chosen for a typed range; the range travels as two YYYYMMDD days."""

    export: bool
    start: Annotated[str, Field(min_length=8, max_length=8)]
    end: Annotated[str, Field(min_length=8, max_length=8)]
    service: Annotated[str, Field(max_length=64)]


class DocxPress(CallbackData, prefix="repd"):
    """The Appendix 2 document (body-wide) of a reported period, as two YYYYMMDD days."""

    start: Annotated[str, Field(min_length=8, max_length=8)]
    end: Annotated[str, Field(min_length=8, max_length=8)]


def _choices(reporting: ReportingService, language: Language = Language.RU) -> dict[str, str]:
    """The buttons: weeks only when the disclosure policy lets weeks show figures."""
    return {code: tr(language, key) for code, key in offered_periods(reporting).items()}


async def is_officer(event: TelegramObject, reporting: ReportingService) -> bool:
    user: User | None = getattr(event, "from_user", None)
    return user is not None and reporting.is_officer(user.id)


def _pressed_range(
    pressed: RangePress | DocxPress, reporting: ReportingService, feedback: FeedbackService
) -> Period | None:
    """The closed range a button carries, or None when it is no longer (or never was) one."""
    return pressed_range(reporting, pressed.start, pressed.end, feedback.today())


def setup() -> Router:
    router = Router(name="officer")
    router.message.filter(is_officer)
    router.callback_query.filter(is_officer)

    @router.message(Command("report", "export"))
    async def on_command(
        message: Message, reporting: ReportingService, feedback: FeedbackService
    ) -> None:
        language = language_of(message.from_user)
        command, _, typed = (message.text or "").partition(" ")
        export = command.lstrip("/").startswith("export")
        officer = message.from_user.id if message.from_user else 0
        if typed.strip():
            period = typed_range(reporting, officer, typed, feedback.today())
            if isinstance(period, str):
                await message.answer(escape(tr(language, period)))
                return
            await message.answer(
                tr(language, "officer.range_choose_service", period=period),
                reply_markup=_range_keyboard(reporting, officer, export, period, language),
            )
            return
        builder = InlineKeyboardBuilder()
        widths: list[int] = []
        if reporting.services_of(officer):
            choices = _choices(reporting, language)
            for code, label in choices.items():
                builder.button(text=label, callback_data=ReportPress(export=export, period=code))
            widths += [2] * ((len(choices) + 1) // 2)
        if reporting.is_internal_officer(officer):
            for code, key in STAFF_PERIODS.items():
                builder.button(
                    text=tr(language, key), callback_data=StaffPress(export=export, period=code)
                )
            widths += [1] * len(STAFF_PERIODS)
        builder.adjust(*widths)
        text = tr(
            language, "officer.choose_period_export" if export else "officer.choose_period_report"
        )
        await message.answer(text, reply_markup=builder.as_markup())

    @router.callback_query(ReportPress.filter())
    async def on_press(
        query: CallbackQuery,
        callback_data: ReportPress,
        reporting: ReportingService,
        feedback: FeedbackService,
        appendix2: Appendix2Service | None = None,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if not isinstance(message, Message) or callback_data.period not in _choices(reporting):
            await query.answer(tr(language, "officer.stale"), show_alert=True)
            return
        officer = query.from_user.id
        if not callback_data.service:
            await query.answer()
            await message.edit_text(
                tr(language, "officer.choose_service"),
                reply_markup=_services_keyboard(reporting, officer, callback_data, language),
            )
            return
        scope = report_scope(reporting, officer, callback_data.service)
        if scope is None:
            await query.answer(tr(language, "officer.forbidden"), show_alert=True)
            return
        period = period_for(callback_data.period, feedback.today())
        await query.answer(tr(language, "officer.preparing"))
        await message.edit_text(
            f"{escape(tr(language, PERIODS[callback_data.period]))}: {period}, "
            f"{escape(reporting.default_title(scope, language))}",
            reply_markup=_docx_keyboard(appendix2, scope, callback_data.export, period, language),
        )
        await _deliver(message, reporting, period, scope, callback_data.export, query.from_user)

    @router.callback_query(StaffPress.filter())
    async def on_staff(
        query: CallbackQuery,
        callback_data: StaffPress,
        reporting: ReportingService,
        feedback: FeedbackService,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if not isinstance(message, Message) or callback_data.period not in STAFF_PERIODS:
            await query.answer(tr(language, "officer.stale"), show_alert=True)
            return
        if not reporting.is_internal_officer(query.from_user.id):
            await query.answer(tr(language, "officer.staff_only"), show_alert=True)
            return
        period = period_for(callback_data.period, feedback.today())
        await query.answer(tr(language, "officer.preparing"))
        label = tr(language, STAFF_PERIODS[callback_data.period])
        await message.edit_text(f"{escape(label)}: {period}")
        await _deliver_staff(message, reporting, period, callback_data.export, query.from_user)

    @router.callback_query(RangePress.filter())
    async def on_range(
        query: CallbackQuery,
        callback_data: RangePress,
        reporting: ReportingService,
        feedback: FeedbackService,
        appendix2: Appendix2Service | None = None,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        period = _pressed_range(callback_data, reporting, feedback)
        if not isinstance(message, Message) or period is None:
            await query.answer(tr(language, "officer.stale"), show_alert=True)
            return
        if callback_data.service == STAFF:
            if not whole_quarters(period):
                await query.answer(tr(language, "officer.stale"), show_alert=True)
                return
            if not reporting.is_internal_officer(query.from_user.id):
                await query.answer(tr(language, "officer.staff_only"), show_alert=True)
                return
            await query.answer(tr(language, "officer.preparing"))
            await message.edit_text(tr(language, "officer.period_staff", period=period))
            await _deliver_staff(message, reporting, period, callback_data.export, query.from_user)
            return
        scope = report_scope(reporting, query.from_user.id, callback_data.service)
        if scope is None:
            await query.answer(tr(language, "officer.forbidden"), show_alert=True)
            return
        await query.answer(tr(language, "officer.preparing"))
        await message.edit_text(
            tr(
                language,
                "officer.period_scope",
                period=period,
                title=escape(reporting.default_title(scope, language)),
            ),
            reply_markup=_docx_keyboard(appendix2, scope, callback_data.export, period, language),
        )
        await _deliver(message, reporting, period, scope, callback_data.export, query.from_user)

    @router.callback_query(DocxPress.filter())
    async def on_docx(
        query: CallbackQuery,
        callback_data: DocxPress,
        reporting: ReportingService,
        feedback: FeedbackService,
        appendix2: Appendix2Service | None = None,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        period = _pressed_range(callback_data, reporting, feedback)
        if not isinstance(message, Message) or period is None or appendix2 is None:
            await query.answer(tr(language, "officer.stale"), show_alert=True)
            return
        # Body-wide: every process and the appeals monitoring (internal, §3.6).
        if not reporting.may_see(query.from_user.id, Scope()):
            await query.answer(tr(language, "officer.forbidden_all"), show_alert=True)
            return
        await query.answer(tr(language, "officer.preparing_document"))
        data = await appendix2.docx(period, beside_of(period), language)
        await message.answer_document(
            BufferedInputFile(data, filename=file_name(period)),
            caption=tr(language, "officer.docx_caption", period=period),
        )

    return router


def _docx_keyboard(
    appendix2: Appendix2Service | None,
    scope: Scope,
    export: bool,
    period: Period,
    language: Language,
) -> InlineKeyboardMarkup | None:
    """The Appendix 2 button under a body-wide report (not under a workbook export)."""
    if appendix2 is None or export or scope.service is not None:
        return None
    start, end = range_days(period)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=tr(language, "officer.docx_button"),
        callback_data=DocxPress(start=start, end=end),
    )
    return builder.as_markup()


async def _deliver(
    message: Message,
    reporting: ReportingService,
    period: Period,
    scope: Scope,
    export: bool,
    user: User,
) -> None:
    """Send the report (message and charts) or the workbook of one period and scope."""
    if export:
        workbook = await reporting.workbook(period, scope, language=language_of(user))
        name = f"otklik-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
        await message.answer_document(
            BufferedInputFile(workbook, filename=name),
            caption=tr(language_of(user), "officer.workbook_caption", period=period),
        )
        return
    # The text first: the charts are drawn while it is sent (services.reporting).
    delivery = await reporting.report_delivery(period, scope, language_of(user))
    try:
        for text in delivery.messages:
            await message.answer(text)
    except BaseException:
        delivery.charts.cancel()
        raise
    for name, png in await delivery.charts:
        await message.answer_photo(BufferedInputFile(png, filename=name))


async def _deliver_staff(
    message: Message, reporting: ReportingService, period: Period, export: bool, user: User
) -> None:
    """Send the staff report (message and chart) or its workbook."""
    if export:
        workbook = await reporting.internal_workbook(period, language_of(user))
        name = f"otklik-staff-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
        await message.answer_document(
            BufferedInputFile(workbook, filename=name),
            caption=tr(language_of(user), "officer.staff_workbook_caption", period=period),
        )
        return
    files = await reporting.internal_report_files(period, language_of(user))
    for text in files.messages:
        await message.answer(text)
    for name, png in files.charts:
        await message.answer_photo(BufferedInputFile(png, filename=name))


def _range_keyboard(
    reporting: ReportingService, officer: int, export: bool, period: Period, language: Language
) -> InlineKeyboardMarkup:
    start, end = range_days(period)
    builder = InlineKeyboardBuilder()
    for offer in report_services(reporting, officer, language, staff_range=period):
        builder.button(
            text=offer.label,
            callback_data=RangePress(export=export, start=start, end=end, service=offer.code),
        )
    builder.adjust(1)
    return builder.as_markup()


def _services_keyboard(
    reporting: ReportingService, officer: int, press: ReportPress, language: Language
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offer in report_services(reporting, officer, language):
        builder.button(
            text=offer.label,
            callback_data=ReportPress(
                export=press.export, period=press.period, service=offer.code
            ),
        )
    builder.adjust(1)
    return builder.as_markup()
