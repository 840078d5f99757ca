"""Issue 11: the semiannual delivery brings the Appendix 2 document (1 July, 1 January)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import docx

from questionnaires.schema import Language
from reports.disclosure import DisclosurePolicy
from reports.model import Period
from scheduler.deliveries import ReportDeliveries, ReportSchedule
from services.appendix2 import Appendix2Service
from services.reporting import ReportingPolicy, ReportingService
from storage.deliveries import DeliveryStore
from tests.bot.conftest import BODY, INTERNAL_OFFICER_ID, OFFICER_ID, World
from tests.bot.test_deliveries import ZONE, FakeOutbox, _installed, _local


@dataclass
class KeepingOutbox(FakeOutbox):
    files: dict[str, bytes] = field(default_factory=dict)

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        await super().document(chat_id, name, data, caption)
        self.files[name] = data


def _deliveries(world: World, outbox: FakeOutbox) -> ReportDeliveries:
    return ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", weekly=True),
        store=DeliveryStore(world.sessions),
        reporting=world.reporting,
        outbox=outbox,
        appendix2=Appendix2Service(reporting=world.reporting, body=BODY),
    )


async def test_the_year_report_with_its_half_and_the_first_half_report(world: World) -> None:
    await _installed(world, date(2025, 12, 1))
    outbox = KeepingOutbox()
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 6, 30, 12, 0))  # first start: as of 31 December 2025
    assert outbox.documents == [
        (OFFICER_ID, "otklik-2025.xlsx"),
        (OFFICER_ID, "otklik-appendix2-20250101-20251231.docx"),
        (OFFICER_ID, "otklik-2025-H2.xlsx"),
        # The internal officer gets the year's staff report only (§3.2), not Appendix 2.
        (INTERNAL_OFFICER_ID, "otklik-staff-2025.xlsx"),
    ]
    year = docx.Document(io.BytesIO(outbox.files["otklik-appendix2-20250101-20251231.docx"]))
    assert year.paragraphs[1].text == (
        "Отчетный период: 01.01.2025–31.12.2025 (в том числе полугодие 01.07.2025–31.12.2025)"
    )
    outbox.documents.clear()
    assert await deliveries.tick(_local(2026, 7, 1, 9, 0)) == 1
    assert outbox.documents == [
        (OFFICER_ID, "otklik-appendix2-20260101-20260630.docx"),
        (OFFICER_ID, "otklik-2026-H1.xlsx"),
    ]
    half = docx.Document(io.BytesIO(outbox.files["otklik-appendix2-20260101-20260630.docx"]))
    assert half.paragraphs[0].text.startswith(f"Отчет о проведении сбора обратной связи в {BODY}")


async def test_a_service_officer_gets_no_body_wide_document(world: World) -> None:
    catalog = world.reporting.catalog
    licensing = catalog.services[0].model_copy(update={"officer": 777})
    reporting = ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=catalog.model_copy(update={"services": (licensing, *catalog.services[1:])}),
        policy=ReportingPolicy(disclosure=DisclosurePolicy(weekly=True)),
    )
    await _installed(world, date(2025, 12, 1))
    outbox = KeepingOutbox()
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", weekly=True),
        store=DeliveryStore(world.sessions),
        reporting=reporting,
        outbox=outbox,
        appendix2=Appendix2Service(reporting=reporting, body=BODY),
    )
    await deliveries.tick(_local(2026, 7, 1, 9, 0))
    # The officer of one service gets that service's half-year, not the body-wide document.
    assert outbox.documents == [(777, "otklik-2026-H1.xlsx")]


class CountingAppendix2(Appendix2Service):
    built: int = 0

    async def docx(
        self, period: Period, beside: Period | None = None, language: Language = Language.RU
    ) -> bytes:
        self.built += 1
        return await super().docx(period, beside, language)


async def test_two_body_wide_officers_get_one_document_built_once(world: World) -> None:
    reporting = ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=world.reporting.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset({OFFICER_ID, 600600}),
            disclosure=DisclosurePolicy(weekly=True),
        ),
    )
    await _installed(world, date(2025, 12, 1))
    outbox = KeepingOutbox()
    appendix2 = CountingAppendix2(reporting=reporting, body=BODY)
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", weekly=True),
        store=DeliveryStore(world.sessions),
        reporting=reporting,
        outbox=outbox,
        appendix2=appendix2,
    )
    await deliveries.tick(_local(2026, 7, 1, 9, 0))
    name = "otklik-appendix2-20260101-20260630.docx"
    assert sorted(chat for chat, file in outbox.documents if file == name) == [
        OFFICER_ID,
        600600,
    ]
    assert appendix2.built == 1
