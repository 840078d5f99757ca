"""The questionnaires as web forms: HTTP form fields -> DialogService calls; Steps -> pages.

Where the progress lives: server-side, in the dialog service's state port, keyed by the
keyed hash of the browser cookie (the composition root adapts the bot's FSM storage, so the
state is durable before the page is drawn, exactly as for Telegram). Each question page
carries only a signed, expiring token naming its dialog and turn: a resubmitted page (double
click, Back and submit, a refresh) is told apart by the service's turn check and stores
nothing twice, a forged token is refused, and a token past its age shows where the dialog
stands. Client-side progress was the alternative; it would let a copied page be submitted
again after completion (once per copy) unless the server remembered finished dialogs, which
is server-side state again, held without the FSM store's durability.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

from questionnaires.campaigns import Verdict
from questionnaires.deeplinks import SITE_CHANNEL
from questionnaires.engine import CannotRate, Choose, ChooseMany, Rate, Reason, TextInput
from questionnaires.fronts import Front
from questionnaires.render import CANNOT_RATE_LABEL
from questionnaires.results import CANNOT_RATE, ResponseContext
from questionnaires.schema import Language
from services.dialog import (
    Action,
    Back,
    Cancelled,
    DialogService,
    DialogState,
    Finished,
    Origin,
    Person,
    Question,
    QuestionKind,
    Rating,
    Refusal,
    Refused,
    Rejection,
    Skip,
    Stale,
    Step,
    Window,
)
from services.feedback import FeedbackService
from services.windows import WindowView
from web.pages import OptionView, Page, PickerView, PollChoice, QuestionView, ServiceChoice
from web.security import BadToken, Signer
from web.texts import reason_text, text

#: A question page may be answered for a day; the dialog itself lives as long as the FSM TTL.
FORM_MAX_AGE: Final = 24 * 3600
FORM_PURPOSE: Final = "form"

_VERDICT_TEXT: Final = {
    Verdict.ALREADY_ANSWERED: "window_answered",
    Verdict.CLOSED: "window_closed",
    Verdict.NOT_OPEN: "window_closed",
    Verdict.UNKNOWN: "not_found",
    Verdict.NOT_ENROLLED: "not_found",
}


class OpenWindows(Protocol):
    """The poll windows the picker lists (services.windows.WindowService)."""

    async def open_windows(self, audience: str) -> list[WindowView]: ...


@dataclass
class WebForms:
    """The FormPort of the routes, over the one dialog service every front uses."""

    dialog: DialogService
    feedback: FeedbackService
    windows: OpenWindows
    state_for: Callable[[Person], DialogState]
    #: The person's lock (the bot's event isolation, shared through Redis by several
    #: processes): one start, answer or cancel of a browser at a time, as one Telegram update
    #: of a person at a time, so a double click reads the turn the first click left and moves
    #: the dialog, and its drop-off counters, once.
    lock_for: Callable[[Person], AbstractAsyncContextManager[object]]
    signer: Signer
    max_age: float = FORM_MAX_AGE

    # --- the picker ---------------------------------------------------------------------

    async def picker(
        self, language: Language, *, notice: str | None = None, status: int = 200
    ) -> Page:
        services = tuple(
            ServiceChoice(service.code, service.title.get(language))
            for service in self.feedback.citizen_services()
        )
        polls = tuple(
            PollChoice(str(window.id), window.title.get(language))
            for window in await self.windows.open_windows("external")
        )
        return Page(status=status, picker=PickerView(services, polls), notice=notice)

    # --- starts -------------------------------------------------------------------------

    async def start_link(self, person: Person, payload: str, language: Language) -> Page:
        context = self.feedback.context_from_link(payload)
        if context is None:
            return await self.picker(language, notice="unknown_link", status=404)
        if self._internal(context.service):
            return await self.picker(language, notice="internal_service")
        return await self._start(person, Rating(context), language)

    async def start_service(self, person: Person, service: str, language: Language) -> Page:
        if self.feedback.catalog.service(service) is None or self._internal(service):
            return await self.picker(language, notice="unknown_link", status=404)
        # Without a link the web form itself is where the person is: the site channel.
        channel = SITE_CHANNEL if self.feedback.catalog.channel(SITE_CHANNEL) else None
        return await self._start(person, Rating(ResponseContext(service, channel)), language)

    async def start_window(self, person: Person, window: str, language: Language) -> Page:
        if not window.isdigit() or len(window) > 9:
            return self._message(language, "not_found", 404)
        open_ids = {str(view.id) for view in await self.windows.open_windows("external")}
        if window not in open_ids:
            # Staff polls need an enrolled member (Telegram only); others are not open.
            return self._message(language, "window_closed", 404)
        return await self._start(person, Window(int(window)), language)

    async def _start(self, person: Person, origin: Origin, language: Language) -> Page:
        async with self.lock_for(person):
            step = await self.dialog.start(
                self.state_for(person), person, language, origin, front=Front.WEB
            )
        return self._page(step, language)

    def _internal(self, code: str | None) -> bool:
        service = self.feedback.catalog.service(code) if code else None
        return service is not None and service.internal

    # --- the dialog ---------------------------------------------------------------------

    async def current(self, person: Person, language: Language) -> Page:
        step = await self.dialog.current(self.state_for(person), language)
        if isinstance(step, Stale):
            return await self.picker(language)
        return self._page(step, language)

    async def submit(
        self,
        person: Person,
        language: Language,
        *,
        state: str,
        action: str,
        choices: Sequence[str],
        typed: str,
    ) -> Page:
        async with self.lock_for(person):
            store = self.state_for(person)
            try:
                token = self.signer.unsign(FORM_PURPOSE, state, self.max_age)
                dialog, turn, kind = str(token["n"]), int(token["t"]), str(token["k"])
            except BadToken as bad:
                if bad.reason == "expired":
                    return await self._resume(store, language, "expired")
                return self._message(language, "forged", 400)
            except (KeyError, TypeError, ValueError):
                return self._message(language, "forged", 400)
            if action == "cancel":
                cancelled = await self.dialog.cancel(store)
                return self._page(cancelled, language)
            move = self._action(action, kind, choices, typed)
            if isinstance(move, Rejection):
                current = await self.dialog.current(store, language)
                if isinstance(current, Question) and (current.dialog, current.turn) == (
                    dialog,
                    turn,
                ):
                    return self._question(current, language, rejection=move)
                return self._page(current, language)
            step = await self.dialog.press(store, person, language, dialog, turn, move)
            if isinstance(step, Stale):
                # A page of an older dialog of this browser: nothing changed; if a newer one is
                # live (started again, in another tab), show where it stands.
                live = await self.dialog.current(store, language)
                if isinstance(live, Question):
                    return self._question(live, language, notice="other_dialog")
            page = self._page(step, language)
            if isinstance(move, TextInput) and page.question is not None and page.error:
                # A refused text is shown again in its field: nothing typed is lost.
                question = dataclasses.replace(page.question, prefill_text=typed)
                page = dataclasses.replace(page, question=question)
            return page

    async def _resume(self, store: DialogState, language: Language, notice: str) -> Page:
        current = await self.dialog.current(store, language)
        if isinstance(current, Stale):
            return self._message(language, notice, 410)
        page = self._question(current, language)
        return Page(
            status=200,
            title=page.title,
            question=page.question,
            state=page.state,
            notice=notice,
        )

    @staticmethod
    def _action(action: str, kind: str, choices: Sequence[str], typed: str) -> Action | Rejection:
        """The form's fields as one input of the dialog service, or why they cannot be."""
        if action == "back":
            return Back()
        if action == "skip":
            return Skip()
        if kind in (QuestionKind.TEXT, QuestionKind.OTHER_TEXT):
            return TextInput(typed)
        if kind == QuestionKind.MULTI:
            return ChooseMany(tuple(choices))
        if len(choices) != 1:
            return Rejection(Reason.EXPECTS_CHOICE)
        chosen = choices[0]
        if kind == QuestionKind.SCALE:
            if chosen == CANNOT_RATE:
                return CannotRate()
            if not chosen.lstrip("-").isdigit() or len(chosen) > 3:
                return Rejection(Reason.OUT_OF_RANGE)
            return Rate(int(chosen))
        return Choose(chosen)

    # --- steps to pages -----------------------------------------------------------------

    def _page(self, step: Step, language: Language) -> Page:
        if isinstance(step, Question):
            return self._question(
                step,
                language,
                rejection=step.rejection,
                notice="already_counted" if step.repeated else None,
            )
        if isinstance(step, Finished):
            return Page(title=text(language, "thanks_title"), message=step.outro, again=True)
        if isinstance(step, Refused):
            if step.refusal is Refusal.ALREADY_RATED:
                return self._message(language, "already_rated", 200, again=True)
            key = _VERDICT_TEXT.get(step.verdict or Verdict.UNKNOWN, "not_found")
            return self._message(language, key, 409 if key == "window_answered" else 200)
        if isinstance(step, Cancelled):
            return self._message(language, "cancelled", 200, again=True)
        # Stale: no live dialog of this browser, or another one; nothing changed.
        return self._message(language, "no_dialog", 409, again=True)

    def _question(
        self,
        step: Question,
        language: Language,
        *,
        rejection: Rejection | None = None,
        notice: str | None = None,
    ) -> Page:
        field = f"q-{step.question_id}"
        kind = "other" if step.kind is QuestionKind.OTHER_TEXT else step.kind.value
        ends = {}
        if step.scale is not None:
            ends = {
                str(step.scale.min): step.scale.min_label,
                str(step.scale.max): step.scale.max_label,
            }
        options = [
            OptionView(
                f"{field}-{index}",
                choice.value,
                choice.label,
                choice.marked,
                ends.get(choice.value, ""),
            )
            for index, choice in enumerate(step.choices)
        ]
        if step.cannot_rate:
            options.append(
                OptionView(f"{field}-cannot", CANNOT_RATE, CANNOT_RATE_LABEL.get(language))
            )
        wording = step.text
        if step.kind is QuestionKind.OTHER_TEXT:
            wording = text(language, "other_prompt", option=step.other_label or "")
        view = QuestionView(
            kind=kind,
            text=wording,
            number=step.progress.number,
            total=step.progress.total,
            required=not step.can_skip,
            can_skip=step.can_skip,
            can_go_back=step.can_go_back,
            options=tuple(options),
            hint=step.hint,
            scale_labels=(step.scale.min_label, step.scale.max_label) if step.scale else None,
            max_length=step.max_length or 1000,
            error=rejection is not None,
        )
        token = self.signer.sign(
            FORM_PURPOSE, {"n": step.dialog, "t": step.turn, "k": step.kind.value}
        )
        return Page(
            status=422 if rejection is not None else 200,
            title=text(language, "survey_title"),
            question=view,
            state=token,
            error=reason_text(language, rejection.reason, rejection.limit) if rejection else None,
            intro=step.intro,
            notice=notice,
        )

    @staticmethod
    def _message(language: Language, key: str, status: int = 200, *, again: bool = False) -> Page:
        return Page(
            status=status,
            title=text(language, "site_name"),
            message=text(language, key),
            again=again,
        )
