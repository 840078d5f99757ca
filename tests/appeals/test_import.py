"""Import of sample registers: encodings, delimiters, title rows, bad rows, no personal data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.errors import DefinitionError
from services.appeals import (
    AppealsMapping,
    AppealsService,
    Problem,
    RegisterError,
    load_mapping,
    parse_register,
)
from storage.appeals import AppealStore
from storage.models_appeals import Appeal
from tests.appeals import generate
from tests.appeals.generate import FIRST_DATA_ROW, FIXTURES, PERSON

ROWS = len(generate.records())  # 2,200 + 800 + 50
SAMPLES = ("register_cp1251.csv", "register_utf8.csv", "register.xlsx")


def test_the_generator_counts_what_the_tests_assume() -> None:
    assert ROWS == 2200 + 800 + 50 == 3050


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_parses_with_its_bad_rows_located(name: str, mapping: AppealsMapping) -> None:
    rows, errors, read = parse_register(name, (FIXTURES / name).read_bytes(), mapping)
    assert read == ROWS + 3
    assert len(rows) == ROWS
    first_bad = FIRST_DATA_ROW[name] + ROWS
    assert [(e.file, e.row, e.field, e.problem) for e in errors] == [
        (name, first_bad, "date", Problem.BAD_DATE),
        (name, first_bad + 1, "kind", Problem.UNKNOWN),
        (name, first_bad + 2, "register_no", Problem.MISSING),
    ]
    assert f"{name}:{first_bad}: date" in errors[0].describe("en")
    assert "дата не распознана" in errors[0].describe("ru")


def test_all_samples_read_the_same_rows(mapping: AppealsMapping) -> None:
    parsed = [
        sorted(parse_register(n, (FIXTURES / n).read_bytes(), mapping)[0], key=repr)
        for n in SAMPLES
    ]
    assert parsed[0] == parsed[1] == parsed[2]
    by_number = {row.register_no: row for row in parsed[0]}
    record = generate.records()[0]
    row = by_number[record.number]
    assert (row.received_on, row.kind, row.outcome, row.channel, row.topic, row.reason) == (
        record.day,
        record.kind,
        record.outcome,
        record.channel,
        record.topic,
        record.reason,
    )


def test_utf8_with_bom_and_semicolons_is_read(mapping: AppealsMapping) -> None:
    records = generate.records()[:20]
    data = b"\xef\xbb\xbf" + generate.csv_bytes(
        records, encoding="utf-8", delimiter=";", bad=False
    )
    rows, errors, _ = parse_register("bom.csv", data, mapping)
    assert (len(rows), errors) == (20, [])


def test_a_file_without_the_mapped_header_is_refused(mapping: AppealsMapping) -> None:
    with pytest.raises(RegisterError, match="Регистрационный номер"):
        parse_register("other.csv", b"a;b\n1;2\n", mapping)


async def test_a_file_that_is_no_text_in_either_encoding_is_explained_not_raised(
    service: AppealsService, store: AppealStore, mapping: AppealsMapping
) -> None:
    # Review of issue 10: byte 0x98 is neither UTF-8 here nor Windows-1251, and the decoder's
    # error reached the bot as a traceback and a generic reply.
    data = (FIXTURES / "register_cp1251.csv").read_bytes() + b"\x98\n"
    with pytest.raises(RegisterError, match="cannot be read as a register") as caught:
        await service.import_register("broken.csv", data, mapping)
    assert "не читается как реестр" in caught.value.describe("ru")
    assert await store.count() == 0


async def test_import_writes_every_good_row_and_reimport_adds_nothing(
    service: AppealsService, store: AppealStore, mapping: AppealsMapping
) -> None:
    data = (FIXTURES / "register_cp1251.csv").read_bytes()
    first = await service.import_register("register_cp1251.csv", data, mapping)
    assert (first.written, first.added, first.updated, len(first.errors)) == (True, ROWS, 0, 3)
    assert await store.count() == ROWS
    # The same register again, and the same rows from another format of the same source.
    again = await service.import_register("register_cp1251.csv", data, mapping)
    xlsx = await service.import_register(
        "register.xlsx", (FIXTURES / "register.xlsx").read_bytes(), mapping
    )
    assert (again.added, again.updated, xlsx.added, xlsx.updated) == (0, ROWS, 0, ROWS)
    assert await store.count() == ROWS
    # Another source keeps its own numbering: the same numbers are other appeals.
    other = await service.import_register("pos.csv", data, mapping, source="pos")
    assert other.added == ROWS
    assert await store.count() == 2 * ROWS


async def test_reimport_updates_an_outcome_decided_since(
    service: AppealsService, sessions: async_sessionmaker[AsyncSession], mapping: AppealsMapping
) -> None:
    record = generate.Record(
        "N-1", date(2026, 8, 3), "complaint", "in_progress", "pos", "capital_repair", None
    )
    before = generate.csv_bytes([record], encoding="utf-8", delimiter=";", bad=False)
    decided = generate.Record(**{**record.__dict__, "outcome": "satisfied"})
    after = generate.csv_bytes([decided], encoding="utf-8", delimiter=";", bad=False)
    await service.import_register("a.csv", before, mapping)
    report = await service.import_register("a.csv", after, mapping)
    assert (report.added, report.updated) == (0, 1)
    async with sessions() as session:
        assert (await session.scalars(select(Appeal.outcome))).all() == ["satisfied"]


async def test_all_or_nothing_writes_nothing_when_a_row_is_bad(
    service: AppealsService, store: AppealStore, mapping: AppealsMapping
) -> None:
    data = (FIXTURES / "register_utf8.csv").read_bytes()
    report = await service.import_register("register_utf8.csv", data, mapping, all_or_nothing=True)
    assert (report.written, report.valid, len(report.errors)) == (False, ROWS, 3)
    assert await store.count() == 0


async def test_no_personal_data_or_free_text_reaches_the_database(
    service: AppealsService, sessions: async_sessionmaker[AsyncSession], mapping: AppealsMapping
) -> None:
    for name in SAMPLES:
        await service.import_register(name, (FIXTURES / name).read_bytes(), mapping)
    async with sessions() as session:
        rows = (await session.execute(text("SELECT * FROM appeals"))).all()
    cells = {str(cell) for row in rows for cell in row}
    for fragment in (*PERSON, "Тестов", "Пермь", "000-00-00", "Петров", "затопил"):
        assert not any(fragment in cell for cell in cells), fragment


def _mapping_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "header",
    ["ФИО заявителя", "Адрес", "Телефон", "E-mail", "Паспорт", "СНИЛС", "ИНН", "Дата рождения"],
)
def test_a_mapping_naming_a_personal_column_is_refused_where_it_stands(
    tmp_path: Path, header: str
) -> None:
    path = _mapping_file(
        tmp_path,
        "source: reg\n"
        "columns:\n"
        "  register_no: Номер\n"
        "  date: Дата\n"
        f"  kind: {header}\n"
        "values:\n"
        "  kind: {Жалоба: complaint}\n",
    )
    with pytest.raises(DefinitionError) as caught:
        load_mapping(path)
    [defect] = caught.value.defects
    assert (defect.line, defect.path) == (5, ("columns", "kind"))
    assert "personal data" in defect.message


def test_a_mapped_column_without_a_value_map_is_refused(tmp_path: Path) -> None:
    path = _mapping_file(
        tmp_path,
        "source: reg\n"
        "columns: {register_no: Номер, date: Дата, kind: Вид, topic: Тема}\n"
        "values:\n"
        "  kind: {Жалоба: complaint}\n",
    )
    with pytest.raises(DefinitionError, match=r"free text is not imported\): topic"):
        load_mapping(path)


def test_the_mapping_refuses_unknown_fields_and_bad_codes(tmp_path: Path) -> None:
    path = _mapping_file(
        tmp_path,
        "source: reg\n"
        "columns: {register_no: Номер, date: Дата, kind: Вид, comment: Текст}\n"
        "values:\n"
        "  kind: {Жалоба: grievance}\n",
    )
    with pytest.raises(DefinitionError) as caught:
        load_mapping(path)
    paths = {defect.path for defect in caught.value.defects}
    assert ("columns", "comment") in paths
    assert any(path[:2] == ("values", "kind") for path in paths)


async def test_a_source_that_is_not_a_code_is_refused(
    service: AppealsService, store: AppealStore, mapping: AppealsMapping
) -> None:
    data = (FIXTURES / "register_utf8.csv").read_bytes()
    with pytest.raises(RegisterError, match="expected a code") as caught:
        await service.import_register("r.csv", data, mapping, source="Госуслуги 2026")
    assert "нужен код" in caught.value.describe("ru")
    assert await store.count() == 0
