"""The pain map sheet of the officer's workbook: its rows from the persisted map, and the
sheet read back with the measures an officer edited in Excel.

Only the measure columns are read (Меры, Ответственный, Срок, Статус) with the hidden key
column; figures typed over are ignored. Every cell is checked here for its form (dates,
statuses, lengths, keys); services.painmap checks what needs the database (a key that names no
pain, a pain the officer may not see) and writes all rows or none.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

#: The sheet and the headers the round trip relies on (reports.workbook writes them).
SHEET: Final = "Проблемы"
KEY: Final = "Ключ"
MEASURE: Final = "Меры"
RESPONSIBLE: Final = "Ответственный"
DEADLINE: Final = "Срок"
STATUS: Final = "Статус"
REQUIRED: Final = (KEY, MEASURE, RESPONSIBLE, DEADLINE, STATUS)
#: Status words as the sheet shows them; codes are accepted too.
STATUS_TITLES: Final = {
    "planned": "запланирована",
    "in_progress": "выполняется",
    "done": "выполнена",
    "dropped": "отменена",
}
_STATUS_WORDS: Final = {
    **{title: code for code, title in STATUS_TITLES.items()},
    **{code: code for code in STATUS_TITLES},
    **{code.replace("_", " "): code for code in STATUS_TITLES},
}
#: pain key, or pain key "." measure key: 32 hex digits each (storage.painmap).
KEY_PATTERN: Final = re.compile(r"^([0-9a-f]{32})(?:\.([0-9a-f]{32}))?$")
MAX_ROWS: Final = 5_000
MAX_CELL: Final = 2_000


@dataclass(frozen=True, slots=True)
class CellError:
    """One refused cell, located as Excel shows it."""

    row: int
    column: str  # header text
    letter: str  # column letter
    problem: str  # a key of services.painmap import texts
    value: str = ""

    def describe(self, texts: dict[str, str]) -> str:
        where = f"{SHEET}!{self.letter}{self.row} ({self.column})"
        shown = f" «{self.value[:60]}»" if self.value else ""
        return f"{where}: {texts[self.problem]}{shown}"


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One row of the pain map as the officer left it; measure fields are raw cell text."""

    row: int
    pain_id: str
    measure_id: str | None
    text: str
    responsible: str
    deadline: date | None
    status: str | None  # a code
    letters: dict[str, str]  # header -> column letter, for errors found later


@dataclass(frozen=True, slots=True)
class PainMapLine:
    """One row of the pain map sheet: a pain with one of its measures (or none yet).

    Figures are the disclosed ones of ``figures_period`` (hidden: none shown)."""

    process: str
    problem: str
    source: str
    key: str  # pain key, or pain key "." measure key
    figures_period: str = ""
    hidden: bool = True
    respondents: int | None = None
    prevalence: float | None = None
    mean_overall: float | None = None
    priority: float | None = None
    measure: str | None = None
    responsible: str | None = None
    deadline: date | None = None
    status: str | None = None  # a code
    touchpoint: str = ""  # the channel's title; '' for a pain of the whole process


class NotAPainMap(ValueError):
    """The file has no pain map sheet with the round trip's columns."""


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _deadline(value: object) -> date | str | None:
    """A day, None for an empty cell, or the text that is no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return text


def is_pain_map(data: bytes) -> bool:
    """Whether an XLSX file carries the pain map sheet with its key column."""
    try:
        _header(data)
    except NotAPainMap:
        return False
    return True


def _open(data: bytes) -> Generator[tuple[object, ...], None, None]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise NotAPainMap(str(error)) from error
    if SHEET not in book.sheetnames:
        book.close()
        raise NotAPainMap(SHEET)
    try:
        yield from book[SHEET].iter_rows(values_only=True)
    finally:
        book.close()


def _header(data: bytes) -> dict[str, int]:
    rows = _open(data)
    first = next(rows, None)
    rows.close()
    if first is None:
        raise NotAPainMap("empty")
    header = {_cell_text(value): index for index, value in enumerate(first) if value}
    if any(name not in header for name in REQUIRED):
        raise NotAPainMap("columns")
    return header


def read_sheet(data: bytes) -> tuple[list[SheetRow], list[CellError]]:
    """The rows with a key, and every cell refused for its form (row numbers as in Excel)."""
    header = _header(data)
    letters = {name: get_column_letter(index + 1) for name, index in header.items()}
    rows: list[SheetRow] = []
    errors: list[CellError] = []
    seen: dict[str, int] = {}

    def bad(row: int, column: str, problem: str, value: object = "") -> None:
        errors.append(CellError(row, column, letters[column], problem, _cell_text(value)))

    for number, values in enumerate(_open(data), start=1):
        if number == 1:
            continue
        if number > MAX_ROWS + 1:
            bad(number, KEY, "too_many")
            break

        def cell(name: str, values: tuple[object, ...] = values) -> object:
            index = header[name]
            return values[index] if index < len(values) else None

        key = _cell_text(cell(KEY))
        text, responsible = _cell_text(cell(MEASURE)), _cell_text(cell(RESPONSIBLE))
        raw_status = _cell_text(cell(STATUS))
        if not key:
            if text or responsible or raw_status or cell(DEADLINE) is not None:
                bad(number, KEY, "no_key")
            continue
        match = KEY_PATTERN.match(key.lower())
        if match is None:
            bad(number, KEY, "bad_key", key)
            continue
        pain_id, measure_id = match.group(1), match.group(2)
        if measure_id is not None:
            if measure_id in seen:
                bad(number, KEY, "twice", key)
                continue
            seen[measure_id] = number
        row_errors = len(errors)
        for name, value in ((MEASURE, text), (RESPONSIBLE, responsible)):
            if len(value) > MAX_CELL:
                bad(number, name, "too_long", value)
        deadline = _deadline(cell(DEADLINE))
        if isinstance(deadline, str):
            bad(number, DEADLINE, "bad_date", deadline)
            deadline = None
        status = _STATUS_WORDS.get(raw_status.casefold()) if raw_status else None
        if raw_status and status is None:
            bad(number, STATUS, "bad_status", raw_status)
        if len(errors) == row_errors:
            rows.append(
                SheetRow(number, pain_id, measure_id, text, responsible, deadline, status, letters)
            )
    return rows, errors
