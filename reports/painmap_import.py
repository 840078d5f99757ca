"""The pain map sheet of the officer's workbook: its rows from the persisted map, and the
sheet read back with the measures an officer edited in Excel.

Only the measure columns are read (Меры, Ответственный, Срок, Статус) with the hidden key
column; figures typed over are ignored. The sheet may come in either language the workbook is
written in (reports.painmap_sheet): its name and the five headers are those of one catalogue
language, found by their texts; a header that is neither (renamed, or mixed) is refused with
the columns it lacks. Every cell is checked here for its form (dates, statuses, lengths, keys);
services.painmap checks what needs the database (a key that names no pain, a pain the officer
may not see) and writes all rows or none.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language

#: The sheet's name in each language (reports.painmap_sheet writes it).
SHEET_TITLE: Final = N_("workbook.painmap.sheet")
#: The columns the round trip relies on, by role; their headers are catalogue texts.
KEY: Final = "key"
MEASURE: Final = "measure"
RESPONSIBLE: Final = "responsible"
DEADLINE: Final = "deadline"
STATUS: Final = "status"
HEADERS: Final[dict[str, str]] = {
    KEY: N_("workbook.painmap.key"),
    MEASURE: N_("workbook.painmap.measures"),
    RESPONSIBLE: N_("workbook.painmap.responsible"),
    DEADLINE: N_("workbook.painmap.deadline"),
    STATUS: N_("workbook.painmap.status"),
}
REQUIRED: Final = (KEY, MEASURE, RESPONSIBLE, DEADLINE, STATUS)
#: Status words as the sheet shows them, in each language; codes are accepted too.
STATUS_KEYS: Final[dict[str, str]] = {
    "planned": N_("painmap.status.planned"),
    "in_progress": N_("painmap.status.in_progress"),
    "done": N_("painmap.status.done"),
    "dropped": N_("painmap.status.dropped"),
}
#: pain key, or pain key "." measure key: 32 hex digits each (storage.painmap).
KEY_PATTERN: Final = re.compile(r"^([0-9a-f]{32})(?:\.([0-9a-f]{32}))?$")
MAX_ROWS: Final = 5_000
MAX_CELL: Final = 2_000


def sheet_title(language: Language = Language.RU) -> str:
    """The pain map sheet's name: «Проблемы», Problems."""
    return tr(language, SHEET_TITLE)


def header(column: str, language: Language = Language.RU) -> str:
    """The header of a round-trip column (KEY, MEASURE, ...) in `language`."""
    return tr(language, HEADERS[column])


def status_title(status: str, language: Language = Language.RU) -> str:
    """A measure status as the sheet and the bot show it (the code itself if unknown)."""
    key = STATUS_KEYS.get(status)
    return status if key is None else tr(language, key)


def _status_words() -> dict[str, str]:
    words = {code: code for code in STATUS_KEYS}
    words.update({code.replace("_", " "): code for code in STATUS_KEYS})
    for language in Language:
        words.update({status_title(code, language).casefold(): code for code in STATUS_KEYS})
    return words


@dataclass(frozen=True, slots=True)
class CellError:
    """One refused cell, located as Excel shows it."""

    row: int
    column: str  # header text, as the file has it
    letter: str  # column letter
    problem: str  # a key of services.painmap import texts
    value: str = ""
    sheet: str = ""  # the sheet's name, as the file has it

    def describe(self, texts: Mapping[str, str]) -> str:
        """Where (as Excel shows it), what is wrong (`texts`: in the reader's language) and
        the value refused."""
        where = f"{self.sheet or sheet_title()}!{self.letter}{self.row} ({self.column})"
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
    letters: dict[str, str]  # column (KEY, ...) -> its letter, for errors found later
    headers: dict[str, str]  # column (KEY, ...) -> its header as the file has it
    sheet: str  # the sheet's name as the file has it

    def error(self, column: str, problem: str, value: str = "") -> CellError:
        """A refused cell of this row (found later, e.g. a key naming no pain)."""
        return CellError(
            self.row, self.headers[column], self.letters[column], problem, value, self.sheet
        )


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


