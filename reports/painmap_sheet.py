"""The pain map's «Проблемы» sheet (Procedure Appendix 1), shared by every workbook that carries
the persisted map: the report workbook (reports.workbook) and the staff workbook
(reports.parameter_render). Read back by reports.painmap_import (the round trip)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from openpyxl import Workbook

from reports.model import priority_band
from reports.painmap_import import STATUS_TITLES, PainMapLine
from reports.sheet import BANDS as _BANDS
from reports.sheet import DATE as _DATE
from reports.sheet import HIDDEN
from reports.sheet import MEAN as _MEAN
from reports.sheet import PERCENT as _PERCENT
from reports.sheet import Sheet as _Sheet
from reports.sheet import Value as _Value

PROBLEMS: Final = "Проблемы"
#: Pain map columns, Procedure Appendix 1; then three reference figures behind the priority,
#: and the touchpoint the map may be grouped by (§3.7; after the columns of older exports).
PAIN_MAP_COLUMNS: Final = (
    "№",
    "Процесс",
    "Проблема / потенциальная потребность",
    "Распространённость",
    "Приоритет",
    "Меры",
    "Ответственный",
    "Срок",
    "Статус",
    "Назвали, чел.",
    "Средняя оценка назвавших",
    "Индекс приоритета",
    "Источник",
    "Период данных",
    "Точка взаимодействия",
    # Hidden and locked: the pain (and measure) a row belongs to, for the round trip
    # (reports.painmap_import).
    "Ключ",
)
#: Columns an officer edits on the protected pain map sheet.
_EDITABLE: Final = frozenset(range(5, 9))
#: A pain of the whole process, not of one touchpoint.
ALL_TOUCHPOINTS: Final = "все каналы"


def pain_map_rows(lines: Sequence[PainMapLine]) -> list[list[_Value | tuple[_Value, str]]]:
    """The persisted pain map: each row names its own process (reports.painmap_import)."""
    rows: list[list[_Value | tuple[_Value, str]]] = []
    for number, line in enumerate(lines, start=1):
        band = None if line.hidden else priority_band(line.priority)
        figure = HIDDEN if line.hidden else None
        rows.append(
            [
                number,
                line.process,
                line.problem,
                figure or (line.prevalence, _PERCENT),
                figure or (_BANDS[band] if band is not None else None),
                line.measure,
                line.responsible,
                (line.deadline, _DATE),
                STATUS_TITLES.get(line.status or "", None),
                figure or line.respondents,
                figure or (line.mean_overall, _MEAN),
                figure or (line.priority, "0.00"),
                line.source,
                line.figures_period,
                line.touchpoint or ALL_TOUCHPOINTS,
                line.key,
            ]
        )
    return rows


def pain_map_sheet(book: Workbook, rows: list[list[_Value | tuple[_Value, str]]]) -> None:
    _Sheet(
        book,
        PROBLEMS,
        PAIN_MAP_COLUMNS,
        rows,
        wide={0: 5, 3: 20, 4: 12, 5: 40, 6: 25, 7: 12, 8: 14},
        editable=_EDITABLE,
        hidden=(len(PAIN_MAP_COLUMNS) - 1,),
    )


def add_pain_map_sheet(book: Workbook, lines: Sequence[PainMapLine]) -> None:
    """The persisted pain map's «Проблемы» sheet (the round trip's) in another workbook."""
    pain_map_sheet(book, pain_map_rows(lines))
