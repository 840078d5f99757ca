"""Write-only XLSX sheets for every workbook: header bold and frozen, widths from the content,
number formats, text kept text (never a formula), optional protection of all but some columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder

from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.figures import band_text
from reports.model import Band

PERCENT: Final = "0.0%"
MEAN: Final = "0.00"
COUNT: Final = "0"
DATE: Final = "DD.MM.YYYY"
_CELL_CHARS: Final = 32_767  # Excel's limit for one cell
_WIDTH_SAMPLE: Final = 500
_BOLD: Final = Font(bold=True)
_WRAP: Final = Alignment(wrap_text=True, vertical="top")
_UNLOCKED: Final = Protection(locked=False)

Value = str | int | float | date | None


def hidden(language: Language = Language.RU) -> str:
    """What a hidden figure's cell says."""
    return tr(language, "workbook.hidden")


def band_word(band: Band | None, language: Language = Language.RU) -> str | None:
    """A band's cell: высокий / средний / низкий (none without a band)."""
    return None if band is None else band_text(band, language)


def points_format(language: Language = Language.RU) -> str:
    """The number format of a change in percentage points: +1.5 п.п. (pp)."""
    unit = tr(language, "workbook.points")
    return f'+0.0" {unit}";-0.0" {unit}";0.0" {unit}"'


class Sheet:
    """A write-only sheet: header row bold and frozen, column widths from the content."""

    def __init__(
        self,
        book: Workbook,
        title: str,
        header: Sequence[str],
        rows: Sequence[Sequence[Value | tuple[Value, str]]],
        *,
        wide: Mapping[int, float] | None = None,
        editable: frozenset[int] | None = None,
        hidden: Sequence[int] = (),
    ) -> None:
        sheet: WriteOnlyWorksheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        widths = [len(name) for name in header]
        for row in rows[:_WIDTH_SAMPLE]:
            for index, item in enumerate(row):
                value = item[0] if isinstance(item, tuple) else item
                if index < len(widths):
                    widths[index] = max(widths[index], _width(value))
        # Set in WriteOnlyWorksheet.__init__; the stubs do not declare it.
        dimensions: DimensionHolder[str, ColumnDimension] = sheet.column_dimensions  # type: ignore[attr-defined]
        for index, width in enumerate(widths):
            letter = get_column_letter(index + 1)
            given = (wide or {}).get(index)
            dimensions[letter].width = given or min(max(width + 2, 8), 60)
            dimensions[letter].hidden = index in hidden
        sheet.append([cell(sheet, name, bold=True) for name in header])
        for row in rows:
            cells = [cell(sheet, *_split(item)) for item in row]
            for index in editable or ():
                if index < len(cells):
                    cells[index].protection = _UNLOCKED
            sheet.append(cells)
        if editable is not None:
            # Locked but for the editable columns; sorting, filtering and row insertion
            # stay allowed. No password: it only guards against slips.
            protection = sheet.protection  # type: ignore[attr-defined]
            protection.sheet = True
            protection.sort = False
            protection.autoFilter = False
            protection.insertRows = False
            protection.formatColumns = False


def _split(item: Value | tuple[Value, str]) -> tuple[Value, str | None]:
    return item if isinstance(item, tuple) else (item, None)


def _width(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        return 8
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:_CELL_CHARS]


def _storable(value: Value) -> str | float | datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        # Excel keeps days as date-times anyway; midnight with a day format reads as the day.
        return datetime.combine(value, time())
    return value


def cell(
    sheet: WriteOnlyWorksheet,
    value: Value,
    number_format: str | None = None,
    *,
    bold: bool = False,
) -> Cell:
    if isinstance(value, str):
        value = _text(value)
    cell = WriteOnlyCell(sheet, value=_storable(value))
    if isinstance(value, str):
        # A comment starting with "=" must stay text, never become a formula.
        cell.data_type = "s"
        if "\n" in value or len(value) > 60:  # 60: the widest column made from content
            cell.alignment = _WRAP
    if isinstance(value, date):
        cell.number_format = DATE
    if number_format:
        cell.number_format = number_format
    if bold:
        cell.font = _BOLD
    return cell
