"""The §3.3 trigger rules: the YAML file, the periods a rule covers, the evaluation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from questionnaires.campaigns import load_campaigns
from questionnaires.errors import DefinitionError
from questionnaires.triggers import TRIGGERS_FILE, TriggerRule, load_triggers, parse_triggers
from reports.model import Score
from reports.triggers import evaluate

RULE = """\
rules:
  - id: negative_share
    title: {ru: Доля оценок 1–2}
    unit: %(unit)s
    units: %(units)s
    scores: [1, 2]
    min_share_percent: 30
    min_respondents: 20
    campaign: deep
"""


def _rule(unit: str = "month", units: int = 3, *, weekly: bool = False) -> TriggerRule:
    text = RULE % {"unit": unit, "units": units}
    [rule] = parse_triggers(text, "triggers.yaml", weekly=weekly, campaigns=["deep"]).rules
    return rule


def test_the_shipped_file_loads_against_the_shipped_campaigns() -> None:
    campaigns = [c.id for c in load_campaigns().campaigns]
    triggers = load_triggers(TRIGGERS_FILE, weekly=False, campaigns=campaigns)
    assert [rule.id for rule in triggers.rules] == ["negative_share"]
    assert triggers.rules[0].campaign == "deep"


@pytest.mark.parametrize(
    ("unit", "units", "today", "expected"),
    [
        ("month", 3, date(2026, 11, 1), (date(2026, 8, 1), date(2026, 10, 31))),
        ("month", 3, date(2026, 11, 30), (date(2026, 8, 1), date(2026, 10, 31))),
        ("month", 1, date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31))),
        ("quarter", 1, date(2026, 4, 1), (date(2026, 1, 1), date(2026, 3, 31))),
        ("quarter", 2, date(2026, 2, 10), (date(2025, 7, 1), date(2025, 12, 31))),
        ("week", 2, date(2026, 11, 25), (date(2026, 11, 9), date(2026, 11, 22))),
        ("week", 1, date(2026, 11, 23), (date(2026, 11, 16), date(2026, 11, 22))),
    ],
)
def test_a_rule_covers_the_last_closed_units(
    unit: str, units: int, today: date, expected: tuple[date, date]
) -> None:
    assert _rule(unit, units, weekly=True).period(today) == expected


def test_fires_at_the_share_and_the_respondents_it_names() -> None:
    rule = _rule()
    # 6 of 20 is exactly 30 %: fires.
    fired = evaluate(rule, Score(n=20, distribution={1: 4, 2: 2, 3: 4, 4: 5, 5: 5}))
    assert fired.fired and fired.negatives == 6 and fired.share == pytest.approx(30.0)
    # 5 of 20 is 25 %: share below the rule.
    low = evaluate(rule, Score(n=20, distribution={1: 3, 2: 2, 3: 5, 4: 5, 5: 5}))
    assert not low.fired and low.respondents == 20 and low.negatives == 5
    # Half are negative, but 19 respondents are fewer than 20.
    few = evaluate(rule, Score(n=19, distribution={1: 10, 5: 9}))
    assert not few.fired and few.share == pytest.approx(100 * 10 / 19)
    # Score 3 does not count as negative for scores [1, 2].
    assert not evaluate(rule, Score(n=20, distribution={3: 20})).fired


def test_a_suppressed_score_fires_nothing_and_shows_no_figure() -> None:
    found = evaluate(_rule(), Score(n=0, suppressed=True))
    assert not found.fired and found.suppressed
    assert (found.respondents, found.negatives, found.share) == (0, 0, None)


def _defects(text: str, *, weekly: bool = False) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_triggers(text, "triggers.yaml", weekly=weekly, campaigns=["deep", "staff"])
    return [str(defect) for defect in caught.value.defects]


def test_weeks_without_weekly_figures_are_refused_at_the_unit() -> None:
    [defect] = _defects(RULE % {"unit": "week", "units": 4})
    assert defect.startswith("triggers.yaml:4:")
    assert "REPORTS__WEEKLY_FIGURES=true" in defect


def test_a_broken_file_names_every_defect_with_line_and_field() -> None:
    text = (RULE % {"unit": "month", "units": 3}).replace("campaign: deep", "campaign: dep")
    [campaign] = _defects(text)
    assert campaign.startswith("triggers.yaml:9:") and "did you mean 'deep'" in campaign
    bad_types = _defects(RULE % {"unit": "year", "units": "three"})
    assert any(":4:" in d and "unit" in d for d in bad_types)
    assert any(":5:" in d and "units" in d for d in bad_types)
    twice = RULE % {"unit": "month", "units": 3}
    [duplicate] = _defects(twice + twice.removeprefix("rules:\n"))
    assert "used twice" in duplicate
    [unknown_key] = _defects(twice.replace("units: 3", "units: 3\n    min_share: 30"))
    assert "min_share" in unknown_key
    [share] = _defects(twice.replace("min_share_percent: 30", "min_share_percent: 130"))
    assert "min_share_percent" in share
    assert _defects("rules: [1, 2\n")  # not YAML at all


def test_a_missing_file_is_a_located_defect(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_triggers(tmp_path / "nope.yaml", weekly=False)
    [defect] = caught.value.defects
    assert "nope.yaml" in str(defect) and "cannot read" in str(defect)
