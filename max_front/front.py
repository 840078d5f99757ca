"""MAX updates to dialog service calls, and the steps back as MAX messages.

What stays here is MAX's: the update format (https://dev.max.ru/docs-api/objects/Update),
which message shows the step, and the one answer of every callback (POST /answers). The
person is `max_front.persons.person_of(key, user id)`: the MAX id itself goes nowhere but to
MAX's own API (the recipient of a message) and, when the person asks for news or
invitations, to the subscribers' tables as a MAX chat (questionnaires.messengers.max_chat:
the messenger beside it, never next to an answer).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from max_front import officer_language
from max_front.api import Button, MaxApi, MaxApiError, OnceDownloaded, Update, View
from max_front.officer import MaxOfficers
from max_front.painmap import MaxPainMap, is_pain_payload
from max_front.persons import person_of
from max_front.reports import MaxReports, is_report_payload
from max_front.signals import is_signal_data, press_signal
from max_front.views import (
    BACK,
    CANNOT_RATE,
    CHOOSE,
    DONE,
    OPT_IN_NO,
    OPT_IN_YES,
    POLLS_INVITE,
    RATE,
    SERVICE_NEWS,
    SKIP,
    STAFF_POLLS_INVITE,
    TOGGLE,
    StepPress,
    parse_step,
    picker_view,
    polls_view,
    question_view,
    refusal_text,
    staff_invite_row,
    thanks_view,
)
from questionnaires.campaigns import CampaignAudience, EnrollStatus
from questionnaires.engine import CannotRate, Choose, Done, Rate, TextInput, Toggle
from questionnaires.fronts import Front
from questionnaires.i18n import N_, tr
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from services.announcements import NEWS_STOP_DATA
from services.appeals import MAX_FILE_BYTES
from services.dialog import (
    Action,
    Back,
    Cancelled,
    DialogService,
    DialogState,
    Finished,
    Initiative,
    Person,
    Question,
    Rating,
    Refused,
    Skip,
    Stale,
    Step,
    Window,
)
from services.feedback import FeedbackService
from services.officer_languages import OfficerLanguages
from services.outages import is_storage_outage
from services.painmap_text import MAX_SHEET_BYTES
from services.reporting import ReportingService
from services.signals import SignalService
from services.windows import WindowService, parse_window_payload

logger = logging.getLogger(__name__)

#: MAX's limit on a message's text (dev.max.ru/docs-api/methods/POST/messages: 4000).
MAX_TEXT: Final = 4000

#: The key of the message showing the step, kept beside the service's keys in the state.
MESSAGE_KEY = "max_m"


class MaxDialogState(DialogState, Protocol):
    """The service's state port plus the id of the MAX message that shows the step."""

    async def message_id(self) -> str | None: ...

    async def set_message_id(self, message_id: str | None) -> None: ...


def language_of(update: Update) -> Language:
    """English when MAX reports the person's locale as English, Russian otherwise."""
    locale = str(update.get("user_locale") or "")
    return Language.EN if locale.lower().startswith("en") else Language.RU


