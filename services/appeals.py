"""Import of a body's appeals register (Procedure §3.5, §2.4): CSV or XLSX through a mapping.

No personal data enters: only the mapped columns are taken from each row as it is read (the
rest of the line is dropped at once), a mapping that names a personal field is refused, and
every categorical value passes through the mapping's value map, so free text never reaches the
database. Rows are keyed by (source, register number): importing the same file again adds
nothing, and a corrected register updates what changed.
"""

from __future__ import annotations

import asyncio
import csv
import enum
import io
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from questionnaires.appeals import REGISTER_NO_LENGTH
from questionnaires.errors import DefinitionError
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from questionnaires.yaml_source import parse_yaml, validate_model
from reports.appeals import AppealsMonitoring, build_monitoring
from reports.disclosure import DisclosurePolicy
from reports.model import Period
from storage.appeals import AppealRow, AppealStore

logger = logging.getLogger(__name__)

#: The shipped example mapping (Russian register headers of a typical document system).
EXAMPLE_MAPPING: Final = (
    Path(__file__).resolve().parent.parent / "questionnaires" / "appeals_mapping.example.yaml"
)
#: Rows above the header searched for it: registers put titles and filters there.
HEADER_SCAN_ROWS: Final = 30
#: Largest register accepted (the Bot API lets bots download up to 20 MB).
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
MAX_REPORTED_ERRORS: Final = 50

Kind = Literal["appeal", "complaint", "suggestion"]
Outcome = Literal["satisfied", "explained", "rejected", "in_progress"]
CODE_PATTERN: Final = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
SOURCE: Final = re.compile(CODE_PATTERN)
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Header = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]

#: Headers of columns that hold a person: a mapping naming one is refused (152-FZ).
PERSONAL_HEADER: Final = re.compile(
    r"ф\.?\s*и\.?\s*о|фамили|(?<![а-яё])имя(?![а-яё])|отчеств|адрес|телефон|тел\.|e-?mail"
    r"|эл\.\s*почт|электронн\w*\s+почт|паспорт|снилс|(?<![а-яё])инн(?![а-яё])|рожд"
    r"|заявител|автор|full\s*name|first\s*name|last\s*name|surname|^\s*name\s*$|address"
    r"|phone|passport|birth|applicant",
    re.IGNORECASE,
)

#: Fields whose values are the register's words, each turned into a code by the value map.
CodedField = Literal["kind", "outcome", "channel", "topic", "reason", "service", "life_situation"]
CODED_FIELDS: Final[tuple[CodedField, ...]] = (
    "kind",
    "outcome",
    "channel",
    "topic",
    "reason",
    "service",
    "life_situation",
)


class Columns(BaseModel):
    """Register header → field. Columns not named here are never read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    register_no: Header
    date: Header
    kind: Header
    outcome: Header | None = None
    channel: Header | None = None
    topic: Header | None = None
    reason: Header | None = None
    service: Header | None = None
    life_situation: Header | None = None

    @field_validator("*")
    @classmethod
    def _not_personal(cls, value: str | None) -> str | None:
        if value is not None and PERSONAL_HEADER.search(value):
            raise ValueError(
                f"column '{value}' holds personal data and is never imported; "
                "remove it from the mapping"
            )
        return value


class Values(BaseModel):
    """The register's words → codes, per field; a word not listed makes its row bad."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: dict[str, Kind]
    outcome: dict[str, Outcome] = Field(default_factory=dict)
    channel: dict[str, Code] = Field(default_factory=dict)
    topic: dict[str, Code] = Field(default_factory=dict)
    reason: dict[str, Code] = Field(default_factory=dict)
    service: dict[str, Code] = Field(default_factory=dict)
    life_situation: dict[str, Code] = Field(default_factory=dict)