class BadHeader(NotAPainMap):
    """The pain map sheet is there, but its header row is not one language's round-trip
    columns (renamed, deleted or mixed): `missing` are the columns of the language it came
    closest to, which the officer should restore (a fresh export has them)."""

    def __init__(self, sheet: str, language: Language, missing: tuple[str, ...]) -> None:
        self.sheet = sheet
        self.language = language
        self.missing = missing  # KEY, MEASURE, ...
        names = ", ".join(header(column, language) for column in missing)
        super().__init__(f"{sheet}: no column(s) {names}")

    def names(self) -> str:
        """The missing headers as the file should have them, «quoted»."""
        return ", ".join(f"«{header(column, self.language)}»" for column in self.missing)


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
    """Whether an XLSX file carries a pain map sheet (in either language): the import then
    reads it, or says what is wrong with its header."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return False
    try:
        return _sheet_name(book.sheetnames) is not None
    finally:
        book.close()


def _sheet_name(names: list[str]) -> str | None:
    titles = {sheet_title(language) for language in Language}
    return next((name for name in names if name in titles), None)


def _open(data: bytes) -> tuple[str, Generator[tuple[object, ...], None, None]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise NotAPainMap(str(error)) from error
    name = _sheet_name(book.sheetnames)
    if name is None:
        book.close()
        raise NotAPainMap(sheet_title())

    def rows() -> Generator[tuple[object, ...], None, None]:
        try:
            yield from book[name].iter_rows(values_only=True)
        finally:
            book.close()

    return name, rows()


def _header(data: bytes) -> tuple[str, dict[str, int]]:
    """The sheet's name and where each round-trip column is, in the one language whose five
    headers the first row has; BadHeader names what is missing otherwise."""
    name, rows = _open(data)
    first = next(rows, None)
    rows.close()
    found = {_cell_text(value): index for index, value in enumerate(first or ()) if value}
    # The sheet's own language first: a tie (nothing matches) names its columns.
    languages = sorted(Language, key=lambda language: sheet_title(language) != name)
    best: tuple[Language, tuple[str, ...]] | None = None
    for language in languages:
        missing = tuple(c for c in REQUIRED if header(c, language) not in found)
        if not missing:
            return name, {column: found[header(column, language)] for column in REQUIRED}
        if best is None or len(missing) < len(best[1]):
            best = (language, missing)
    assert best is not None
    raise BadHeader(name, *best)


def read_sheet(data: bytes) -> tuple[list[SheetRow], list[CellError]]:
    """The rows with a key, and every cell refused for its form (row numbers as in Excel)."""
    name, columns = _header(data)
    letters = {column: get_column_letter(index + 1) for column, index in columns.items()}
    _, lines = _open(data)
    headers: dict[str, str] = {}
    rows: list[SheetRow] = []
    errors: list[CellError] = []
    seen: dict[str, int] = {}
    statuses = _status_words()

    def bad(row: int, column: str, problem: str, value: object = "") -> None:
        errors.append(
            CellError(row, headers[column], letters[column], problem, _cell_text(value), name)
        )

    for number, values in enumerate(lines, start=1):
        if number == 1:
            headers = {column: _cell_text(values[index]) for column, index in columns.items()}
            continue
        if number > MAX_ROWS + 1:
            bad(number, KEY, "too_many")
            break

        def cell(column: str, values: tuple[object, ...] = values) -> object:
            index = columns[column]
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
        for column, value in ((MEASURE, text), (RESPONSIBLE, responsible)):
            if len(value) > MAX_CELL:
                bad(number, column, "too_long", value)
        deadline = _deadline(cell(DEADLINE))
        if isinstance(deadline, str):
            bad(number, DEADLINE, "bad_date", deadline)
            deadline = None
        status = statuses.get(raw_status.casefold()) if raw_status else None
        if raw_status and status is None:
            bad(number, STATUS, "bad_status", raw_status)
        if len(errors) == row_errors:
            rows.append(
                SheetRow(
                    number,
                    pain_id,
                    measure_id,
                    text,
                    responsible,
                    deadline,
                    status,
                    letters,
                    headers,
                    name,
                )
            )
    return rows, errors
