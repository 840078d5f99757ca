"""Renders dialog steps as Telegram messages: escaped HTML text and inline keyboards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Annotated, Final

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from handlers.texts import tr
from questionnaires.catalog import Service
from questionnaires.engine import Asked
from questionnaires.i18n import N_
from questionnaires.render import question_text
from questionnaires.schema import (
    Language,
    MultiChoiceQuestion,
    NpsQuestion,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    TextQuestion,
    YesNoQuestion,
)

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


OPT_IN_YES: Final = OptInPress(yes=True).pack()
OPT_IN_NO: Final = OptInPress(yes=False).pack()


@dataclass(frozen=True, slots=True)
class View:
    text: str
    markup: InlineKeyboardMarkup | None


def step_view(
    questionnaire: Questionnaire,
    asked: Asked,
    nonce: str,
    language: Language,
    titles: Mapping[str, str | None],
    notice: str | None = None,
) -> View:
    """The message for an asked question: progress, wording, hints, buttons."""
    question = asked.question
    progress = tr(language, "bot.progress", number=asked.number, total=asked.total)
    lines = [f"<i>{escape(progress)}</i>"]
    lines.append(f"<b>{escape(question_text(questionnaire, asked, language, titles))}</b>")
    if question.hint:
        lines.append(escape(question.hint.get(language)))
    # Rows are built directly: InlineKeyboardBuilder deep-copies every button on export,
    # which costs more than the rest of a button press together.
    rows: list[list[InlineKeyboardButton]] = []
    turn = asked.turn

    def press(action: str, value: str = "") -> str:
        return pack_press(nonce, turn, action, value)

    if asked.awaiting_other:
        assert isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion)
        chosen = next(o for o in question.options if o.other)
        lines.append(
            escape(
                tr(
                    language,
                    "bot.type_other",
                    option=chosen.text.get(language),
                    limit=question.other_max_length,
                )
            )
        )
    elif isinstance(question, ScaleQuestion | NpsQuestion):
        if question.labels and (question.labels.min or question.labels.max):
            lines.append(
                escape(
                    tr(
                        language,
                        "bot.scale_ends",
                        min=question.min,
                        max=question.max,
                        min_label=question.labels.min.get(language) if question.labels.min else "",
                        max_label=question.labels.max.get(language) if question.labels.max else "",
                    )
                )
            )
        points = range(question.min, question.max + 1)
        buttons = [
            InlineKeyboardButton(
                text=f"• {value} •" if asked.prefill == value else str(value),
                callback_data=press(Action.RATE, str(value)),
            )
            for value in points
        ]
        # Up to six scores fit one row on a phone; 0-10 goes over two rows.
        per_row = len(buttons) if len(buttons) <= 6 else (len(buttons) + 1) // 2
        rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if question.cannot_rate:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=tr(language, "bot.cannot_rate"),
                        callback_data=press(Action.CANNOT_RATE),
                    )
                ]
            )
    elif isinstance(question, MultiChoiceQuestion):
        lines.append(
            escape(
                tr(language, "bot.choose_up_to", limit=question.max_choices)
                if question.max_choices
                else tr(language, "bot.choose_several")
            )
        )
        for option in question.options:
            mark = "☑️ " if option.id in asked.selected else "▫️ "
            rows.append(
                [
                    InlineKeyboardButton(
                        text=mark + option.text.get(language),
                        callback_data=press(Action.TOGGLE, option.id),
                    )
                ]
            )
        rows.append(
            [InlineKeyboardButton(text=tr(language, "bot.done"), callback_data=press(Action.DONE))]
        )
    elif isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        for option in question.options:
            mark = "• " if asked.prefill == option.id else ""
            rows.append(
                [
                    InlineKeyboardButton(
                        text=mark + option.text.get(language),
                        callback_data=press(Action.CHOOSE, option.id),
                    )
                ]
            )
    elif isinstance(question, TextQuestion):
        lines.append(escape(tr(language, "bot.type_text", limit=question.max_length)))
    navigation: list[InlineKeyboardButton] = []
    if asked.can_go_back:
        navigation.append(
            InlineKeyboardButton(text=tr(language, "bot.back"), callback_data=press(Action.BACK))
        )
    if asked.can_skip:
        navigation.append(
            InlineKeyboardButton(text=tr(language, "bot.skip"), callback_data=press(Action.SKIP))
        )
    if navigation:
        rows.append(navigation)
    if notice:
        lines.append(f"\n⚠️ {escape(notice)}")
    markup = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
    return View("\n\n".join(lines), markup)


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


def thanks_view(outro: str, language: Language) -> View:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=tr(language, key), callback_data=data)]
            for key, data in ((N_("bot.optin_yes"), OPT_IN_YES), (N_("bot.optin_no"), OPT_IN_NO))
        ]
    )
    text = f"{escape(outro)}\n\n{escape(tr(language, 'bot.thanks_optin'))}"
    return View(text, markup)
