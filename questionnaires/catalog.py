"""The catalog of services, channels and life situations that deep links and reports refer to.

Every feedback link carries its context in a Telegram deep-link payload
``<service>_<channel>[_<life situation>]``, e.g. ``?start=appeals_office_management``.
Telegram allows at most 64 characters of ``A-Za-z0-9_-`` there, so a code is lowercase latin
letters, digits and inner dashes, at most 20 characters, and never contains ``_``, which is
kept as the separator: three codes and two separators take at most 62 characters, and a payload
splits back into its codes without ambiguity. A code is stored with every answer, so it is
never reworded once the catalog is in use; only titles may change.
"""

from __future__ import annotations

import difflib
import enum
import re
from pathlib import Path as FsPath
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema

from questionnaires.departments import mixed_script_words, skeleton
from questionnaires.errors import Defect, DefinitionError, Path
from questionnaires.loader import model_keys
from questionnaires.messengers import MAX_USER_IDS, max_chat
from questionnaires.results import ResponseContext
from questionnaires.schema import Language, Text
from questionnaires.yaml_source import YamlDocument, parse_yaml, read_text, validate_model

CATALOG_FILE: Final = FsPath(__file__).parent / "catalog.yaml"

#: Telegram's limit on a deep-link payload.
MAX_PAYLOAD_LENGTH: Final = 64
PAYLOAD_SEPARATOR: Final = "_"
MAX_CODE_LENGTH: Final = 20
CODE_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$"
_CODE_RE: Final = re.compile(CODE_PATTERN)


def _suggest_code(value: str) -> str:
    """A valid code close to what the author wrote, for the hint."""
    code = re.sub(r"[^a-z0-9-]+", "-", value.strip().lower())
    code = re.sub(r"-{2,}", "-", code).strip("-")[:MAX_CODE_LENGTH].rstrip("-")
    return code


def _valid_code(value: str) -> str:
    if _CODE_RE.fullmatch(value):
        return value
    # A custom message: the generic id message would wrongly recommend '_'.
    reasons = []
    if len(value) > MAX_CODE_LENGTH:
        reasons.append(f"{len(value)} characters, at most {MAX_CODE_LENGTH} fit")
    if "_" in value:
        reasons.append("'_' separates codes in a deep link, use '-'")
    if value != value.lower():
        reasons.append("use lowercase")
    if value[:1] == "-" or value[-1:] == "-":
        reasons.append("a dash may only stand inside")
    why = "; ".join(reasons) or "use lowercase latin letters, digits and inner '-'"
    message = f"{value!r} is not a valid code: {why}"
    suggestion = _suggest_code(value)
    if suggestion and _CODE_RE.fullmatch(suggestion):
        message += f" (try '{suggestion}')"
    raise ValueError(message)


Code = Annotated[
    str,
    AfterValidator(_valid_code),
    WithJsonSchema(
        {"type": "string", "pattern": CODE_PATTERN, "maxLength": MAX_CODE_LENGTH},
        mode="validation",
    ),
    Field(
        description="Stable code used in deep links: lowercase latin letters, digits and "
        "inner '-', at most 20 characters, no '_'; never reword it."
    ),
]


