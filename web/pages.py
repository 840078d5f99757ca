"""What a page shows (question, picker, message) and the port the routes call to get it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from questionnaires.schema import Language


@dataclass(frozen=True, slots=True)
class OptionView:
    field_id: str
    value: str
    label: str
    checked: bool = False
    #: Read by screen readers after the label (a scale's end wording; shown above the scale).
    described: str = ""


@dataclass(frozen=True, slots=True)
class QuestionView:
    """One question as a form: a fieldset of radios or checkboxes, or a labelled text area."""

    kind: str  # "scale" | "nps" | "single" | "multi" | "yes_no" | "text" | "other"
    text: str
    number: int
    total: int
    required: bool
    can_skip: bool
    can_go_back: bool
    options: tuple[OptionView, ...] = ()
    hint: str | None = None
    scale_labels: tuple[str, str] | None = None
    max_length: int = 1000
    prefill_text: str = ""
    error: bool = False

    @property
    def first_field(self) -> str:
        """Where the error summary's link moves the focus."""
        return self.options[0].field_id if self.options else "answer-text"

    @property
    def describedby(self) -> str:
        ids = (["hint"] if self.hint else []) + (["answer-error"] if self.error else [])
        return " ".join(ids)


@dataclass(frozen=True, slots=True)
class ServiceChoice:
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class PollChoice:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class PickerView:
    services: tuple[ServiceChoice, ...]
    polls: tuple[PollChoice, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One response of the form layer: exactly one of question, picker or message."""

    status: int = 200
    title: str = ""
    question: QuestionView | None = None
    state: str = ""  # the signed form token of a question page
    error: str | None = None
    intro: str | None = None
    picker: PickerView | None = None
    message: str | None = None
    notice: str | None = None  # a text key shown above a question or the picker
    again: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class FormPort(Protocol):
    """The use cases behind the routes; `person` is the keyed hash of the browser cookie."""

    async def picker(
        self, language: Language, *, notice: str | None = None, status: int = 200
    ) -> Page: ...

    async def start_link(self, person: int, payload: str, language: Language) -> Page: ...

    async def start_service(self, person: int, service: str, language: Language) -> Page: ...

    async def start_window(self, person: int, window: str, language: Language) -> Page: ...

    async def current(self, person: int, language: Language) -> Page: ...

    async def submit(
        self,
        person: int,
        language: Language,
        *,
        state: str,
        action: str,
        choices: Sequence[str],
        typed: str,
    ) -> Page: ...
