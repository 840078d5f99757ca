"""Officers' commands in MAX beside the report: /comments, /topics, /appeals, /results,
/poll_open, /poll_close, /invite, and /help by role, over the services Telegram's handlers call.

Who reaches what is decided as in Telegram, on the MAX chat (questionnaires.messengers.max_chat):
anyone else's command or button is answered as any unknown one, so nothing hints that it exists.
Button payloads name no answer and nothing that follows the order answers came in:
`oc:<period>[:<service>]`, `oa:<token>:<place>:<t|g|r>[:<category>]` (a place in the report's
alphabetical list), `ot:<period>`, `aq:<year>:<quarter>`, `wo:<campaign>`, `wc:<window>`,
`iv:<department>:<count>`. A body-wide officer's file is the appeals register, imported as in
Telegram. Summaries written for Telegram's HTML go out as MAX HTML (as the
report does); a comment, typed by a citizen, goes out as plain text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any, Final, Protocol

from max_front.api import Button, Download, MaxApi, MaxApiError, View
from questionnaires.campaigns import CampaignAudience, CampaignError, UnknownWindowError, error_key
from questionnaires.i18n import N_, tr
from questionnaires.messengers import MAX, max_chat
from questionnaires.open_answers import OTHER
from questionnaires.schema import Language
from reports.appeals import monitoring_workbook, quarter_label, render_monitoring
from reports.model import Scope
from reports.open_answers_output import render_counts, render_tally
from reports.periods import quarter_of
from reports.site import results_text
from reports.splitting import split_message
from services.appeals import MAX_FILE_BYTES, AppealsService, RegisterError, describe_import
from services.enrolment import MAX_CODES_PER_CALL
from services.feedback import FeedbackService
from services.officer_commands import (
    CITIZEN,
    COMMANDS,
    STAFF,
    Officers,
    closed_quarters,
    offered_periods,
    period_for,
    review,
    visible_results,
)
from services.open_answers import OpenAnswersService, Refusal, Shown
from services.publication import PublicationService
from services.reporting import ReportingService
from services.windows import WindowService

logger = logging.getLogger(__name__)

#: MAX's limit on a message's text (dev.max.ru/docs-api/methods/POST/messages: 4000).
TEXT_LIMIT: Final = 4000
#: The commands the MAX front answers; /help lists no other (a role's Telegram menu may
#: hold one MAX does not have yet).
MAX_COMMANDS: Final = frozenset(
    {
        "start", "polls", "results", "cancel", "stop", "help", "whoami", "feedback",
        "report", "export", "comments", "topics", "appeals", "poll_open", "poll_close",
        "invite", "pains", "language",
    }
)  # fmt: skip
#: Descriptions that differ in MAX (the id /whoami shows is the MAX one).
MAX_DESCRIPTIONS: Final = {"whoami": N_("max.command.whoami")}
ALL_SERVICES: Final = "*"
REGISTER_SUFFIXES: Final = (".csv", ".xlsx")
MAX_PLACE: Final = 10_000
#: Window ids are database integers; anything longer is forged.
MAX_WINDOW_ID: Final = 2**31 - 1
REFUSALS: Final = {
    Refusal.STALE: N_("comments.stale"),
    Refusal.FORBIDDEN: N_("comments.forbidden"),
    Refusal.GONE: N_("comments.gone"),
    Refusal.UNKNOWN_CATEGORY: N_("comments.stale"),
}
_COMMENT: Final = re.compile(r"^oa:([A-Za-z0-9_-]{8}):([0-9]{1,5}):([tgr])(?::(.{1,32}))?$")
_INVITE: Final = re.compile(r"^iv:(.{1,32}):([0-9]{1,6})$")


class Answer(Protocol):
    """The one answer of a press (max_front.front._Answer)."""

    async def notify(self, text: str | None) -> None: ...

    async def replace(self, view: View) -> bool: ...


@dataclass
class MaxOfficers:
    """The officers' commands and buttons of the MAX front."""

    api: MaxApi
    reporting: ReportingService
    feedback: FeedbackService
    windows: WindowService
    open_answers: OpenAnswersService | None = None
    appeals: AppealsService | None = None
    publication: PublicationService | None = None

    # --- who ----------------------------------------------------------------------------

    def _officer(self, user: int) -> bool:
        return self.reporting.is_officer(max_chat(user))

    def _body_officer(self, user: int) -> bool:
        """Sees the whole body: /appeals (internal figures, Procedure §3.6)."""
        chat = max_chat(user)
        return self.reporting.is_officer(chat) and self.reporting.may_see(chat, Scope())

    def _poll_officer(self, user: int) -> bool:
        """Body-wide officers open and close polls and let people into the staff."""
        return self.windows.is_body_officer(max_chat(user))

    def _internal_officer(self, user: int) -> bool:
        return (
            self.open_answers is not None and max_chat(user) in self.open_answers.internal_officers
        )

    # --- commands -----------------------------------------------------------------------

    async def command(
        self, user: int, person: int, name: str, argument: str, language: Language
    ) -> bool:
        """Handle ``name`` if it is one of these and the person may use it; False otherwise
        (the front then treats the text as any other)."""
        if name == "/help":
            await self.help(user, person, language)
        elif name == "/results":
            await self.results(user, person, language)
        elif name == "/comments" and self._officer(user) and self.open_answers is not None:
            await self._send(
                user, View(tr(language, "comments.choose_period"), self._periods("oc", language))
            )
        elif name == "/topics" and self._internal_officer(user):
            await self._send(
                user, View(tr(language, "comments.topics_period"), self._periods("ot", language))
            )
        elif name == "/appeals" and self._body_officer(user):
            await self._send(user, self._quarters(language))
        elif name == "/poll_open" and self._poll_officer(user):
            await self._send(user, self._campaigns(language))
        elif name == "/poll_close" and self._poll_officer(user):
            await self._send(user, await self._open_windows(language))
        elif name == "/invite" and self._poll_officer(user):
            await self.invite(user, argument, language)
        else:
            return False
        return True

    async def attachment(
        self,
        user: int,
        language: Language,
        attachments: Iterable[Any],
        *,
        download: Download | None = None,
    ) -> bool:
        """A body-wide officer's file is the appeals register export, imported as in Telegram
        (the file fetched from MAX's storage, or handed by ``download`` when the pain map
        check fetched it already). False for anyone else or anything else."""
        files = [a for a in attachments if isinstance(a, dict) and a.get("type") == "file"]
        if not files or not self._body_officer(user):
            return False
        await self._send(user, await self._import(files[0], language, download))
        return True

    async def _import(
        self, file: dict[str, Any], language: Language, download: Download | None = None
    ) -> View:
        appeals = self.appeals
        if appeals is None or appeals.mapping is None:
            return View(tr(language, "appeals.off"))
        name = str(file.get("filename") or "register")
        if not name.lower().endswith(REGISTER_SUFFIXES):
            return View(tr(language, "appeals.type"))
        size = file.get("size")
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            return View(tr(language, "appeals.big"))
        url = (file.get("payload") or {}).get("url")
        if not isinstance(url, str):
            return View(tr(language, N_("max.appeals.no_file")))
        try:
            data = await (download or self.api.download)(url, MAX_FILE_BYTES)
        except MaxApiError as error:
            logger.warning("MAX register file not fetched (%s)", error.code)
            key = "appeals.big" if error.code == 413 else N_("max.appeals.no_file")
            return View(tr(language, key))
        try:
            report = await appeals.import_register(name, data, appeals.mapping)
        except RegisterError as error:
            return View(error.describe(language.value))
        return View(describe_import(report, language), html=True)

    async def help(self, user: int, person: int, language: Language) -> None:
        """The commands of the person's role that MAX has, in their language."""
        menu = Officers.of(self.reporting).menu_of(max_chat(user))
        if not menu:
            menu = STAFF if await self.windows.enrolment.is_staff(person) else CITIZEN
        lines = [tr(language, N_("max.help"))]
        for name in menu:
            if name in MAX_COMMANDS:
                description = MAX_DESCRIPTIONS.get(name, COMMANDS[name])
                lines.append(f"/{name} — {tr(language, description)}")
        await self._send(user, View("\n".join(lines)))

    async def results(self, user: int, person: int, language: Language) -> None:
        """What the public site shows, then the latest poll results the person may read."""
        if self.publication is not None:
            content = await self.publication.content()
            await self._send_html(user, results_text(content, language, self.publication.url))
        publications = await visible_results(self.windows, person)
        if not publications and self.publication is None:
            await self._send(user, View(tr(language, "polls.no_results")))
        for published in publications[:3]:
            await self._send_html(user, published.text_html)

    async def invite(self, user: int, argument: str, language: Language) -> None:
        # Departments come from the catalog: typed free text could make a department of one.
        enrolment = self.windows.enrolment
        args = argument.split()
        count = 1
        if args and re.fullmatch(r"[0-9]{1,6}", args[-1]):
            count = int(args.pop())
        if not 0 < count <= MAX_CODES_PER_CALL:
            await self._send(
                user, View(tr(language, "polls.invite.count", limit=MAX_CODES_PER_CALL))
            )
            return
        if not enrolment.departments:
            await self._send(user, View(tr(language, "polls.invite.no_departments")))
            return
        typed = " ".join(args)
        department = enrolment.find_department(typed) if typed else None
        if department is not None:
            for part in await self._codes(department.code, count, language):
                await self._send(user, View(part))
            return
        intro = tr(language, "polls.invite.choose", count=count)
        if typed:
            intro = tr(language, "polls.invite.unknown", typed=typed)
            imitated = enrolment.look_alike(typed)
            if imitated is not None:
                intro += tr(
                    language, "polls.invite.look_alike", title=imitated.title.get(language)
                )
            intro += tr(language, "polls.invite.choose_listed")
        rows = tuple(
            (Button(d.title.get(language), f"iv:{d.code}:{count}"),) for d in enrolment.departments
        )
        await self._send(user, View(intro, rows))

    # --- buttons ------------------------------------------------------------------------

    async def press(
        self, user: int, language: Language, payload: str, answer: Answer, pressed: Any
    ) -> bool:
        """Handle an officer's button; False when the payload is none of these or the
        person may not press it (the front answers it as any stale button)."""
        if payload.startswith("oc:") and self._officer(user) and self.open_answers is not None:
            await self._comments_period(user, language, payload, answer)
        elif payload.startswith("oa:") and self._officer(user) and self.open_answers is not None:
            await self._comment(user, language, payload, answer)
        elif payload.startswith("ot:") and self._internal_officer(user):
            await self._topics(user, language, payload, answer)
        elif payload.startswith("aq:") and self._body_officer(user):
            await self._appeals(user, language, payload, answer)
        elif payload.startswith(("wo:", "wc:")) and self._poll_officer(user):
            await self._poll(user, language, payload, answer)
        elif payload.startswith("iv:") and self._poll_officer(user):
            await self._invite_press(user, language, payload, answer)
        else:
            return False
        return True

    async def _comments_period(
        self, user: int, language: Language, payload: str, answer: Answer
    ) -> None:
        assert self.open_answers is not None
        _, code, *rest = payload.split(":", 2)
        if code not in offered_periods(self.reporting):
            await answer.notify(tr(language, "comments.stale"))
            return
        officer = max_chat(user)
        if not rest:
            await self._show(
                user,
                answer,
                View(
                    tr(language, "comments.choose_service"),
                    self._services(officer, code, language),
                ),
            )
            return
        scope = Scope(service=None if rest[0] == ALL_SERVICES else rest[0])
        known = {s.code for s in self.reporting.catalog.services}
        if not self.reporting.may_see(officer, scope) or scope.service not in known | {None}:
            await answer.notify(tr(language, "comments.forbidden"))
            return
        period = period_for(code, self.feedback.today())
        shown = await review(self.reporting, self.open_answers, officer, period, scope, language)
        title = self.reporting.default_title(scope, language)
        counts = render_counts(shown.counts, language)
        await self._show(user, answer, View(f"{escape(title)}\n\n{counts}", html=True))
        if shown.first is None:
            await self._send(user, View(tr(language, "comments.none")))
        elif isinstance(shown.first, Refusal):
            await self._send(user, View(tr(language, REFUSALS[shown.first])))
        else:
            await self._send(user, self._page(shown.first, language))

    async def _comment(self, user: int, language: Language, payload: str, answer: Answer) -> None:
        assert self.open_answers is not None
        match = _COMMENT.match(payload)
        if match is None or int(match[2]) > MAX_PLACE:
            await answer.notify(tr(language, "comments.stale"))
            return
        officer, token, place, action = max_chat(user), match[1], int(match[2]), match[3]
        if action == "t":
            shown = await self.open_answers.toggle(officer, token, place, match[4] or "")
        elif action == "r":
            shown = await self.open_answers.reset(officer, token, place)
        else:
            shown = await self.open_answers.show(officer, token, place)
        if isinstance(shown, Refusal):
            await answer.notify(tr(language, REFUSALS[shown]))
            return
        await self._show(user, answer, self._page(shown, language))

    async def _topics(self, user: int, language: Language, payload: str, answer: Answer) -> None:
        assert self.open_answers is not None
        code = payload.removeprefix("ot:")
        if code not in offered_periods(self.reporting):
            await answer.notify(tr(language, "comments.stale"))
            return
        tally = await self.open_answers.initiative_tally(
            period_for(code, self.feedback.today()), language
        )
        text = render_tally(tally, self.reporting.disclosure.min_group, language)
        await self._show(user, answer, View(text, html=True))

    async def _appeals(self, user: int, language: Language, payload: str, answer: Answer) -> None:
        _, year, quarter = [*payload.split(":"), "", ""][:3]
        period = None
        if len(year) == 4 and year.isdigit() and quarter in ("1", "2", "3", "4"):
            period = quarter_of(date(int(year), 3 * int(quarter) - 2, 1))
        if self.appeals is None or period not in closed_quarters(self.feedback.today()):
            await answer.notify(tr(language, "appeals.stale"))
            return
        assert period is not None
        monitoring = await self.appeals.monitoring(period)
        titles = self.appeals.titles(language)
        await self._show(
            user, answer, View(render_monitoring(monitoring, titles, language), html=True)
        )
        name = f"appeals-{period.start:%Y}Q{quarter}.xlsx"
        workbook = monitoring_workbook(monitoring, titles, language)
        await self.api.send_file(user, name, workbook, "")

    async def _poll(self, user: int, language: Language, payload: str, answer: Answer) -> None:
        target = payload[3:]
        try:
            if payload.startswith("wo:"):
                window = await self.windows.open_now(target)
                # MAX's start link (MAX__BOT_NAME) from the window service, as its invitations
                # to MAX chats carry; a t.me link would not open in MAX.
                url = self.windows.start_url(window.id, MAX)
                link = url if url is not None else f"/start {window.start_payload}"
                text = tr(
                    language,
                    "polls.admin.opened",
                    title=window.title.get(language),
                    day=f"{window.closes_on:%d.%m.%Y}",
                    link=link,
                )
            else:
                if not (target.isdigit() and 0 < int(target) <= MAX_WINDOW_ID):
                    raise UnknownWindowError(target)
                window = await self.windows.close_now(int(target))
                text = tr(language, "polls.admin.closed", title=window.title.get(language))
        except CampaignError as error:
            await answer.notify(tr(language, error_key(error)))
            return
        except ValueError:
            await answer.notify(tr(language, "bot.button_inactive"))
            return
        await self._show(user, answer, View(text))

    async def _invite_press(
        self, user: int, language: Language, payload: str, answer: Answer
    ) -> None:
        match = _INVITE.match(payload)
        if match is None or not 0 < int(match[2]) <= MAX_CODES_PER_CALL:
            await answer.notify(tr(language, "polls.invite.stale"))
            return
        try:
            first, *rest = await self._codes(match[1], int(match[2]), language)
        except ValueError:
            await answer.notify(tr(language, "polls.invite.gone"))
            return
        await self._show(user, answer, View(first))
        for part in rest:
            await self._send(user, View(part))

    # --- drawing ------------------------------------------------------------------------

    async def _send(self, user: int, view: View) -> None:
        await self.api.send(user, view)

    async def _send_html(self, user: int, text: str) -> None:
        for part in split_message(text, TEXT_LIMIT):
            await self.api.send(user, View(part, html=True))

    async def _show(self, user: int, answer: Answer, view: View) -> None:
        """In place of the pressed message, or (MAX refused the edit) as a new one."""
        if not await answer.replace(view):
            await self.api.send(user, view)

    def _periods(self, prefix: str, language: Language) -> tuple[tuple[Button, ...], ...]:
        buttons = [
            Button(tr(language, key), f"{prefix}:{code}")
            for code, key in offered_periods(self.reporting).items()
        ]
        return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))

    def _services(
        self, officer: int, code: str, language: Language
    ) -> tuple[tuple[Button, ...], ...]:
        services = self.reporting.services_of(officer)
        rows: list[tuple[Button, ...]] = []
        if len(services) == len(self.reporting.catalog.services):
            rows.append(
                (Button(tr(language, "comments.all_services"), f"oc:{code}:{ALL_SERVICES}"),)
            )
        rows += [(Button(s.title.get(language), f"oc:{code}:{s.code}"),) for s in services]
        return tuple(rows)

    def _page(self, shown: Shown, language: Language) -> View:
        """One comment (plain text: a citizen typed it) and its category buttons."""
        assert self.open_answers is not None
        categoriser = self.open_answers.categoriser
        listing, place = shown.listing, shown.index
        titles = [categoriser.title(c, language) for c in shown.categories]
        number = tr(language, "comments.comment", i=place + 1, n=len(listing.comments))
        categories = f"{tr(language, 'comments.categories')}: {', '.join(titles)}"
        if shown.retagged:
            categories += f" {tr(language, 'comments.retagged')}"
        text = "\n".join(
            [f"{number} · {listing.period}", "", shown.comment.text, "", categories,
             tr(language, "comments.hint")]
        )  # fmt: skip
        head = f"oa:{listing.token}:{place}"
        tags = [
            Button(
                ("✓ " if c in shown.categories else "") + categoriser.title(c, language),
                f"{head}:t:{c}",
            )
            for c in categoriser.ids
            if c != OTHER
        ]
        rows = [tuple(tags[i : i + 2]) for i in range(0, len(tags), 2)]
        navigation: list[Button] = []
        if place > 0:
            navigation.append(Button("◀", f"oa:{listing.token}:{place - 1}:g"))
        if shown.retagged:
            navigation.append(Button(tr(language, "comments.reset"), f"{head}:r"))
        if place < len(listing.comments) - 1:
            navigation.append(Button("▶", f"oa:{listing.token}:{place + 1}:g"))
        if navigation:
            rows.append(tuple(navigation))
        return View(text[:TEXT_LIMIT], tuple(rows))

    def _quarters(self, language: Language) -> View:
        buttons = [
            Button(quarter_label(p, language), f"aq:{p.start.year}:{(p.start.month - 1) // 3 + 1}")
            for p in closed_quarters(self.feedback.today())
        ]
        rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        return View(tr(language, "appeals.choose"), rows)

    def _campaigns(self, language: Language) -> View:
        rows = tuple(
            (Button(c.title.get(language) if c.title else c.id, f"wo:{c.id}"),)
            for c in self.windows.campaigns
        )
        return View(tr(language, "polls.admin.open_prompt"), rows)

    async def _open_windows(self, language: Language) -> View:
        windows = await self.windows.open_windows(CampaignAudience.EXTERNAL)
        windows += await self.windows.open_windows(CampaignAudience.STAFF)
        if not windows:
            return View(tr(language, "polls.admin.none_open"))
        rows = tuple(
            (
                Button(
                    f"{w.title.get(language)} ({w.opens_on:%d.%m}–{w.closes_on:%d.%m})",
                    f"wc:{w.id}",
                ),
            )
            for w in windows
        )
        return View(tr(language, "polls.admin.close_prompt"), rows)

    async def _codes(self, department: str, count: int, language: Language) -> list[str]:
        """The codes as messages (ValueError: no such department)."""
        enrolment = self.windows.enrolment
        codes = await enrolment.create_invite_codes(department, count)
        title = enrolment.department_title(department, language)
        text = tr(
            language, "polls.invite.codes", title=title, n=len(codes), listing="\n".join(codes)
        )
        return _split_plain(text)


def _split_plain(text: str) -> list[str]:
    """Plain text in messages of at most MAX's limit, cut between lines."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        if current and len(current) + 1 + len(line) > TEXT_LIMIT:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    parts.append(current)
    return parts