@dataclass
class MaxFront:
    """Handles one update at a time per person (the poller orders them)."""

    api: MaxApi
    dialog: DialogService
    feedback: FeedbackService
    windows: WindowService
    state_for: Callable[[Person], MaxDialogState]
    person_key: bytes
    #: Officers' reports in MAX (MAX__OFFICER_IDS); None: no officer commands.
    reporting: ReportingService | None = None
    #: The buttons of signals and negative batches sent to MAX officers; None: "inactive".
    signals: SignalService | None = None
    #: Officers' pain map in MAX (max_front.painmap); None: no /pains.
    pains: MaxPainMap | None = None
    #: The officers' other commands (max_front.officer), /help and /results; None: none.
    officers: MaxOfficers | None = None
    #: Officers' /report and /export (max_front.reports); None: none.
    reports: MaxReports | None = None

    async def _officers_command(
        self, user: int, command: str, argument: str, language: Language
    ) -> bool:
        officers = self.officers
        return officers is not None and await officers.command(
            user, self.person(user), command, argument, language
        )

    #: Officers' languages for their deliveries (issue 12); None: not learned here.
    officer_languages: OfficerLanguages | None = None

    def person(self, user_id: int) -> Person:
        return person_of(self.person_key, user_id)

    async def handle(self, update: Update) -> None:
        """One update; whatever fails, the person is told (a storage outage: try again later,
        anything else: an error on our side) and a press is still answered once."""
        try:
            await self._dispatch(update)
        except Exception as error:
            user = sender_of(update)
            if is_storage_outage(error):
                logger.warning("MAX update not handled: storage outage (%s)", type(error).__name__)
                key = "bot.try_later"
            else:
                logger.exception("MAX update %s failed", update.get("update_type"))
                key = "bot.unexpected_error"
            if user is not None:
                with contextlib.suppress(MaxApiError):
                    await self.api.send(user, View(tr(language_of(update), key)))

    async def _dispatch(self, update: Update) -> None:
        kind = update.get("update_type")
        if kind == "bot_started":
            user = _user_id(update.get("user"))
            if user is not None:
                await self.start(user, str(update.get("payload") or ""), language_of(update))
        elif kind == "message_created":
            await self.on_message(update)
        elif kind == "message_callback":
            await self.on_callback(update)

    # --- messages -----------------------------------------------------------------------

    async def on_message(self, update: Update) -> None:
        message = update.get("message") or {}
        user = _user_id(message.get("sender"))
        recipient = message.get("recipient") or {}
        if user is None or recipient.get("chat_type", "dialog") != "dialog":
            return  # only private dialogs: nothing in a group is answered
        language = language_of(update)
        body = message.get("body") or {}
        text = (body.get("text") or "").strip()
        attachments = body.get("attachments")
        attachments = attachments if isinstance(attachments, list) else []
        # A file while a measure is typed goes to the imports below; the measure waits.
        with_file = any(isinstance(a, dict) and a.get("type") == "file" for a in attachments)
        if self.pains is not None and await self.pains.typed(
            user, text, language, with_file=with_file
        ):
            return  # a step of the measure an officer is typing
        # One fetch of the file for both checks: the pain map sheet, then the register.
        file = OnceDownloaded(self.api.download, max(MAX_SHEET_BYTES, MAX_FILE_BYTES))
        if self.pains is not None and await self.pains.sheet(
            user, attachments, language, download=file.download
        ):
            return  # the pain map sheet sent back
        if not text:
            if not (
                self.officers
                and await self.officers.attachment(
                    user, language, attachments, download=file.download
                )
            ):
                await self.api.send(user, View(tr(language, "bot.unsupported_content")))
            return
        command, _, argument = text.partition(" ")
        if self.officer_languages is not None and command.startswith("/"):
            await officer_language.heard(self.officer_languages, user, update)
        if command == "/start":
            await self.start(user, argument.strip(), language)
        elif command == "/polls":
            await self.show_polls(user, language)
        elif command == "/join":
            await self.join(user, argument.strip(), language)
        elif command == "/feedback":
            await self.begin(user, language, Initiative())
        elif command == "/cancel":
            await self.cancel(user, language)
        elif command in ("/report", "/export"):
            if not (
                self.reports is not None
                and await self.reports.command(
                    user, argument, language, export=command == "/export"
                )
            ):
                await self.typed(user, text, language)  # not an officer: any other text
        elif command == "/pains":
            if self.pains is None or not await self.pains.show_list(user, language):
                await self.typed(user, text, language)  # not an officer: any other text
        elif command == "/language" and self.officer_languages is not None:
            if not await officer_language.language_command(
                self.api, self.officer_languages, user, argument, language
            ):
                await self.typed(user, text, language)  # not an officer: any other text
        elif command == "/whoami":
            # The person's own MAX id, to them only (an operator needs it for
            # MAX__OFFICER_IDS); never logged, never stored.
            await self.api.send(user, View(tr(language, N_("max.whoami"), id=user)))
        elif command == "/stop":
            # Every subscription of this MAX chat; its Telegram namesake is another chat.
            await self.feedback.opt_out(max_chat(user))
            await self.api.send(user, View(tr(language, "bot.stopped")))
        elif not await self._officers_command(user, command, argument.strip(), language):
            await self.typed(user, text, language)

    async def start(self, user: int, payload: str, language: Language) -> None:
        window = parse_window_payload(payload)
        if window is not None:
            await self.begin(user, language, Window(window))
            return
        context = self.feedback.context_from_link(payload) if payload else None
        service = (
            self.feedback.catalog.service(context.service) if context and context.service else None
        )
        if context is not None and not (service is not None and service.internal):
            await self.begin(user, language, Rating(context))
            return
        if payload:
            logger.info("Unknown MAX start payload (%d characters)", len(payload))
        await self.state_for(self.person(user)).clear()
        intro = (
            "bot.internal_service"
            if context is not None
            else ("bot.unknown_link" if payload else "bot.welcome")
        )
        view = picker_view(self.feedback.citizen_services(), 0, language, tr(language, intro))
        await self.api.send(user, view)

    async def begin(
        self, user: int, language: Language, origin: Rating | Window | Initiative
    ) -> None:
        person = self.person(user)
        state = self.state_for(person)
        step = await self.dialog.start(state, person, language, origin, front=Front.MAX)
        if isinstance(step, Refused):
            await self.api.send(user, View(refusal_text(language, step)))
            return
        await self._show_new(user, state, question_view(step, language))

    async def typed(self, user: int, text: str, language: Language) -> None:
        person = self.person(user)
        state = self.state_for(person)
        old = await state.message_id()
        step = await self.dialog.text(state, person, language, text)
        if isinstance(step, Stale):
            await self.api.send(user, View(tr(language, "bot.no_dialog")))
            return
        # A typed answer moves the dialog down: the next step is a new message, and the one
        # above loses its buttons (best effort: a failed edit leaves dead buttons, which are
        # answered "stale" if pressed).
        if isinstance(step, Question):
            await self._show_new(user, state, question_view(step, language))
        else:
            await self.api.send(user, self._outcome_view(step, language))
        if old is not None and not (isinstance(step, Question) and step.rejection is not None):
            with contextlib.suppress(MaxApiError):
                await self.api.remove_keyboard(old)

    async def cancel(self, user: int, language: Language) -> None:
        cancelled = await self.dialog.cancel(self.state_for(self.person(user)))
        key = "bot.cancelled" if cancelled.had_dialog else "bot.nothing_to_cancel"
        await self.api.send(user, View(tr(language, key)))

    async def show_polls(self, user: int, language: Language) -> None:
        windows = await self.windows.open_windows(CampaignAudience.EXTERNAL)
        staff = await self.windows.enrolment.is_staff(self.person(user))
        if staff:
            windows += await self.windows.open_windows(CampaignAudience.STAFF)
        await self.api.send(user, polls_view(windows, language, staff=staff))

    async def join(self, user: int, code: str, language: Language) -> None:
        if not code:
            await self.api.send(user, View(tr(language, "polls.join_usage")))
            return
        result = await self.windows.enrolment.enroll(code, self.person(user))
        department = self.windows.enrolment.department_title(result.department, language)
        key = {
            # The Telegram text names the Telegram id; MAX people are told about theirs.
            EnrollStatus.OK: N_("max.enroll_ok"),
            EnrollStatus.UNKNOWN: "polls.enroll.unknown",
            EnrollStatus.USED: "polls.enroll.used",
            EnrollStatus.ALREADY_ENROLLED: "polls.enroll.already_enrolled",
        }[result.status]
        # Enrolled staff are offered staff poll invitations in MAX, as in Telegram.
        enrolled = result.status in (EnrollStatus.OK, EnrollStatus.ALREADY_ENROLLED)
        keyboard = (staff_invite_row(language),) if enrolled else ()
        await self.api.send(user, View(tr(language, key, department=department), keyboard))

    # --- buttons ------------------------------------------------------------------------

    async def on_callback(self, update: Update) -> None:
        callback = update.get("callback") or {}
        callback_id = callback.get("callback_id")
        user = _user_id(callback.get("user"))
        if not isinstance(callback_id, str) or user is None:
            return
        language = language_of(update)
        pressed = ((update.get("message") or {}).get("body") or {}).get("mid")
        payload = str(callback.get("payload") or "")
        answer = _Answer(self.api, callback_id)
        try:
            press = parse_step(payload)
            if press is not None:
                await self._press(user, language, press, answer, pressed)
            elif payload.startswith("p:"):
                await self._pick(user, language, payload, answer)
            elif payload.startswith("w:") and payload[2:].isdigit() and len(payload) <= 12:
                await answer.notify(None)
                await self.begin(user, language, Window(int(payload[2:])))
            elif payload in (OPT_IN_YES, OPT_IN_NO, NEWS_STOP_DATA, POLLS_INVITE):
                await self._opt_in(user, language, payload, answer, update)
            elif payload == STAFF_POLLS_INVITE:
                await self._staff_invitations(user, language, answer)
            elif payload.startswith(SERVICE_NEWS):
                await self._service_news(user, language, payload, answer, update)
            elif is_pain_payload(payload) and self.pains is not None:
                await self.pains.press(user, language, payload, answer)
            elif is_report_payload(payload):
                reports = self.reports
                if not (reports and await reports.press(user, language, payload, answer)):
                    await answer.notify(tr(language, "bot.stale_button"))
            elif is_signal_data(payload) and self.signals is not None:
                await self._signal(user, language, payload, answer, update)
            elif not (
                self.officers
                and await self.officers.press(user, language, payload, answer, pressed)
            ):
                await answer.notify(tr(language, "bot.stale_button"))
        finally:
            # Every callback gets exactly one answer, whatever failed above.
            await answer.notify(None)

    async def _press(
        self, user: int, language: Language, press: StepPress, answer: _Answer, pressed: Any
    ) -> None:
        person = self.person(user)
        state = self.state_for(person)
        action = _action(press)
        step = await self.dialog.press(state, person, language, press.dialog, press.turn, action)
        if isinstance(step, Stale):
            await answer.notify(tr(language, "bot.stale_button"))
            return
        view = (
            question_view(step, language)
            if isinstance(step, Question)
            else self._outcome_view(step, language)
        )
        if await answer.replace(view):
            shown_here = isinstance(step, Question) and isinstance(pressed, str)
            if shown_here and await state.message_id() != pressed:
                await state.set_message_id(str(pressed))
            return
        # MAX refused the edit (the message is too old, deleted): the step as a new message.
        if isinstance(step, Question):
            await self._show_new(user, state, view)
        else:
            await self.api.send(user, view)

    async def _pick(self, user: int, language: Language, payload: str, answer: _Answer) -> None:
        _, page, code = ([*payload.split(":", 2), "", ""])[:3]
        if not code:
            number = int(page) if page.isdigit() and len(page) <= 5 else 0
            view = picker_view(
                self.feedback.citizen_services(), number, language, tr(language, "bot.welcome")
            )
            await answer.replace(view)
            return
        context = self.feedback.context_for_service(code)
        if context is None:
            await answer.notify(tr(language, "bot.stale_button"))
            return
        title = self.feedback.titles(context, language)["service"] or code
        await answer.replace(View(tr(language, "bot.service_chosen", service=title)))
        await self.begin(user, language, Rating(context))

    # --- officers -----------------------------------------------------------------------

    async def _signal(
        self, user: int, language: Language, payload: str, answer: _Answer, update: Update
    ) -> None:
        assert self.signals is not None
        reporting = self.reporting
        if reporting is None or not reporting.is_officer(max_chat(user)):
            # As in Telegram, an officer's button pressed by anyone else is simply inactive.
            await answer.notify(tr(language, "bot.button_inactive"))
            return
        reply = await press_signal(self.signals, user, payload, language)
        marked = marked_view(update, reply.mark)
        if marked is not None and await answer.replace(marked, reply.notification):
            return  # marked as in Telegram, its button gone with the same edit
        await answer.notify(reply.notification)
        pressed = ((update.get("message") or {}).get("body") or {}).get("mid")
        # A used or stale button goes away; a message MAX no longer lets us edit keeps it
        # (pressed again, it is answered as used).
        if reply.drop_button and isinstance(pressed, str):
            with contextlib.suppress(MaxApiError):
                await self.api.remove_keyboard(pressed)
        if reply.follow_up is not None:
            await self.api.send(user, View(reply.follow_up, html=True))

    # --- opt-ins ------------------------------------------------------------------------
    # The chat goes to the subscribers' tables only (a MAX chat, its messenger beside it),
    # which have no link to answers; nothing of the response the button followed goes with it.

    async def _opt_in(
        self, user: int, language: Language, payload: str, answer: _Answer, update: Update
    ) -> None:
        chat = max_chat(user)
        if payload == NEWS_STOP_DATA:
            await self.feedback.stop_news(chat)
            await answer.notify(tr(language, "bot.news_stopped"))
            # The news message (HTML) loses its button and keeps its text as it is; if MAX
            # refuses the edit (too old), the button stays and pressing it again changes nothing.
            pressed = ((update.get("message") or {}).get("body") or {}).get("mid")
            if isinstance(pressed, str):
                with contextlib.suppress(MaxApiError):
                    await self.api.remove_keyboard(pressed)
            return
        if payload == POLLS_INVITE:
            await self.feedback.opt_in(chat, "polls")
            await answer.notify(None)
            await self.api.send(user, View(tr(language, "polls.invited")))
            return
        yes = payload == OPT_IN_YES
        if yes:
            await self.feedback.opt_in(chat)
        # The rated service's own news button, if any, stays: it is a choice of its own.
        await answer.replace(_shown(update, drop=lambda data: data in (OPT_IN_YES, OPT_IN_NO)))
        await self.api.send(
            user, View(tr(language, "bot.optin_saved" if yes else "bot.optin_declined"))
        )

    async def _staff_invitations(self, user: int, language: Language, answer: _Answer) -> None:
        # A forged or forwarded button: staff invitations are for enrolled staff only. The
        # MAX chat is subscribed; who it reaches is decided again at each broadcast
        # (services.enrolment.staff_chats over the chat's keyed person).
        if not await self.windows.enrolment.is_staff(self.person(user)):
            await answer.notify(tr(language, "polls.staff_only"))
            return
        await self.feedback.opt_in(max_chat(user), "staff_polls")
        await answer.notify(None)
        await self.api.send(user, View(tr(language, "polls.invited")))

    async def _service_news(
        self, user: int, language: Language, payload: str, answer: _Answer, update: Update
    ) -> None:
        code = payload.removeprefix(SERVICE_NEWS)
        if not await self.feedback.subscribe_service(max_chat(user), code):
            await answer.notify(tr(language, "bot.stale_button"))  # forged or outdated
            return
        await answer.replace(_shown(update, drop=lambda data: data == payload))
        await self.api.send(user, View(tr(language, "bot.news_service_saved")))

    # --- drawing ------------------------------------------------------------------------

    async def _show_new(self, user: int, state: MaxDialogState, view: View) -> None:
        message_id = await self.api.send(user, view)
        await state.set_message_id(message_id)

    @staticmethod
    def _outcome_view(step: Step, language: Language) -> View:
        if isinstance(step, Finished):
            if not step.offer_opt_in:
                # Citizens are offered news of what changes; staff hear of it inside the body.
                return View(step.outro)
            return thanks_view(step.outro, language, step.news_service, step.news_service_title)
        if isinstance(step, Refused):
            return View(refusal_text(language, step))
        if isinstance(step, Cancelled):
            return View(tr(language, "bot.cancelled"))
        if isinstance(step, Question):
            return question_view(step, language)
        return View(tr(language, "bot.stale_button"))


