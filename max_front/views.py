"""Dialog steps as MAX messages: plain text and inline keyboards, one renderer per kind.

Button payloads: `q:<nonce>:<turn>:<action>:<value>` for a step (the nonce and turn make a
stale or forged press harmless: the dialog service checks both), `p:<page>:<service>` for the
service picker, `w:<window>` for a poll; the opt-ins: `o:1`/`o:0` (news of changes, yes or
no), `sn:<service>` (one service's news), `ns:1` (stop the news: the button under every news
message, services.announcements.NEWS_STOP_DATA), `pi:1` (invitations to polls). MAX allows up
to 1024 characters of payload; these stay under 64, like Telegram's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from max_front.api import Button, Keyboard, View
from questionnaires.campaigns import Verdict
from questionnaires.catalog import Service
from questionnaires.engine import Reason
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from services.dialog import Question, QuestionKind, Refusal, Refused
from services.windows import WindowView

SERVICES_PER_PAGE: Final = 6

OPT_IN_YES: Final = "o:1"
OPT_IN_NO: Final = "o:0"
SERVICE_NEWS: Final = "sn:"
POLLS_INVITE: Final = "pi:1"
#: Staff poll invitations: for enrolled staff only (checked again on the press).
STAFF_POLLS_INVITE: Final = "pi:s"
#: Service codes a news button carries (like Telegram's 64 bytes of callback data).
SERVICE_CODE_LENGTH: Final = 60

RATE: Final = "r"
CHOOSE: Final = "c"
TOGGLE: Final = "g"
DONE: Final = "k"
CANNOT_RATE: Final = "n"
BACK: Final = "b"
SKIP: Final = "s"


@dataclass(frozen=True, slots=True)
class StepPress:
    """A parsed step button."""

    dialog: str
    turn: int
    action: str
    value: str


def step_payload(step: Question, action: str, value: str = "") -> str:
    return f"q:{step.dialog}:{step.turn}:{action}:{value}"


def parse_step(payload: str) -> StepPress | None:
    """A step button's payload, or None for anything else (forged, another kind)."""
    parts = payload.split(":")
    if len(parts) != 5 or parts[0] != "q":
        return None
    _, dialog, turn, action, value = parts
    valid = (
        0 < len(dialog) <= 16
        and turn.isdigit()
        and len(turn) <= 7
        and action in (RATE, CHOOSE, TOGGLE, DONE, CANNOT_RATE, BACK, SKIP)
        and len(value) <= 64
    )
    return StepPress(dialog, int(turn), action, value) if valid else None


def reason_text(language: Language, reason: Reason, limit: int | None) -> str:
    return tr(language, f"bot.reason.{reason.value}", limit=limit)


def refusal_text(language: Language, refused: Refused) -> str:
    if refused.refusal is Refusal.WINDOW and refused.verdict is not None:
        return tr(language, f"bot.verdict.{refused.verdict.value}")
    if refused.refusal is Refusal.NOT_STAFF:
        return tr(language, "polls.feedback_staff_only")
    return tr(language, "bot.already_rated")


def verdict_text(language: Language, verdict: Verdict) -> str:
    return tr(language, f"bot.verdict.{verdict.value}")


Rows = list[tuple[Button, ...]]


def question_view(step: Question, language: Language, notice: str | None = None) -> View:
    """Progress, wording, hint, the kind's own lines and buttons, Back and Skip, a notice."""
    progress = tr(language, "bot.progress", number=step.progress.number, total=step.progress.total)
    lines = [progress, step.text]
    if step.intro and step.progress.number == 1 and not step.repeated:
        lines.insert(0, step.intro)
    if step.hint is not None:
        lines.append(step.hint)
    kind_lines, rows = _RENDERERS[step.kind](step, language)
    lines += kind_lines
    navigation: list[Button] = []
    if step.can_go_back:
        navigation.append(Button(tr(language, "bot.back"), step_payload(step, BACK)))
    if step.can_skip:
        navigation.append(Button(tr(language, "bot.skip"), step_payload(step, SKIP)))
    if navigation:
        rows.append(tuple(navigation))
    if step.rejection is not None:
        notice = reason_text(language, step.rejection.reason, step.rejection.limit)
    elif step.repeated and notice is None:
        notice = tr(language, "bot.already_counted")
    if notice:
        lines.append(f"⚠️ {notice}")
    return View("\n\n".join(lines), tuple(rows))


