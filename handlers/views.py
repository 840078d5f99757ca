"""Renders dialog steps as Telegram messages (escaped HTML text and inline keyboards), one
renderer per question kind; the service picker and the opt-in offer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Annotated, Final, Generic, TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import BaseModel, Field

from handlers.texts import tr
from questionnaires.catalog import Service
from questionnaires.i18n import N_
from questionnaires.schema import Language
from services.dialog import Question, QuestionKind

SERVICES_PER_PAGE: Final = 6
#: Callback data is whatever a client sends: each field is bounded, and data out of bounds
#: does not match its filter (the press is answered by the inactive-button router).
MAX_TURN: Final = 1_000_000
MAX_PAGE: Final = 10_000
Code = Annotated[str, Field(max_length=64)]


class Action:
    """Short action codes keep callback data within Telegram's 64 bytes."""

    RATE: Final = "r"
    CHOOSE: Final = "c"
    TOGGLE: Final = "g"
    DONE: Final = "k"
    CANNOT_RATE: Final = "n"
    BACK: Final = "b"
    SKIP: Final = "s"


class Press(CallbackData, prefix="q"):
    """A button of a dialog step: the dialog nonce and turn make stale presses detectable."""

    d: Annotated[str, Field(min_length=1, max_length=16)]  # dialog nonce
    t: Annotated[int, Field(ge=0, le=MAX_TURN)]  # engine turn the button was drawn for
    a: Annotated[str, Field(min_length=1, max_length=1)]  # Action
    v: Code = ""  # option id or score

    @classmethod
    def unpack(cls, value: str) -> Press:
        """``CallbackData.unpack`` of a press, the usual data checked by hand: the generic
        parser walks the fields and asks each whether it is nullable (most of a press's
        filter). Data drawn by ``pack_press`` (a decimal turn without a sign or leading zero,
        every field within bounds) makes the model directly, equal to the generic result in
        every field and in the fields set (all four: the generic parser passes each one).
        Anything else goes the generic way: it parses, or fails with the same error, as
        before."""
        parts = value.split(":")
        if len(parts) == 5 and parts[0] == "q":
            _, nonce, turn, action, option = parts
            if (
                0 < len(nonce) <= 16
                and 0 < len(turn) <= 7
                and turn.isascii()
                and turn.isdigit()
                and (turn[0] != "0" or turn == "0")
                and len(action) == 1
                and len(option) <= 64
            ):
                number = int(turn)
                if number <= MAX_TURN:
                    return cls.model_construct(
                        {"d", "t", "a", "v"}, d=nonce, t=number, a=action, v=option
                    )
        return super().unpack(value)


def pack_press(nonce: str, turn: int, action: str, value: str = "") -> str:
    """Press(d=…, t=…, a=…, v=…).pack() without building a model per button: a dialog step
    draws up to a dozen buttons on every press, and the model costs more than the rest."""
    return f"{Press.__prefix__}{Press.__separator__}{nonce}:{turn}:{action}:{value}"


class Pick(CallbackData, prefix="p"):
    """The service picker: a page to show or a service to rate."""

    page: Annotated[int, Field(ge=0, le=MAX_PAGE)] = 0
    service: Code = ""


class OptInPress(CallbackData, prefix="o"):
    yes: bool


class ServiceNewsPress(CallbackData, prefix="sn"):
    """Subscribe the chat to this service's news (a separate, explicit choice)."""

    service: str


class NewsStopPress(CallbackData, prefix="ns"):
    """The button under every news message: stop the news of changes (its data is
    services.announcements.NEWS_STOP_DATA, which the broadcasts carry)."""

    stop: bool = True


OPT_IN_YES: Final = OptInPress(yes=True).pack()
OPT_IN_NO: Final = OptInPress(yes=False).pack()


@dataclass(frozen=True, slots=True)
class View:
    text: str
    markup: InlineKeyboardMarkup | None


