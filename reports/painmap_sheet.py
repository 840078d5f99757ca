"""The pain map's «Проблемы» sheet (Procedure Appendix 1), shared by every workbook that carries
the persisted map: the report workbook (reports.workbook) and the staff workbook
(reports.parameter_render). Read back by reports.painmap_import (the round trip), in either
language: the sheet's name and headers are catalogue texts (`workbook.painmap.*`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from openpyxl import Workbook

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import priority_band
from reports.painmap_import import (
    DEADLINE,
    HEADERS,
    KEY,
    MEASURE,
    RESPONSIBLE,
    STATUS,
    PainMapLine,
    sheet_title,
    status_title,
)
from reports.sheet import DATE as _DATE
from reports.sheet import MEAN as _MEAN
from reports.sheet import PERCENT as _PERCENT
from reports.sheet import Sheet as _Sheet
from reports.sheet import Value as _Value
from reports.sheet import band_word, hidden

#: Pain map columns, Procedure Appendix 1; then three reference figures behind the priority,
#: and the touchpoint the map may be grouped by (§3.7; after the columns of older exports).
#: The round trip's columns share their keys with reports.painmap_import, which reads them.
PAIN_MAP_COLUMNS: Final = (
    N_("workbook.painmap.number"),
    N_("workbook.painmap.process"),
    N_("workbook.painmap.problem"),
    N_("workbook.painmap.prevalence"),
    N_("workbook.painmap.priority"),
    HEADERS[MEASURE],
    HEADERS[RESPONSIBLE],
    HEADERS[DEADLINE],
    HEADERS[STATUS],
    N_("workbook.painmap.respondents"),
    N_("workbook.painmap.mean_overall"),
    N_("workbook.painmap.priority_index"),
    N_("workbook.painmap.source"),
    N_("workbook.painmap.figures_period"),
    N_("workbook.painmap.touchpoint"),
    # Hidden and locked: the pain (and measure) a row belongs to, for the round trip
    # (reports.painmap_import).
    HEADERS[KEY],
)
#: Columns an officer edits on the protected pain map sheet.
_EDITABLE: Final = frozenset(range(5, 9))
#: A pain's source (services.painmap: rating_problem, appeal_reason, staff_aspect) in a cell.
SOURCES: Final = {
    "rating_problem": N_("workbook.source.rating_problem"),
    "appeal_reason": N_("workbook.source.appeal_reason"),
    "staff_aspect": N_("workbook.source.staff_aspect"),
}


def all_touchpoints(language: Language = Language.RU) -> str:
    """A pain of the whole process, not of one touchpoint: «все каналы»."""
    return tr(language, "workbook.painmap.all_touchpoints")


def source_title(source: str, language: Language = Language.RU) -> str:
    key = SOURCES.get(source)
    return source if key is None else tr(language, key)


def pain_map_columns(language: Language = Language.RU) -> tuple[str, ...]:
    return tuple(tr(language, key) for key in PAIN_MAP_COLUMNS)


def pain_map_rows(
    lines: Sequence[PainMapLine], language: Language = Language.RU
) -> list[list[_Value | tuple[_Value, str]]]:
    """The persisted pain map: each row names its own process (reports.painmap_import)."""
    rows: list[list[_Value | tuple[_Value, str]]] = []
    for number, line in enumerate(lines, start=1):
        band = None if line.hidden else priority_band(line.priority)
        figure = hidden(language) if line.hidden else None
        rows.append(
            [
                number,
                line.process,
                line.problem,
                figure or (line.prevalence, _PERCENT),
                figure or band_word(band, language),
                line.measure,
                line.responsible,
                (line.deadline, _DATE),
                status_title(line.status, language) if line.status else None,
                figure or line.respondents,
                figure or (line.mean_overall, _MEAN),
                figure or (line.priority, "0.00"),
                source_title(line.source, language),
                line.figures_period,
                line.touchpoint or all_touchpoints(language),
                line.key,
            ]
        )
    return rows


def pain_map_sheet(
    book: Workbook,
    rows: list[list[_Value | tuple[_Value, str]]],
    language: Language = Language.RU,
) -> None:
    _Sheet(
        book,
        sheet_title(language),
        pain_map_columns(language),
        rows,
        wide={0: 5, 3: 20, 4: 12, 5: 40, 6: 25, 7: 12, 8: 14},
        editable=_EDITABLE,
        hidden=(len(PAIN_MAP_COLUMNS) - 1,),
    )


def add_pain_map_sheet(
    book: Workbook, lines: Sequence[PainMapLine], language: Language = Language.RU
) -> None:
    """The persisted pain map's «Проблемы» sheet (the round trip's) in another workbook."""
    pain_map_sheet(book, pain_map_rows(lines, language), language)
