"""Plain values a completed dialog hands to storage: no Telegram identifiers, ever."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from questionnaires.fronts import Front

#: Reserved option id stored when a person chose "cannot rate" on a scale question.
CANNOT_RATE: Final = "cannot_rate"


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One normalized answer cell; a multiple choice becomes one row per chosen option.

    - scale / nps: ``number`` set, or ``option_id == CANNOT_RATE``;
    - single choice / yes-no: ``option_id`` set (``text`` holds the "other" follow-up);
    - multiple choice: one row per option (``text`` on the "other" row);
    - free text: ``text`` set.
    """

    question_id: str
    option_id: str | None = None
    number: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """Where the feedback comes from: taken from the deep link, never from the person."""

    service: str | None = None
    channel: str | None = None
    life_situation: str | None = None

    def as_mapping(self) -> dict[str, str | None]:
        return {
            "service": self.service,
            "channel": self.channel,
            "life_situation": self.life_situation,
        }


@dataclass(frozen=True, slots=True)
class CompletedResponse:
    """A finished questionnaire ready to be stored anonymously in one transaction."""

    questionnaire_id: str
    questionnaire_version: int
    kind: str
    audience: str
    context: ResponseContext
    submitted_on: date
    answers: tuple[AnswerRow, ...] = field(default_factory=tuple)
    #: The poll window of a deep or staff poll (None for a post-service rating).
    window_id: int | None = None
    #: A staff member's coarse department from enrollment, never anything finer.
    department: str | None = None
    #: The messenger (or the web form) the dialog ran in: a property of the response like
    #: its channel, reported under the same disclosure plan.
    front: Front = Front.TELEGRAM
