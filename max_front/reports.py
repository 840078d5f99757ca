"""Officers' /report and /export in MAX as in Telegram (handlers.officer): the period buttons,
the service choice (a service's own officer sees their services only), a typed closed range
(``/report 01.01.2026–31.03.2026``), the internal officer's staff report, and the Appendix 2
document under a body-wide report, over the same services (services.officer_commands).

Who may press what is decided on the MAX chat (questionnaires.messengers.max_chat): anyone
else's command is any text, anyone else's button any stale one. Payloads name periods and
services only: ``rp:<e|r>:<period>[:<service>]``, ``rs:<e|r>:<period>``,
``rr:<e|r>:<YYYYMMDD>:<YYYYMMDD>:<service>`` and ``rd:<YYYYMMDD>:<YYYYMMDD>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from max_front.api import Button, MaxApi, View
from questionnaires.i18n import tr
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from reports.model import Period, Scope
from reports.splitting import split_message
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

#: MAX's limit on a message's text (dev.max.ru/docs-api/methods/POST/messages: 4000).
TEXT_LIMIT: Final = 4000
PREFIXES: Final = ("rp:", "rs:", "rr:", "rd:")
#: MAX's inline keyboard: at most 30 rows of at most 7 buttons
#: (dev.max.ru/docs-api/objects/InlineKeyboard).
MAX_ROWS: Final = 30
MAX_ROW_BUTTONS: Final = 7
EXPORT: Final = "e"
REPORT: Final = "r"


class Answer(Protocol):
    """The one answer of a press (max_front.front._Answer)."""

    async def notify(self, text: str | None) -> None: ...

    async def replace(self, view: View, notification: str | None = None) -> bool: ...


def is_report_payload(payload: str) -> bool:
    return payload.startswith(PREFIXES)


def service_rows(buttons: list[Button]) -> tuple[tuple[Button, ...], ...]:
    """One service a row, as in Telegram, unless the catalog has more services than MAX's
    keyboard has rows: then as few to a row as fit (past 210 the rest are cut; "all services",
    always first, still covers them)."""
    per_row = min(MAX_ROW_BUTTONS, max(1, -(-len(buttons) // MAX_ROWS)))
    kept = buttons[: MAX_ROWS * per_row]
    return tuple(tuple(kept[i : i + per_row]) for i in range(0, len(kept), per_row))


@dataclass
class MaxReports:
    """/report and /export in MAX."""

    api: MaxApi
    reporting: ReportingService
    feedback: FeedbackService
    #: The Appendix 2 document under a body-wide report; None: no such button.
    appendix2: Appendix2Service | None = None

    # --- the command --------------------------------------------------------------------

    async def command(self, user: int, argument: str, language: Language, *, export: bool) -> bool:
        """The period buttons, or the services of a typed range; False for anyone who is no
        officer (the front then treats the text as any other)."""
        officer = max_chat(user)
        if not self.reporting.is_officer(officer):
            return False
        flag = EXPORT if export else REPORT
        if argument.strip():
            period = typed_range(self.reporting, officer, argument, self.feedback.today())
            if isinstance(period, str):
                await self.api.send(user, View(tr(language, period)))
                return True
            start, end = range_days(period)
            rows = service_rows(
                [
                    Button(offer.label, f"rr:{flag}:{start}:{end}:{offer.code}")
                    for offer in report_services(
                        self.reporting, officer, language, staff_range=period
                    )
                ]
            )
            text = tr(language, "officer.range_choose_service", period=period)
            await self.api.send(user, View(text, rows))
            return True
        rows_: list[tuple[Button, ...]] = []
        if self.reporting.services_of(officer):
            buttons = [
                Button(tr(language, key), f"rp:{flag}:{code}")
                for code, key in offered_periods(self.reporting).items()
            ]
            rows_ += [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
        if self.reporting.is_internal_officer(officer):
            rows_ += [
                (Button(tr(language, key), f"rs:{flag}:{code}"),)
                for code, key in STAFF_PERIODS.items()
            ]
        key = "officer.choose_period_export" if export else "officer.choose_period_report"
        await self.api.send(user, View(tr(language, key), tuple(rows_)))
        return True

    # --- the buttons --------------------------------------------------------------------

    async def press(self, user: int, language: Language, payload: str, answer: Answer) -> bool:
        """Handle a report button; False when the person is no officer (the front answers it
        as any stale button). Whatever is decided, the press gets one answer."""
        officer = max_chat(user)
        if not is_report_payload(payload) or not self.reporting.is_officer(officer):
            return False
        kind, _, rest = payload.partition(":")
        flag, _, rest = rest.partition(":")
        if kind == "rd":
            await self._docx(user, officer, f"{flag}:{rest}", language, answer)
        elif flag not in (EXPORT, REPORT):
            await answer.notify(tr(language, "officer.stale"))
        elif kind == "rp":
            await self._period(user, officer, flag == EXPORT, rest, language, answer)
        elif kind == "rs":
            await self._staff_period(user, officer, flag == EXPORT, rest, language, answer)
        else:
            await self._range(user, officer, flag == EXPORT, rest, language, answer)
        return True

    async def _period(
        self, user: int, officer: int, export: bool, rest: str, language: Language, answer: Answer
    ) -> None:
        code, _, service = rest.partition(":")
        if code not in offered_periods(self.reporting):
            await answer.notify(tr(language, "officer.stale"))
            return
        if not service:
            offers = report_services(self.reporting, officer, language)
            if not offers:  # an internal officer only: no service is theirs
                await answer.notify(tr(language, "officer.forbidden"))
                return
            flag = EXPORT if export else REPORT
            rows = service_rows([Button(o.label, f"rp:{flag}:{code}:{o.code}") for o in offers])
            await self._show(user, answer, View(tr(language, "officer.choose_service"), rows))
            return
        scope = report_scope(self.reporting, officer, service)
        if scope is None:
            await answer.notify(tr(language, "officer.forbidden"))
            return
        period = period_for(code, self.feedback.today())
        title = self.reporting.default_title(scope, language)
        shown = View(
            f"{tr(language, PERIODS[code])}: {period}, {title}",
            self._docx_row(scope, export, period, language),
        )
        await self._show(user, answer, shown, tr(language, "officer.preparing"))
        await self._deliver(user, period, scope, export, language)

    async def _staff_period(
        self, user: int, officer: int, export: bool, code: str, language: Language, answer: Answer
    ) -> None:
        if code not in STAFF_PERIODS:
            await answer.notify(tr(language, "officer.stale"))
            return
        if not self.reporting.is_internal_officer(officer):
            await answer.notify(tr(language, "officer.staff_only"))
            return
        period = period_for(code, self.feedback.today())
        shown = View(f"{tr(language, STAFF_PERIODS[code])}: {period}")
        await self._show(user, answer, shown, tr(language, "officer.preparing"))
        await self._deliver_staff(user, period, export, language)

    async def _range(
        self, user: int, officer: int, export: bool, rest: str, language: Language, answer: Answer
    ) -> None:
        start, _, rest = rest.partition(":")
        end, _, service = rest.partition(":")
        period = pressed_range(self.reporting, start, end, self.feedback.today())
        if period is None or not service:
            await answer.notify(tr(language, "officer.stale"))
            return
        if service == STAFF_REPORT:
            if not whole_quarters(period):
                await answer.notify(tr(language, "officer.stale"))
                return
            if not self.reporting.is_internal_officer(officer):
                await answer.notify(tr(language, "officer.staff_only"))
                return
            shown = View(tr(language, "officer.period_staff", period=period))
            await self._show(user, answer, shown, tr(language, "officer.preparing"))
            await self._deliver_staff(user, period, export, language)
            return
        scope = report_scope(self.reporting, officer, service)
        if scope is None:
            await answer.notify(tr(language, "officer.forbidden"))
            return
        title = self.reporting.default_title(scope, language)
        shown = View(
            tr(language, "officer.period_scope", period=period, title=title),
            self._docx_row(scope, export, period, language),
        )
        await self._show(user, answer, shown, tr(language, "officer.preparing"))
        await self._deliver(user, period, scope, export, language)

    async def _docx(
        self, user: int, officer: int, days: str, language: Language, answer: Answer
    ) -> None:
        start, _, end = days.partition(":")
        period = pressed_range(self.reporting, start, end, self.feedback.today())
        if period is None or self.appendix2 is None:
            await answer.notify(tr(language, "officer.stale"))
            return
        # Body-wide: every process and the appeals monitoring (internal, §3.6).
        if not self.reporting.may_see(officer, Scope()):
            await answer.notify(tr(language, "officer.forbidden_all"))
            return
        await answer.notify(tr(language, "officer.preparing_document"))
        data = await self.appendix2.docx(period, beside_of(period), language)
        caption = tr(language, "officer.docx_caption", period=period)
        await self.api.send_file(user, file_name(period), data, caption)

    # --- drawing and delivery -----------------------------------------------------------

    async def _show(
        self, user: int, answer: Answer, view: View, notification: str | None = None
    ) -> None:
        """In place of the pressed message, or (MAX refused the edit) as a new one."""
        if not await answer.replace(view, notification):
            await answer.notify(notification)
            await self.api.send(user, view)

    def _docx_row(
        self, scope: Scope, export: bool, period: Period, language: Language
    ) -> tuple[tuple[Button, ...], ...]:
        """The Appendix 2 button under a body-wide report (not under a workbook export)."""
        if self.appendix2 is None or export or scope.service is not None:
            return ()
        start, end = range_days(period)
        return ((Button(tr(language, "officer.docx_button"), f"rd:{start}:{end}"),),)

    async def _deliver(
        self, user: int, period: Period, scope: Scope, export: bool, language: Language
    ) -> None:
        """The report (messages, then charts as files) or the workbook of one period and scope."""
        if export:
            workbook = await self.reporting.workbook(period, scope, language=language)
            name = f"otklik-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
            caption = tr(language, "officer.workbook_caption", period=period)
            await self.api.send_file(user, name, workbook, caption)
            return
        files = await self.reporting.report_files(period, scope, language)
        await self._send_all(user, files.messages, files.charts)

    async def _deliver_staff(
        self, user: int, period: Period, export: bool, language: Language
    ) -> None:
        """The staff report (messages and chart) or its workbook."""
        if export:
            workbook = await self.reporting.internal_workbook(period, language)
            name = f"otklik-staff-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
            caption = tr(language, "officer.staff_workbook_caption", period=period)
            await self.api.send_file(user, name, workbook, caption)
            return
        files = await self.reporting.internal_report_files(period, language)
        await self._send_all(user, files.messages, files.charts)

    async def _send_all(
        self, user: int, messages: list[str], charts: list[tuple[str, bytes]]
    ) -> None:
        # Written for Telegram's HTML, sent as MAX HTML, cut to MAX's own limit.
        for text in messages:
            for part in split_message(text, TEXT_LIMIT):
                await self.api.send(user, View(part, html=True))
        for name, png in charts:
            await self.api.send_file(user, name, png, "")