class _Answer:
    """The one answer of a callback: the first call sends it, later ones do nothing."""

    def __init__(self, api: MaxApi, callback_id: str) -> None:
        self._api = api
        self._id = callback_id
        self._done = False

    async def notify(self, text: str | None) -> None:
        if self._done:
            return
        self._done = True
        # POST /answers needs a message or a notification: an empty press gets a blank one.
        with contextlib.suppress(MaxApiError):
            await self._api.answer(self._id, notification=text or "✓")

    async def replace(self, view: View, notification: str | None = None) -> bool:
        """Answer by replacing the pressed message (with ``notification`` shown as well, if
        given); False if MAX refused (then answered with a notification instead, so the press
        is still answered once)."""
        if self._done:
            return False
        self._done = True
        try:
            await self._api.answer(self._id, view=view, notification=notification)
            return True
        except MaxApiError as error:
            logger.info("MAX refused to replace a message (%s)", error.code)
            self._done = False  # still unanswered: the caller's final notify answers it
            return False


def _action(press: StepPress) -> Action:
    if press.action == BACK:
        return Back()
    if press.action == SKIP:
        return Skip()
    if press.action == CANNOT_RATE:
        return CannotRate()
    if press.action == RATE:
        # A forged score is refused by the engine as a typed one would be.
        return (
            Rate(int(press.value)) if press.value.lstrip("-").isdigit() else TextInput(press.value)
        )
    if press.action == TOGGLE:
        return Toggle(press.value)
    if press.action == DONE:
        return Done()
    assert press.action == CHOOSE
    return Choose(press.value)