class AppealsMapping(BaseModel):
    """How one register's export reads: its headers and its words (see the example YAML)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Code
    columns: Columns
    values: Values
    date_formats: list[str] = Field(
        default_factory=lambda: ["%d.%m.%Y", "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"],
        min_length=1,
    )
    #: Optional English titles of the codes, per field, for officers who read English: a code
    #: without one is shown as its code (the register's words are Russian).
    english: dict[
        CodedField, dict[Code, Annotated[str, StringConstraints(min_length=1, max_length=200)]]
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coded(self) -> AppealsMapping:
        missing = [
            name
            for name in CODED_FIELDS
            if getattr(self.columns, name) is not None and not getattr(self.values, name)
        ]
        if missing:
            # Without a value map the register's words would be stored as they are: free text.
            raise ValueError(
                "values: a mapped column needs a value map (free text is not imported): "
                + ", ".join(missing)
            )
        unknown = [
            f"{name}.{code}"
            for name, titles in self.english.items()
            for code in titles
            if code not in set(getattr(self.values, name).values())
        ]
        if unknown:
            raise ValueError(
                "english: titles for codes that no value map gives: " + ", ".join(unknown)
            )
        return self

    def titles(self, language: Language = Language.RU) -> dict[str, dict[str, str]]:
        """Code → its label in ``language``, per field (for the report's labels): in Russian the
        register's first word for it; in English the ``english`` title, else the code itself."""
        found: dict[str, dict[str, str]] = {}
        for name in CODED_FIELDS:
            words: dict[str, str] = getattr(self.values, name)
            english = self.english.get(name, {})
            for word, code in words.items():
                label = word if language is Language.RU else english.get(code, code)
                found.setdefault(name, {}).setdefault(code, label)
        return found

    def word_map(self, name: str) -> dict[str, str]:
        """The value map of a field with its keys normalised like the cells."""
        words: dict[str, str] = getattr(self.values, name)
        return {normalise(key): code for key, code in words.items()}


def normalise(value: object) -> str:
    """A cell as compared: text, spaces collapsed, case folded."""
    return " ".join(str(value).split()).casefold()


def load_mapping(path: Path) -> AppealsMapping:
    """The mapping from YAML; every defect located (file:line:column) in DefinitionError."""
    document = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    return validate_model(document, AppealsMapping)


def appeals_mapping(path: Path) -> AppealsMapping | None:
    """The configured mapping, or None (logged) when it is missing or invalid: the bot starts
    and answers a register file with the reason instead of importing it."""
    try:
        return load_mapping(path)
    except FileNotFoundError:
        logger.error("Appeals mapping %s: no such file; register import is off", path)
    except DefinitionError as error:
        for defect in error.defects:
            logger.error("Appeals mapping: %s; register import is off", defect)
    return None


# --- reading the file ------------------------------------------------------------------------


class Problem(enum.StrEnum):
    MISSING = "missing"
    BAD_DATE = "bad_date"
    UNKNOWN = "unknown"
    TOO_LONG = "too_long"


PROBLEM_TEXTS: Final = {
    Problem.MISSING: N_("appeals_import.problem.missing"),
    Problem.BAD_DATE: N_("appeals_import.problem.bad_date"),
    Problem.UNKNOWN: N_("appeals_import.problem.unknown"),
    Problem.TOO_LONG: N_("appeals_import.problem.too_long"),
}


def _language(code: str) -> Language:
    """An error's language by code ("ru", "en"); English for anything else."""
    return Language.RU if code == Language.RU.value else Language.EN


@dataclass(frozen=True, slots=True)
class RowError:
    """A bad row: where (file and row number as a spreadsheet shows it) and why."""

    file: str
    row: int
    field: str
    problem: Problem
    value: str = ""

    def describe(self, language: str = "en") -> str:
        problem = tr(_language(language), PROBLEM_TEXTS[self.problem])
        text = f"{self.file}:{self.row}: {self.field}: {problem}"
        return text + (f" ({self.value[:40]!r})" if self.value else "")


class RegisterError(Exception):
    """The file cannot be read as a register at all (no header, unreadable format)."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(tr(Language.EN, key, **values))
        self.key = key
        self.values = values

    def describe(self, language: str = "en") -> str:
        return tr(_language(language), self.key, **self.values)


@dataclass(slots=True)
class ImportReport:
    file: str
    source: str
    rows: int = 0  # data rows read below the header
    valid: int = 0
    added: int = 0
    updated: int = 0
    written: bool = False
    errors: list[RowError] = field(default_factory=list)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _csv_rows(data: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    text = _decode(data)
    sample = "\n".join(text.splitlines()[:HEADER_SCAN_ROWS])
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # zipfile/openpyxl raise a zoo of types on a broken file
        raise RegisterError(N_("appeals_import.unreadable_xlsx"), error=error) from error
    try:
        sheet = book.active
        if sheet is None:
            raise RegisterError(N_("appeals_import.no_sheet"))
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        book.close()


def _rows(name: str, data: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    # By content, not by name: an XLSX is a ZIP archive; anything else is read as CSV.
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    return _csv_rows(data)


def _parse_or_explain(
    name: str, data: bytes, mapping: AppealsMapping
) -> tuple[list[AppealRow], list[RowError], int]:
    """:func:`parse_register`, with a file that cannot be read at all explained, not raised."""
    try:
        return parse_register(name, data, mapping)
    except RegisterError:
        raise
    except (UnicodeDecodeError, csv.Error, ValueError, KeyError, OSError) as error:
        raise RegisterError(
            N_("appeals_import.unreadable"), name=name, kind=type(error).__name__
        ) from error


def parse_register(
    name: str, data: bytes, mapping: AppealsMapping
) -> tuple[list[AppealRow], list[RowError], int]:
    """Rows of the register as codes, the bad rows, and the number of data rows read."""
    fields = [
        (name_, header)
        for name_, header in mapping.columns.model_dump().items()
        if header is not None
    ]
    wanted = {normalise(header): name_ for name_, header in fields}
    maps: dict[str, dict[str, str]] = {
        name_: mapping.word_map(name_) for name_, _ in fields if name_ in CODED_FIELDS
    }
    rows = _rows(name, data)
    positions: dict[str, int] | None = None
    for number, cells in rows:
        if number > HEADER_SCAN_ROWS:
            break
        found = {
            wanted[normalise(cell)]: index
            for index, cell in enumerate(cells)
            if cell is not None and normalise(cell) in wanted
        }
        if len(found) == len(wanted):
            positions = found
            break
    if positions is None:
        headers = ", ".join(f"'{header}'" for _, header in fields)
        raise RegisterError(
            N_("appeals_import.no_header"), name=name, rows=HEADER_SCAN_ROWS, headers=headers
        )
    order = list(positions.items())
    # A register repeats few dates and words: each distinct cell is converted once.
    seen = _Seen()
    parsed: list[AppealRow] = []
    errors: list[RowError] = []
    read = 0
    for number, cells in rows:
        # Only the mapped cells are kept; the rest of the line is dropped here.
        picked = {
            field_: (cells[index] if index < len(cells) else None) for field_, index in order
        }
        if all(value is None or str(value).strip() == "" for value in picked.values()):
            continue
        read += 1
        row, error = _row(name, number, picked, maps, mapping.date_formats, seen)
        if error is not None:
            errors.append(error)
        elif row is not None:
            parsed.append(row)
    return parsed, errors, read


@dataclass(slots=True)
class _Seen:
    days: dict[object, date | None] = field(default_factory=dict)
    codes: dict[tuple[str, object], str | None] = field(default_factory=dict)


def _row(
    file: str,
    number: int,
    cells: dict[str, object],
    maps: dict[str, dict[str, str]],
    formats: Sequence[str],
    seen: _Seen,
) -> tuple[AppealRow | None, RowError | None]:
    def bad(field_: str, problem: Problem, value: object = "") -> tuple[None, RowError]:
        return None, RowError(file, number, field_, problem, "" if value is None else str(value))

    register_no = cells.get("register_no")
    if isinstance(register_no, float) and register_no.is_integer():
        register_no = int(register_no)
    register = "" if register_no is None else str(register_no).strip()
    if not register:
        return bad("register_no", Problem.MISSING)
    if len(register) > REGISTER_NO_LENGTH:
        return bad("register_no", Problem.TOO_LONG, register)
    raw_date = cells.get("date")
    if raw_date in seen.days:
        day = seen.days[raw_date]
    else:
        day = seen.days[raw_date] = _date(raw_date, formats)
    if day is None:
        if raw_date is None or str(raw_date).strip() == "":
            return bad("date", Problem.MISSING)
        return bad("date", Problem.BAD_DATE, raw_date)
    codes: dict[str, str | None] = {}
    for field_, words in maps.items():
        value = cells.get(field_)
        if value is None or str(value).strip() == "":
            if field_ == "kind":
                return bad(field_, Problem.MISSING)
            codes[field_] = None
            continue
        if (field_, value) in seen.codes:
            code = seen.codes[field_, value]
        else:
            code = seen.codes[field_, value] = words.get(normalise(value))
        if code is None:
            return bad(field_, Problem.UNKNOWN, value)
        codes[field_] = code
    return (
        AppealRow(
            register_no=register,
            received_on=day,
            kind=str(codes["kind"]),
            outcome=codes.get("outcome"),
            channel=codes.get("channel"),
            topic=codes.get("topic"),
            reason=codes.get("reason"),
            service_code=codes.get("service"),
            life_situation_code=codes.get("life_situation"),
        ),
        None,
    )


def _date(value: object, formats: Sequence[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None:
        return None
    text = str(value).strip()
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


# --- the use case ----------------------------------------------------------------------------


class AppealsService:
    """Imports registers and builds the §3.5 monitoring; the CLI and the bot share it.

    ``mapping`` is the configured register mapping (None when it failed to load: the bot then
    says so instead of importing). The monitoring is internal (§3.6): callers hand it to
    body-wide officers only.
    """

    def __init__(
        self,
        store: AppealStore,
        mapping: AppealsMapping | None = None,
        disclosure: DisclosurePolicy | None = None,
        *,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.store = store
        self.mapping = mapping
        self.disclosure = disclosure or DisclosurePolicy()
        #: The body's zone: the day a poll window closed early is that zone's day.
        self.zone = zone or ZoneInfo("UTC")

    def titles(self, language: Language = Language.RU) -> dict[str, dict[str, str]]:
        return self.mapping.titles(language) if self.mapping is not None else {}

    async def monitoring(self, period: Period) -> AppealsMonitoring:
        return await build_monitoring(self.store, period, self.disclosure, zone=self.zone)

    async def import_register(
        self,
        name: str,
        data: bytes,
        mapping: AppealsMapping,
        *,
        source: str | None = None,
        all_or_nothing: bool = False,
    ) -> ImportReport:
        """Parse and upsert a register; with ``all_or_nothing`` one bad row writes nothing."""
        if len(data) > MAX_FILE_BYTES:
            megabytes = MAX_FILE_BYTES // (1024 * 1024)
            raise RegisterError(N_("appeals_import.too_big"), name=name, megabytes=megabytes)
        label = source or mapping.source
        if not SOURCE.match(label):
            raise RegisterError(N_("appeals_import.bad_source"), label=label)
        # Off the event loop: a large register takes seconds to parse, and people are answering.
        rows, errors, read = await asyncio.to_thread(_parse_or_explain, name, data, mapping)
        report = ImportReport(file=name, source=label, rows=read, valid=len(rows), errors=errors)
        if errors and all_or_nothing:
            return report
        # The same register number twice in one file: the later line wins.
        unique = list({row.register_no: row for row in rows}.values())
        result = await self.store.upsert(label, unique)
        report.added, report.updated, report.written = result.added, result.updated, True
        logger.info(
            "Appeals register imported: source=%s rows=%d added=%d updated=%d bad=%d",
            label,
            read,
            result.added,
            result.updated,
            len(errors),
        )
        return report


#: Bad rows listed in the reply to an imported register (the rest are counted).
ERRORS_SHOWN: Final = 10


def describe_import(report: ImportReport, language: Language) -> str:
    """What an officer is told of an imported register (HTML), in every messenger."""
    values = {
        "file": escape(report.file),
        "rows": report.rows,
        "added": report.added,
        "updated": report.updated,
        "bad": len(report.errors),
    }
    lines = [tr(language, "appeals.done" if report.written else "appeals.nothing", **values)]
    lines += [
        escape(error.describe(language.value), quote=False)
        for error in report.errors[:ERRORS_SHOWN]
    ]
    if len(report.errors) > ERRORS_SHOWN:
        lines.append(tr(language, "appeals.more", count=len(report.errors) - ERRORS_SHOWN))
    return "\n".join(lines)
