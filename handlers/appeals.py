"""Appeals register for body-wide officers: send the export as a file, ask `/appeals`.

The figures are internal (Procedure §3.6): only officers named in settings (who see the whole
body) reach these handlers; anyone else's file or /appeals falls through to the answers every
citizen gets, so nothing hints that the commands exist.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from html import escape
from typing import Annotated, Final

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Document,
    Message,
    TelegramObject,
    User,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.texts import language_of
from questionnaires.i18n import tr
from reports.appeals import monitoring_workbook, quarter_label, render_monitoring
from reports.model import Scope
from reports.periods import quarter_of
from services.appeals import (
    MAX_FILE_BYTES,
    AppealsService,
    ImportReport,
    RegisterError,
    describe_import,
)
from services.feedback import FeedbackService
from services.officer_commands import closed_quarters
from services.reporting import ReportingService

logger = logging.getLogger(__name__)

REGISTER_SUFFIXES: Final = (".csv", ".xlsx")


def _t(user: User | None, key: str, **values: object) -> str:
    return tr(language_of(user), key, **values)


class QuarterPress(CallbackData, prefix="apq"):
    year: Annotated[int, Field(ge=2000, le=2100)]
    quarter: Annotated[int, Field(ge=1, le=4)]


async def is_body_officer(event: TelegramObject, reporting: ReportingService) -> bool:
    """Officers who see the whole body (settings), not a single service's officer."""
    user: User | None = getattr(event, "from_user", None)
    return (
        user is not None and reporting.is_officer(user.id) and reporting.may_see(user.id, Scope())
    )


def describe(report: ImportReport, user: User | None) -> str:
    return describe_import(report, language_of(user))


def setup() -> Router:
    router = Router(name="appeals")
    router.message.filter(is_body_officer)
    router.callback_query.filter(is_body_officer)

    @router.message(Command("appeals"))
    async def on_command(message: Message, feedback: FeedbackService) -> None:
        builder = InlineKeyboardBuilder()
        for period in closed_quarters(feedback.today()):
            number = (period.start.month - 1) // 3 + 1
            builder.button(
                text=quarter_label(period, language_of(message.from_user)),
                callback_data=QuarterPress(year=period.start.year, quarter=number),
            )
        builder.adjust(2)
        await message.answer(
            _t(message.from_user, "appeals.choose"), reply_markup=builder.as_markup()
        )

    @router.callback_query(QuarterPress.filter())
    async def on_quarter(
        query: CallbackQuery,
        callback_data: QuarterPress,
        feedback: FeedbackService,
        appeals: AppealsService | None = None,
    ) -> None:
        message = query.message
        period = quarter_of(date(callback_data.year, 3 * callback_data.quarter - 2, 1))
        offered = closed_quarters(feedback.today())
        if not isinstance(message, Message) or appeals is None or period not in offered:
            await query.answer(_t(query.from_user, "appeals.stale"), show_alert=True)
            return
        await query.answer()
        monitoring = await appeals.monitoring(period)
        language = language_of(query.from_user)
        titles = appeals.titles(language)
        await message.edit_text(render_monitoring(monitoring, titles, language))
        name = f"appeals-{period.start:%Y}Q{callback_data.quarter}.xlsx"
        await message.answer_document(
            BufferedInputFile(monitoring_workbook(monitoring, titles, language), filename=name)
        )

    @router.message(F.document)
    async def on_register(
        message: Message, bot: Bot, appeals: AppealsService | None = None
    ) -> None:
        user = message.from_user
        document: Document | None = message.document
        if document is None:
            return
        if appeals is None or appeals.mapping is None:
            await message.answer(_t(user, "appeals.off"))
            return
        name = document.file_name or "register"
        if not name.lower().endswith(REGISTER_SUFFIXES):
            await message.answer(_t(user, "appeals.type"))
            return
        if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
            await message.answer(_t(user, "appeals.big"))
            return
        buffer = io.BytesIO()
        await bot.download(document, destination=buffer)
        try:
            report = await appeals.import_register(name, buffer.getvalue(), appeals.mapping)
        except RegisterError as error:
            await message.answer(escape(error.describe(language_of(user).value), quote=False))
            return
        await message.answer(describe(report, user))

    return router
