"""Issue 10, item 9: the machine-readable report (JSON, HTML) is the officer's report, no more."""

from __future__ import annotations

import json
import re

from reports.export import report_html, report_json
from reports.model import Dimension, Score
from reports.telegram import render_report_text
from tests.reports_output.factories import full_report, group, hidden, score


def test_issue10_json_figures_equal_the_model_and_hidden_groups_carry_only_the_flag() -> None:
    report = full_report()
    data = report_json(report)
    assert json.loads(json.dumps(data)) == data  # plain JSON values
    assert data["period"] == {"start": "2024-10-01", "end": "2024-10-31"}
    assert data["compared_with"] == {"start": "2024-08-31", "end": "2024-09-30"}
    overall = data["overall"]
    assert (overall["n"], overall["csat"], overall["mean"]) == (
        report.overall.n,
        report.overall.csat,
        report.overall.mean,
    )
    assert overall["distribution"] == {"1": 7, "2": 8, "3": 15, "4": 60, "5": 150}
    by_key = {(g["dimension"], g["key"]): g for g in data["groups"]}
    for row in report.groups:
        shown = by_key[(row.dimension.value, row.key)]
        if row.current.suppressed:
            assert shown["current"] == {"suppressed": True}
        else:
            assert (shown["current"]["n"], shown["current"]["csat"]) == (
                row.current.n,
                row.current.csat,
            )
    assert by_key[("service", "secret")]["current"] == {"suppressed": True}
    assert [p["respondents"] for p in data["problems"]] == [p.respondents for p in report.problems]
    assert data["nps"] is not None and data["nps"]["value"] == report.nps.value  # type: ignore[union-attr]
    assert data["comments"] == list(report.comments)


def test_issue10_json_applies_complementary_suppression_like_the_message() -> None:
    # 240 overall − 150 − 87 shown = 3: the hidden service's size would be readable.
    report = full_report(
        groups=(
            group(Dimension.SERVICE, "l", "Лицензирование", score(150, 91.3, 4.4), hidden()),
            group(Dimension.SERVICE, "a", "Приём обращений", score(87, 80.5, 3.76), hidden()),
            group(Dimension.SERVICE, "s", "Редкая услуга", hidden(), hidden()),
        )
    )
    groups = {g["key"]: g for g in report_json(report)["groups"]}
    assert groups["l"]["current"]["n"] == 150
    assert groups["a"]["current"] == groups["s"]["current"] == {"suppressed": True}
    assert "87" not in json.dumps(report_json(report)["groups"])


def test_issue10_leaked_figures_of_a_small_group_never_reach_the_json() -> None:
    for secret in (
        Score(n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}, suppressed=True),
        Score(n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}),
    ):
        report = full_report(
            groups=(group(Dimension.CHANNEL, "x", "Редкий канал", secret, secret),),
            overall=secret,
            overall_previous=secret,
            comments=(),
            comments_suppressed=True,
        )
        text = json.dumps(report_json(report))
        assert "66.7" not in text and "3.67" not in text
        assert not re.search(r'"n": 3\b', text)
        assert report_json(report)["overall"] == {"suppressed": True}


def test_issue10_html_is_a_self_contained_page_of_the_officers_text() -> None:
    report = full_report()
    page = report_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert render_report_text(report) in page
    assert not re.search(r"<(script|link|img|iframe)\b|src=|https?://", page)
    assert "Редкая услуга" in page  # named, with no figures: as in the message
