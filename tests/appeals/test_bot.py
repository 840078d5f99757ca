"""The bot side: a body-wide officer sends the register file and asks /appeals; nobody else."""

from __future__ import annotations

import io

import pytest
from aiogram.methods import GetFile, SendDocument
from openpyxl import load_workbook

from services.appeals import EXAMPLE_MAPPING, AppealsService, load_mapping
from services.officer_commands import closed_quarters
from storage.appeals import AppealStore
from tests.appeals.generate import FIXTURES
from tests.bot.conftest import OFFICER_ID, World, migrated_template, world

__all__ = ["migrated_template", "world"]


def _serve(world: World, content: bytes) -> None:
    world.harness.serve_file(content, "documents/register.csv")
    world.harness.dispatcher["appeals"] = AppealsService(
        AppealStore(world.sessions), load_mapping(EXAMPLE_MAPPING)
    )


async def test_an_officer_imports_a_register_by_sending_it(world: World) -> None:
    content = (FIXTURES / "register_cp1251.csv").read_bytes()
    _serve(world, content)
    officer = world.harness.person(OFFICER_ID)
    await officer.send_document("register_cp1251.csv", len(content))
    reply = officer.last_text()
    assert "строк 3053, добавлено 3050, уже были (обновлены) 0, с ошибками 3" in reply
    assert "register_cp1251.csv:3052: date: дата не распознана" in reply
    assert len(await world.rows("appeals")) == 3050
    await officer.send_document("register_cp1251.csv", len(content))
    assert "добавлено 0, уже были (обновлены) 3050" in officer.last_text()
    assert len(await world.rows("appeals")) == 3050


async def test_the_officer_gets_the_quarter_by_buttons(world: World) -> None:
    content = (FIXTURES / "register.xlsx").read_bytes()
    _serve(world, content)
    officer = world.harness.person(OFFICER_ID)
    await officer.send_document("register.xlsx", len(content))
    await officer.send("/appeals")
    # The clock says 23.11.2026: the 3rd quarter is the latest closed one, the 4th is not offered.
    assert officer.buttons() == ["3 кв. 2026", "2 кв. 2026", "1 кв. 2026", "4 кв. 2025"]
    await officer.click("3 кв. 2026")
    text = officer.last_text()
    assert "Поступило всего: <b>2200</b>" in text and "Удовлетворено: <b>210</b>" in text
    [document] = world.harness.sent(SendDocument)
    sent = document.document
    book = load_workbook(io.BytesIO(sent.data))
    assert book.sheetnames == ["Обращения"]


@pytest.mark.parametrize("command", ["/appeals", "file"])
async def test_nobody_else_learns_that_appeals_exist(world: World, command: str) -> None:
    content = (FIXTURES / "register_utf8.csv").read_bytes()
    _serve(world, content)
    citizen = world.harness.person(1001)
    await citizen.send("/no_such_command")
    unknown = citizen.last_text()
    if command == "file":
        await citizen.send_document("register_utf8.csv", len(content))
    else:
        await citizen.send(command)
    assert "Мониторинг" not in citizen.last_text()
    assert world.harness.sent(GetFile) == []
    assert await world.rows("appeals") == []
    if command == "/appeals":
        assert citizen.last_text() == unknown


def test_closed_quarters_never_include_the_running_one() -> None:
    from datetime import date

    quarters = closed_quarters(date(2026, 10, 1))
    assert [str(q.start) for q in quarters] == [
        "2026-07-01",
        "2026-04-01",
        "2026-01-01",
        "2025-10-01",
    ]


async def test_a_services_own_officer_gets_no_appeals(world: World) -> None:
    from services.reporting import ReportingPolicy, ReportingService

    content = (FIXTURES / "register_utf8.csv").read_bytes()
    _serve(world, content)
    catalog = world.reporting.catalog
    first = catalog.services[0].model_copy(update={"officer": 777})
    world.harness.dispatcher["reporting"] = ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=catalog.model_copy(update={"services": [first, *catalog.services[1:]]}),
        policy=ReportingPolicy(officer_ids=frozenset({OFFICER_ID})),
    )
    service_officer = world.harness.person(777)
    await service_officer.send("/report")
    assert "выберите период" in service_officer.last_text()  # an officer indeed
    await service_officer.send_document("register_utf8.csv", len(content))
    await service_officer.send("/appeals")
    assert "Мониторинг" not in service_officer.last_text()
    assert world.harness.sent(GetFile) == []
    assert await world.rows("appeals") == []


async def test_the_reply_is_in_english_for_an_english_officer(world: World) -> None:
    content = (FIXTURES / "register_utf8.csv").read_bytes()
    _serve(world, content)
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send_document("register_utf8.csv", len(content))
    reply = officer.last_text()
    assert "3053 rows, 3050 added, 0 already present (updated), 3 bad" in reply
    assert "register_utf8.csv:3054: date: date not recognised ('31.02.2026')" in reply
    await officer.send_document("photo.png", 10)
    assert officer.last_text() == "Send the appeals register export as CSV or XLSX"
    await officer.send_document("huge.csv", 21 * 1024 * 1024)
    assert "over 20 MB" in officer.last_text()


async def test_a_file_that_is_no_register_is_explained(world: World) -> None:
    _serve(world, "Номер;Дата\n1;01.08.2026\n".encode("cp1251"))
    officer = world.harness.person(OFFICER_ID)
    await officer.send_document("other.csv", 30)
    assert "ни в одной из первых 30 строк нет всех заголовков" in officer.last_text()
    assert await world.rows("appeals") == []


async def test_an_english_officer_gets_the_quarter_in_english(world: World) -> None:
    import re

    content = (FIXTURES / "register.xlsx").read_bytes()
    _serve(world, content)
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send_document("register.xlsx", len(content))
    await officer.send("/appeals")
    assert officer.buttons()[:2] == ["Q3 2026", "Q2 2026"]
    await officer.click("Q3 2026")
    text = officer.last_text()
    assert "Received in total: <b>2200</b>" in text and "Upheld: <b>210</b>" in text
    # The mapping's English titles name the channels, reasons and topics: no line is Russian.
    assert "• Missed deadline: 900" in text and "• Gosuslugi portal: 1000" in text
    cyrillic = re.compile(r"[\u0400-\u04ff]")
    for line in text.splitlines():
        assert not cyrillic.search(line), line
    [document] = world.harness.sent(SendDocument)
    book = load_workbook(io.BytesIO(document.document.data))
    assert book.sheetnames == ["Appeals"]
    for row in book["Appeals"].iter_rows(values_only=True):
        for value in row:
            if isinstance(value, str):
                assert not cyrillic.search(value), value