def question_view(step: Question, language: Language, notice: str | None = None) -> View:
    """The message for an asked question: progress, wording, hint, the kind's own lines and
    buttons, Back and Skip, and the notice of a refused typed answer."""
    progress = tr(language, "bot.progress", number=step.progress.number, total=step.progress.total)
    lines = [f"<i>{escape(progress)}</i>", f"<b>{escape(step.text)}</b>"]
    if step.hint is not None:
        lines.append(escape(step.hint))
    buttons = _Buttons(step)
    kind_lines, rows = _RENDERERS[step.kind](step, language, buttons)
    lines += kind_lines
    navigation: list[InlineKeyboardButton] = []
    if step.can_go_back:
        navigation.append(buttons.button(tr(language, "bot.back"), Action.BACK))
    if step.can_skip:
        navigation.append(buttons.button(tr(language, "bot.skip"), Action.SKIP))
    if navigation:
        rows.append(navigation)
    if notice:
        lines.append(f"\n⚠️ {escape(notice)}")
    markup = step_markup(rows) if rows else None
    return View("\n\n".join(lines), markup)


Rows = list[list[InlineKeyboardButton]]


_set = object.__setattr__


M = TypeVar("M", bound=BaseModel)


class _Copies(Generic[M]):
    """Copies of one validated model with some fields replaced: what ``model_copy(update=…)``
    does (the same fields, extra and private attributes; the replaced fields set), inlined.
    The values must be what validation would keep as they are (plain strings, the lists it
    copies)."""

    __slots__ = ("_extra", "_fields", "_kind", "_private")

    def __init__(self, validated: M) -> None:
        self._kind = type(validated)
        self._fields = dict(validated.__dict__)
        self._extra = validated.__pydantic_extra__
        self._private = validated.__pydantic_private__

    def __call__(self, **fields: object) -> M:
        copy = object.__new__(self._kind)
        _set(copy, "__dict__", {**self._fields, **fields})
        _set(copy, "__pydantic_extra__", None if self._extra is None else dict(self._extra))
        _set(copy, "__pydantic_fields_set__", set(fields))
        _set(copy, "__pydantic_private__", None if self._private is None else dict(self._private))
        return copy


#: Copies of a validated callback button: every dialog button (`step_button`).
_BUTTON: Final = _Copies(InlineKeyboardButton(text="", callback_data=""))
#: Copies of a validated markup: every dialog step's keyboard (`step_markup`).
_MARKUP: Final = _Copies(InlineKeyboardMarkup(inline_keyboard=[]))


def step_button(text: str, data: str) -> InlineKeyboardButton:
    """``InlineKeyboardButton(text=text, callback_data=data)``, equal to it in every field, in
    the fields set, the extra and the private attributes, made as a copy of a validated
    button: pydantic validates a new button and fills its dozen optional fields (3.7 µs),
    ``model_copy`` takes half that, and this copy a third of it; a dialog step draws up to a
    dozen buttons on every press. Both values are plain strings made here."""
    return _BUTTON(text=text, callback_data=data)


def step_markup(rows: Rows) -> InlineKeyboardMarkup:
    """``InlineKeyboardMarkup(inline_keyboard=rows)`` of buttons made by `step_button`, equal
    to it as `step_button`'s button is to a validated one, without validating the buttons
    again (3.4 µs a step): the rows are copied as validation copies them, the buttons kept."""
    return _MARKUP(inline_keyboard=[list(row) for row in rows])


@dataclass(frozen=True, slots=True)
class _Buttons:
    """Buttons of one step: each carries the step's dialog nonce and turn."""

    step: Question

    def button(self, text: str, action: str, value: str = "") -> InlineKeyboardButton:
        # Rows are built directly: InlineKeyboardBuilder deep-copies every button on export,
        # which costs more than the rest of a button press together.
        data = pack_press(self.step.dialog, self.step.turn, action, value)
        return step_button(text, data)


def _scale(step: Question, language: Language, buttons: _Buttons) -> tuple[list[str], Rows]:
    lines: list[str] = []
    ends = step.scale
    if ends is not None:
        lines.append(
            escape(
                tr(
                    language,
                    "bot.scale_ends",
                    min=ends.min,
                    max=ends.max,
                    min_label=ends.min_label,
                    max_label=ends.max_label,
                )
            )
        )
    points = [
        buttons.button(
            f"• {point.label} •" if point.marked else point.label, Action.RATE, point.value
        )
        for point in step.choices
    ]
    # Up to six scores fit one row on a phone; 0-10 goes over two rows.
    per_row = len(points) if len(points) <= 6 else (len(points) + 1) // 2
    rows = [points[i : i + per_row] for i in range(0, len(points), per_row)]
    if step.cannot_rate:
        rows.append([buttons.button(tr(language, "bot.cannot_rate"), Action.CANNOT_RATE)])
    return lines, rows