class _Strict(BaseModel):
    """Unknown keys are refused, as in the questionnaire format."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceGroup(enum.StrEnum):
    """Process groups of Procedure §2.2: external (a) and internal (b)."""

    STATE_SERVICE = "state_service"  # государственные услуги (функции)
    APPEALS = "appeals"  # обращения, запросы
    CONTROL = "control"  # государственный контроль (надзор)
    INFORMATION = "information"  # доступ к информации о деятельности
    INTERNAL = "internal"  # processes for staff: interaction, requests, HR, …


class ChannelKind(enum.StrEnum):
    """Kinds of touchpoint (Procedure §2.6)."""

    ONLINE = "online"
    IN_PERSON = "in_person"
    PHONE = "phone"
    OTHER = "other"


class LifeSituation(_Strict):
    """Circumstances that make a client need one or more services (Concept §1.2.3)."""

    code: Code
    title: Text


class Channel(_Strict):
    """A touchpoint where the interaction happened."""

    code: Code
    title: Text
    kind: ChannelKind


class Service(_Strict):
    """A service or process of the body that clients rate."""

    code: Code
    title: Text
    group: ServiceGroup
    life_situations: tuple[Code, ...] = Field(
        default=(), description="Codes of the life situations this service belongs to."
    )
    officer: Annotated[StrictInt, Field(gt=0)] | None = Field(
        default=None, description="Telegram id of the responsible officer (a staff member)."
    )
    max_officer: Annotated[StrictInt, Field(gt=0, lt=MAX_USER_IDS)] | None = Field(
        default=None,
        description="MAX user id of the responsible officer, when they read it in MAX "
        "(besides or instead of `officer`).",
    )

    @property
    def officer_chats(self) -> frozenset[int]:
        """The chat addresses of the service's own officer(s): the Telegram id and the MAX
        dialog (questionnaires.messengers.max_chat)."""
        chats: set[int] = set()
        if self.officer is not None:
            chats.add(self.officer)
        if self.max_officer is not None:
            chats.add(max_chat(self.max_officer))
        return frozenset(chats)

    @property
    def internal(self) -> bool:
        """A process for staff (Procedure §2.2b): rated in staff polls, never by citizens."""
        return self.group == ServiceGroup.INTERNAL


class Department(_Strict):
    """A coarse department of the body: staff enrol in one with an invite code, and staff
    results are broken down by it when enough staff are enrolled."""

    code: Code
    title: Text


class Catalog(_Strict):
    """One catalog file: what a body offers, where, and for which life situations."""

    services: tuple[Service, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = Field(min_length=1)
    life_situations: tuple[LifeSituation, ...] = ()
    departments: tuple[Department, ...] = Field(
        default=(),
        description="Departments staff enrol in (/invite offers them); keep them coarse.",
    )

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def public_services(self) -> list[Service]:
        """Services citizens rate: the ones that get deep links, QR posters and the picker."""
        return [s for s in self.services if not s.internal]

    def channel(self, code: str) -> Channel | None:
        return next((c for c in self.channels if c.code == code), None)

    def life_situation(self, code: str) -> LifeSituation | None:
        return next((s for s in self.life_situations if s.code == code), None)

    def titles(self, context: ResponseContext, language: Language | str) -> dict[str, str | None]:
        """Context codes turned into titles for placeholders; an unknown code stays as is."""
        entries = (
            ("service", context.service, self.service),
            ("channel", context.channel, self.channel),
            ("life_situation", context.life_situation, self.life_situation),
        )
        titles: dict[str, str | None] = {}
        for key, code, lookup in entries:
            entry = lookup(code) if code else None
            titles[key] = entry.title.get(language) if entry else code
        return titles


def check_catalog(catalog: Catalog, file: str) -> list[Defect]:
    """Every semantic defect of a structurally valid catalog: duplicates, unknown references."""
    defects: list[Defect] = []
    sections: tuple[tuple[str, list[str]], ...] = (
        ("services", [service.code for service in catalog.services]),
        ("channels", [channel.code for channel in catalog.channels]),
        ("life_situations", [situation.code for situation in catalog.life_situations]),
        ("departments", [department.code for department in catalog.departments]),
    )
    for section, codes in sections:
        first: dict[str, int] = {}
        for index, code in enumerate(codes):
            if code in first:
                defects.append(
                    Defect(
                        file,
                        (section, index, "code"),
                        f"duplicate code '{code}'",
                        hint=f"{section}[{first[code]}] already uses it; codes must be unique",
                    )
                )
            first.setdefault(code, index)
    known = [situation.code for situation in catalog.life_situations]
    for i, service in enumerate(catalog.services):
        listed: dict[str, int] = {}
        for k, code in enumerate(service.life_situations):
            path: Path = ("services", i, "life_situations", k)
            if code in listed:
                defects.append(
                    Defect(
                        file,
                        path,
                        f"life situation '{code}' is listed twice",
                        hint=f"life_situations[{listed[code]}] already names it",
                    )
                )
                continue
            listed[code] = k
            if code not in known:
                close = difflib.get_close_matches(code, known, n=1)
                defects.append(
                    Defect(
                        file,
                        path,
                        f"unknown life situation '{code}'",
                        expected="one of " + ", ".join(known) if known else None,
                        hint=f"did you mean '{close[0]}'?"
                        if close
                        else "add it under life_situations first",
                    )
                )
    return defects + _department_defects(catalog, file)


def _department_defects(catalog: Catalog, file: str) -> list[Defect]:
    """Look-alike letters in department titles, and titles that look the same on screen."""
    defects: list[Defect] = []
    seen: dict[str, int] = {}
    for index, department in enumerate(catalog.departments):
        for language in ("ru", "en"):
            title = getattr(department.title, language)
            if not title:
                continue
            mixed = mixed_script_words(title)
            if mixed:
                defects.append(
                    Defect(
                        file,
                        ("departments", index, "title", language),
                        f"{', '.join(repr(word) for word in mixed)} mixes Latin and Cyrillic "
                        "letters",
                        hint="retype the word in one alphabet: a look-alike letter makes a "
                        "second department that reads the same",
                    )
                )
        looks = skeleton(department.title.ru)
        if looks in seen:
            defects.append(
                Defect(
                    file,
                    ("departments", index, "title", "ru"),
                    f"title '{department.title.ru}' reads the same as departments[{seen[looks]}]",
                    hint="each department needs a title that differs on screen",
                )
            )
        seen.setdefault(looks, index)
    return defects


def parse_catalog(text: str, file: str) -> Catalog:
    """Parse and fully check one catalog; DefinitionError lists all defects."""
    document = parse_yaml(text, file)
    catalog = validate_model(document, Catalog, lambda p: model_keys(Catalog, document.data, p))
    defects = [_located(document, d) for d in check_catalog(catalog, file)]
    if defects:
        defects.sort(key=lambda d: (d.line or 0, d.column or 0))
        raise DefinitionError(defects)
    return catalog


def _located(document: YamlDocument, defect: Defect) -> Defect:
    line, column = document.locate(defect.path)
    return defect.located(line, column)


def load_catalog(path: FsPath = CATALOG_FILE) -> Catalog:
    """Load a catalog file (the shipped example by default)."""
    return parse_catalog(read_text(path), str(path))
