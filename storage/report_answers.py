"""Rows of the reports' copy of the answers (storage.models_reporting), built with the response."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final

#: The overall question's scale (questionnaires.checks requires 1–5 in every questionnaire).
OVERALL_SCALE: Final = range(1, 6)
#: ``overall_score`` of a response that answered its overall question without a score ("cannot
#: rate"): it counts among those who answered it, not among the scores. NULL: not answered.
NOT_RATED: Final = 0


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def segment_start(day: date) -> date:
    """The first day of ``day``'s week piece: its Monday, or the 1st if the month began later
    (reports.periods.segment_of)."""
    return max(day - timedelta(days=day.weekday()), month_start(day))


def overall_score(answers: list[dict[str, Any]], question: str | None) -> int | None:
    """The response's score, 1–5, on its overall ``question``; NOT_RATED if it answered without
    one ("cannot rate"); None if it did not answer it (or its questionnaire has none)."""
    if question is None:
        return None
    for answer in answers:
        if answer["question_id"] == question:
            number = answer["number"]
            return int(number) if number in OVERALL_SCALE else NOT_RATED
    return None


def report_rows(
    response: dict[str, Any],
    answers: list[dict[str, Any]],
    overall: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The report_answers rows of one response's rows (storage.responses.response_rows).

    ``overall``: each questionnaire's overall question (reports.model.QuestionnaireRoles); with
    it the rows carry the response's overall score and are marked scored, without it they are
    left for the start-up backfill (storage.report_scores).
    """
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
        "scored": overall is not None,
        "overall_score": (
            None
            if overall is None
            else overall_score(answers, overall.get(response["questionnaire_id"]))
        ),
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