def _multi(step: Question, language: Language, buttons: _Buttons) -> tuple[list[str], Rows]:
    hint = (
        tr(language, "bot.choose_up_to", limit=step.max_choices)
        if step.max_choices
        else tr(language, "bot.choose_several")
    )
    rows = [
        [
            buttons.button(
                ("☑️ " if option.marked else "▫️ ") + option.label, Action.TOGGLE, option.value
            )
        ]
        for option in step.choices
    ]
    rows.append([buttons.button(tr(language, "bot.done"), Action.DONE)])
    return [escape(hint)], rows


def _single(step: Question, language: Language, buttons: _Buttons) -> tuple[list[str], Rows]:
    rows = [
        [
            buttons.button(
                ("• " if option.marked else "") + option.label, Action.CHOOSE, option.value
            )
        ]
        for option in step.choices
    ]
    return [], rows


def _text(step: Question, language: Language, buttons: _Buttons) -> tuple[list[str], Rows]:
    return [escape(tr(language, "bot.type_text", limit=step.max_length))], []


def _other_text(step: Question, language: Language, buttons: _Buttons) -> tuple[list[str], Rows]:
    line = tr(language, "bot.type_other", option=step.other_label, limit=step.max_length)
    return [escape(line)], []


_RENDERERS: Final[
    dict[QuestionKind, Callable[[Question, Language, _Buttons], tuple[list[str], Rows]]]
] = {
    QuestionKind.SCALE: _scale,
    QuestionKind.MULTI: _multi,
    QuestionKind.SINGLE: _single,
    QuestionKind.TEXT: _text,
    QuestionKind.OTHER_TEXT: _other_text,
}


def picker_view(services: Sequence[Service], page: int, language: Language, intro: str) -> View:
    """A paged list of services to rate (Procedure §3.14, second variant)."""
    if not services:
        return View(escape(tr(language, "bot.no_services")), None)
    pages = (len(services) + SERVICES_PER_PAGE - 1) // SERVICES_PER_PAGE
    page = min(max(page, 0), pages - 1)
    builder = InlineKeyboardBuilder()
    for service in services[page * SERVICES_PER_PAGE : (page + 1) * SERVICES_PER_PAGE]:
        builder.row(
            InlineKeyboardButton(
                text=service.title.get(language),
                callback_data=Pick(page=page, service=service.code).pack(),
            )
        )
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(text="←", callback_data=Pick(page=page - 1).pack()))
        nav.append(
            InlineKeyboardButton(
                text=tr(language, "bot.pick_page", page=page + 1, pages=pages),
                callback_data=Pick(page=page).pack(),
            )
        )
        if page < pages - 1:
            nav.append(InlineKeyboardButton(text="→", callback_data=Pick(page=page + 1).pack()))
        builder.row(*nav)
    return View(escape(intro), builder.as_markup())


#: Service codes come from the catalog: a few hundred at most, each packed once.
NEWS_DATA_CACHE: Final = 1024


@lru_cache(maxsize=NEWS_DATA_CACHE)
def _service_news_data(service: str) -> str | None:
    """The data of a service's news button (a string, so one packing serves every dialog that
    rated it: a model built and packed on every completion cost about 6 µs)."""
    try:
        return ServiceNewsPress(service=service).pack()
    except ValueError:  # a code too long for Telegram's 64 bytes of callback data: no button
        return None


def thanks_view(
    outro: str,
    language: Language,
    service: str | None = None,
    service_title: str | None = None,
) -> View:
    """The end of a citizen's dialog: the news offer, and the rated service's own news.

    Its buttons and markup are copies of validated ones (`step_button`, `step_markup`), equal
    to validated models in every field: validating three buttons and the markup was about
    30 µs of every completing press."""
    rows = [
        [step_button(tr(language, key), data)]
        for key, data in ((N_("bot.optin_yes"), OPT_IN_YES), (N_("bot.optin_no"), OPT_IN_NO))
    ]
    data = _service_news_data(service) if service else None
    if data is not None:
        label = tr(language, "bot.news_service", service=service_title or service)
        rows.insert(1, [step_button(label, data)])
    text = f"{escape(outro)}\n\n{escape(tr(language, 'bot.thanks_optin'))}"
    return View(text, step_markup(rows))