def _shown(update: Update, *, drop: Callable[[str], bool]) -> View:
    """The pressed message as MAX shows it (its text, its callback buttons) without the
    buttons ``drop`` picks."""
    body = (update.get("message") or {}).get("body") or {}
    rows: list[tuple[Button, ...]] = []
    for attachment in body.get("attachments") or ():
        if not isinstance(attachment, dict) or attachment.get("type") != "inline_keyboard":
            continue
        for row in (attachment.get("payload") or {}).get("buttons") or ():
            kept = tuple(
                Button(str(button.get("text") or ""), str(button.get("payload")))
                for button in row
                if isinstance(button, dict)
                and button.get("type", "callback") == "callback"
                and not drop(str(button.get("payload")))
            )
            if kept:
                rows.append(kept)
    return View(str(body.get("text") or ""), tuple(rows))


def marked_view(update: Update, mark: str | None) -> View | None:
    """The pressed message's text with ``mark`` below it and no buttons, or None when there
    is no mark, no text, or the result would pass MAX's limit. The text comes back from MAX
    without its formatting, so the marked message is plain text."""
    text = str(((update.get("message") or {}).get("body") or {}).get("text") or "")
    if mark is None or not text.strip():
        return None
    marked = f"{text}\n\n{mark}"
    return View(marked) if len(marked) <= MAX_TEXT else None


def sender_of(update: Update) -> int | None:
    """The MAX user an update comes from."""
    holder: object = update.get("user")  # bot_started
    if update.get("update_type") == "message_callback":
        holder = (update.get("callback") or {}).get("user")
    elif update.get("update_type") == "message_created":
        holder = (update.get("message") or {}).get("sender")
    return _user_id(holder)


def _user_id(user: object) -> int | None:
    if not isinstance(user, dict):
        return None
    value = user.get("user_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
