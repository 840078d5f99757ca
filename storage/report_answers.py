"""Rows of the reports' copy of the answers (storage.models_reporting), built with the response."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def segment_start(day: date) -> date:
    """The first day of ``day``'s week piece: its Monday, or the 1st if the month began later
    (reports.periods.segment_of)."""
    return max(day - timedelta(days=day.weekday()), month_start(day))


def report_rows(response: dict[str, Any], answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report_answers rows of one response's rows (storage.responses.response_rows)."""
    day: date = response["submitted_on"]
    shared = {
        "questionnaire_id": response["questionnaire_id"],
        "audience": response["audience"],
        "service_code": response["service_code"],
        "channel_code": response["channel_code"],
        "life_situation_code": response["life_situation_code"],
        "front": response["front"],
        "submitted_on": day,
        "month_on": month_start(day),
        "segment_on": segment_start(day),
        "window_id": response["window_id"],
        "department": response["department"],
    }
    return [
        {
            "response_id": answer["response_id"],
            "id": answer["id"],
            "question_id": answer["question_id"],
            "option_id": answer["option_id"],
            "number": answer["number"],
            # Which answers carry a text (revision 0030), never the text itself.
            "has_text": answer["text"] is not None,
            **shared,
        }
        for answer in answers
    ]