def _scale(step: Question, language: Language) -> tuple[list[str], Rows]:
    lines: list[str] = []
    ends = step.scale
    if ends is not None:
        lines.append(
            tr(
                language,
                "bot.scale_ends",
                min=ends.min,
                max=ends.max,
                min_label=ends.min_label,
                max_label=ends.max_label,
            )
        )
    points = [
        Button(f"• {p.label} •" if p.marked else p.label, step_payload(step, RATE, p.value))
        for p in step.choices
    ]
    per_row = len(points) if len(points) <= 6 else (len(points) + 1) // 2
    rows: Rows = [tuple(points[i : i + per_row]) for i in range(0, len(points), per_row)]
    if step.cannot_rate:
        rows.append((Button(tr(language, "bot.cannot_rate"), step_payload(step, CANNOT_RATE)),))
    return lines, rows


def _multi(step: Question, language: Language) -> tuple[list[str], Rows]:
    hint = (
        tr(language, "bot.choose_up_to", limit=step.max_choices)
        if step.max_choices
        else tr(language, "bot.choose_several")
    )
    rows: Rows = [
        (
            Button(
                ("☑️ " if option.marked else "▫️ ") + option.label,
                step_payload(step, TOGGLE, option.value),
            ),
        )
        for option in step.choices
    ]
    rows.append((Button(tr(language, "bot.done"), step_payload(step, DONE)),))
    return [hint], rows


def _single(step: Question, language: Language) -> tuple[list[str], Rows]:
    rows: Rows = [
        (
            Button(
                ("• " if option.marked else "") + option.label,
                step_payload(step, CHOOSE, option.value),
            ),
        )
        for option in step.choices
    ]
    return [], rows


def _text(step: Question, language: Language) -> tuple[list[str], Rows]:
    return [tr(language, "bot.type_text", limit=step.max_length)], []


def _other_text(step: Question, language: Language) -> tuple[list[str], Rows]:
    line = tr(language, "bot.type_other", option=step.other_label, limit=step.max_length)
    return [line], []


_RENDERERS: Final[dict[QuestionKind, Callable[[Question, Language], tuple[list[str], Rows]]]] = {
    QuestionKind.SCALE: _scale,
    QuestionKind.MULTI: _multi,
    QuestionKind.SINGLE: _single,
    QuestionKind.TEXT: _text,
    QuestionKind.OTHER_TEXT: _other_text,
}


def picker_view(services: Sequence[Service], page: int, language: Language, intro: str) -> View:
    """A paged list of services to rate."""
    if not services:
        return View(tr(language, "bot.no_services"))
    pages = (len(services) + SERVICES_PER_PAGE - 1) // SERVICES_PER_PAGE
    page = min(max(page, 0), pages - 1)
    shown = services[page * SERVICES_PER_PAGE : (page + 1) * SERVICES_PER_PAGE]
    rows: Rows = [(Button(s.title.get(language), f"p:{page}:{s.code}"),) for s in shown]
    if pages > 1:
        nav: list[Button] = []
        if page > 0:
            nav.append(Button("←", f"p:{page - 1}:"))
        nav.append(Button(tr(language, "bot.pick_page", page=page + 1, pages=pages), f"p:{page}:"))
        if page < pages - 1:
            nav.append(Button("→", f"p:{page + 1}:"))
        rows.append(tuple(nav))
    return View(intro, tuple(rows))


def polls_view(windows: Sequence[WindowView], language: Language, *, staff: bool = False) -> View:
    """The open poll windows a person may answer, one button each, and the invitation
    opt-in (enrolled staff: to staff polls, as in Telegram)."""
    rows: Keyboard = tuple(
        (
            Button(
                f"{window.title.get(language)} "
                f"({tr(language, 'polls.open_until', day=f'{window.closes_on:%d.%m}')})",
                f"w:{window.id}",
            ),
        )
        for window in windows
    )
    rows += (staff_invite_row(language) if staff else invite_row(language),)
    return View(tr(language, "polls.open_polls" if windows else "polls.no_open_polls"), rows)


def invite_row(language: Language) -> tuple[Button, ...]:
    return (Button(tr(language, "polls.invite_me"), POLLS_INVITE),)


def staff_invite_row(language: Language) -> tuple[Button, ...]:
    return (Button(tr(language, "polls.staff_invite_me"), STAFF_POLLS_INVITE),)


def thanks_view(
    outro: str, language: Language, service: str | None = None, title: str | None = None
) -> View:
    """The end of a citizen's dialog, as in Telegram: the news offer, and the rated
    service's own news (a choice of its own)."""
    rows: list[tuple[Button, ...]] = [
        (Button(tr(language, key), data),)
        for key, data in ((N_("bot.optin_yes"), OPT_IN_YES), (N_("bot.optin_no"), OPT_IN_NO))
    ]
    if service and len(service) <= SERVICE_CODE_LENGTH and ":" not in service:
        label = tr(language, "bot.news_service", service=title or service)
        rows.insert(1, (Button(label, SERVICE_NEWS + service),))
    return View(f"{outro}\n\n{tr(language, 'bot.thanks_optin')}", tuple(rows))
