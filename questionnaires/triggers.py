"""Triggers of an extra poll in YAML (Procedure §3.3): which share of low scores over how many
closed units, with how many respondents, proposes a window of which campaign.

Pure: the schema, its checks and the periods a rule looks at. Evaluation against a report is in
reports/triggers.py; the scheduled proposals in services/signals.py.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Collection
from datetime import date, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from questionnaires.errors import Defect, DefinitionError
from questionnaires.loader import model_keys
from questionnaires.schema import Identifier, Text
from questionnaires.yaml_source import YamlDocument, parse_yaml, read_text, validate_model

TRIGGERS_FILE: Final = FsPath(__file__).parent / "triggers.yaml"
#: A longer look-back would stop being a signal of "now" (and a quarter of years is a report).
MAX_UNITS: Final = 12
#: Random key of a signal a rule raised (its ledger row); it travels in callback data (Telegram
#: allows 64 bytes), so the ledger (storage.models_signals) and the button parser share it.
SIGNAL_ID_LENGTH: Final = 16


class TriggerUnit(enum.StrEnum):
    """Closed calendar units a rule counts back over (reports.disclosure forms blocks in them)."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerRule(_Strict):
    """One rule, evaluated per service of the catalog."""

    id: Identifier
    title: Text = Field(description="The rule in words, shown in the proposal.")
    unit: TriggerUnit
    units: Annotated[StrictInt, Field(ge=1, le=MAX_UNITS)] = Field(
        description="How many closed units back the figures cover."
    )
    scores: tuple[Annotated[StrictInt, Field(ge=1, le=5)], ...] = Field(
        min_length=1, max_length=4, description="Overall scores that count as negative."
    )
    min_share_percent: Annotated[float, Field(gt=0, le=100)] = Field(
        description="The rule fires when the share of `scores` reaches this."
    )
    min_respondents: Annotated[StrictInt, Field(ge=1)] = Field(
        description="…among at least this many respondents with a score 1–5."
    )
    campaign: Identifier = Field(description="The campaign whose window the button opens.")

    @field_validator("scores")
    @classmethod
    def _distinct(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a score is listed twice")
        return tuple(sorted(value))

    def period(self, today: date) -> tuple[date, date]:
        """First and last day of the last ``units`` units closed before ``today``."""
        end = _unit_start(self.unit, today) - timedelta(days=1)
        start = _unit_start(self.unit, end)
        for _ in range(self.units - 1):
            start = _unit_start(self.unit, start - timedelta(days=1))
        return start, end


def _unit_start(unit: TriggerUnit, day: date) -> date:
    if unit is TriggerUnit.WEEK:
        return day - timedelta(days=day.weekday())
    if unit is TriggerUnit.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class TriggerFile(_Strict):
    """The triggers file; no rules means no proposals."""

    rules: tuple[TriggerRule, ...] = ()

    def get(self, rule_id: str) -> TriggerRule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def check_triggers(
    parsed: TriggerFile,
    file: str,
    *,
    weekly: bool,
    campaigns: Collection[str] | None = None,
) -> list[Defect]:
    """What pydantic cannot see: duplicate ids, weeks without weekly figures, unknown campaigns."""
    defects: list[Defect] = []
    seen: set[str] = set()
    for index, rule in enumerate(parsed.rules):
        at = ("rules", index)
        if rule.id in seen:
            defects.append(Defect(file, (*at, "id"), f"rule id '{rule.id}' is used twice"))
        seen.add(rule.id)
        if rule.unit is TriggerUnit.WEEK and not weekly:
            defects.append(
                Defect(
                    file,
                    (*at, "unit"),
                    "weeks show no figures without weekly figures, so this rule would never fire",
                    expected="month or quarter",
                    hint="or set REPORTS__WEEKLY_FIGURES=true",
                )
            )
        if campaigns is not None and rule.campaign not in campaigns:
            close = difflib.get_close_matches(rule.campaign, list(campaigns), n=1)
            defects.append(
                Defect(
                    file,
                    (*at, "campaign"),
                    f"unknown campaign '{rule.campaign}'",
                    expected="one of " + ", ".join(sorted(campaigns)) if campaigns else None,
                    hint=f"did you mean '{close[0]}'?" if close else None,
                )
            )
    return defects


def parse_triggers(
    text: str, file: str, *, weekly: bool, campaigns: Collection[str] | None = None
) -> TriggerFile:
    """Parse and check a triggers file; DefinitionError lists every defect, located."""
    document = parse_yaml(text, file)
    parsed = validate_model(
        document, TriggerFile, lambda p: model_keys(TriggerFile, document.data, p)
    )
    defects = [
        _located(document, d)
        for d in check_triggers(parsed, file, weekly=weekly, campaigns=campaigns)
    ]
    if defects:
        raise DefinitionError(defects)
    return parsed


def _located(document: YamlDocument, defect: Defect) -> Defect:
    line, column = document.locate(defect.path)
    return defect.located(line, column)


def load_triggers(
    path: FsPath = TRIGGERS_FILE, *, weekly: bool, campaigns: Collection[str] | None = None
) -> TriggerFile:
    """Load a triggers file (the shipped default by default)."""
    return parse_triggers(read_text(path), str(path), weekly=weekly, campaigns=campaigns)
