"""Initiative feedback of staff (Procedure §4.3, §4.5): kept, then delivered in a daily batch.

A message forwarded the moment it is written tells the officer when its author wrote it, and
colleagues know who was at the keyboard at 14:05. So the message is stored (durably, with the
day only), and once a day, from a configured hour, everything received on earlier days goes to
the designated internal officer(s) in one batch, in random order and without any time. The
officer learns the day at most, as in every report. A message is deleted once every internal
officer has it. Its department is named only under the enrolment rule of the staff results
(services.enrolment: at least the threshold of staff enrolled in it, else «другие
подразделения»).
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from questionnaires.i18n import tr
from questionnaires.results import CompletedResponse
from questionnaires.schema import Kind, Language, Questionnaire
from reports.telegram import split_message
from services.feedback import utc_now
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from storage.deliveries import SENT, DeliveryStore
from storage.staff import QueuedFeedback, StaffStore

logger = logging.getLogger(__name__)

DELIVERY_KIND: Final = "initiative_batch"
KEY_PREFIX: Final = "initiative-"
#: A message that reached some internal officers but not all is given up on after this long:
#: an officer who blocked the bot must not keep the others' copies in the database forever.
GIVE_UP_AFTER: Final = timedelta(days=7)


class TextPort(Protocol):
    """How a batch reaches an officer's chat (bot.outbox.BotOutbox fits)."""

    async def text(self, chat_id: int, html: str) -> None: ...


class DepartmentLabels(Protocol):
    """services.enrolment.Enrolment as the desk needs it."""

    async def department_label(self, code: str | None, language: Language | str = "ru") -> str:
        """The department's title if it may be shown, else «другие подразделения» or ""."""
        ...


#: A stored topic line (issue 12): the topic's codes, rendered in the reader's language at
#: delivery. Every typed text in a stored body is HTML-escaped, so no typed text can make one.
_TOPIC_LINE: Final = re.compile(
    r'^<topic questionnaire="(?P<questionnaire>[^"]*)" question="(?P<question>[^"]*)"'
    r' option="(?P<option>[^"]*)">(?P<other>[^<]*)</topic>$',
    re.MULTILINE,
)


def render_feedback(response: CompletedResponse) -> str:
    """One message as it is stored for the batch: the topic (by its codes) and the text,
    HTML-escaped; no date, no time, no department (that is decided at delivery).

    The topic line is not rendered here: it keeps the questionnaire, question and option codes
    and the "other" text, and `deliver_feedback` renders it in the reading officer's language."""
    lines: list[str] = []
    quest = html.escape(response.questionnaire_id, quote=True)
    for answer in response.answers:
        if answer.option_id:
            question = html.escape(answer.question_id, quote=True)
            option = html.escape(answer.option_id, quote=True)
            other = html.escape(f": {answer.text}") if answer.text else ""
            codes = f'questionnaire="{quest}" question="{question}" option="{option}"'
            lines.append(f"<topic {codes}>{other}</topic>")
        elif answer.text:
            lines.append(html.escape(answer.text))
    return "\n".join(lines)


def deliver_feedback(
    body: str, questionnaires: Mapping[str, Questionnaire], language: Language = Language.RU
) -> str:
    """A stored message as an officer reads it: its topic line in `language`. A message
    stored before issue 12 has its topic line already in Russian and is shown as it was."""

    def topic(match: re.Match[str]) -> str:
        questionnaire = questionnaires.get(html.unescape(match["questionnaire"]))
        question = html.unescape(match["question"])
        option = html.unescape(match["option"])
        title = html.escape(_option_title(questionnaire, question, option, language))
        return tr(language, "initiative.topic", topic=title + match["other"])

    return _TOPIC_LINE.sub(topic, body)


def _option_title(
    questionnaire: Questionnaire | None,
    question_id: str,
    option_id: str,
    language: Language = Language.RU,
) -> str:
    if questionnaire is None:
        return option_id
    try:
        question = questionnaire.question(question_id)
    except KeyError:
        return option_id
    for option in getattr(question, "options", ()):
        if option.id == option_id:
            return str(option.text.get(language))
    return option_id


class InitiativeDesk:
    """Receives initiative messages as they are stored; delivers the daily batch on tick."""

    def __init__(
        self,
        *,
        store: StaffStore,
        deliveries: DeliveryStore,
        departments: DepartmentLabels,
        questionnaires: Mapping[str, Questionnaire],
        officer_ids: Collection[int],
        send: TextPort,
        zone: ZoneInfo,
        hour: int,
        clock: Callable[[], datetime] = utc_now,
        languages: OfficerLanguageReader | None = None,
    ) -> None:
        self._store = store
        # The batch's own words and each message's topic line in each officer's language
        # (the staff member's text stays as written).
        self._languages: OfficerLanguageReader = languages or FixedLanguages()
        self._deliveries = deliveries
        self._departments = departments
        self._questionnaires = dict(questionnaires)
        self._officers = sorted(set(officer_ids))
        self._send = send
        self._zone = zone
        self._hour = hour
        self._clock = clock
        self._warned_on: date | None = None

    def queued_body(self, response: CompletedResponse) -> str | None:
        """The message an initiative response leaves for the next batch (an InitiativeQueue of
        services.feedback, written in the response's own transaction); None for other kinds."""
        if response.kind != Kind.INITIATIVE:
            return None
        return render_feedback(response)

    async def tick(self, now: datetime | None = None) -> int:
        """Deliver the batch if it is due; returns how many messages were delivered and
        deleted. Idempotent: each officer gets a day's batch once (storage.deliveries)."""
        now = now or self._clock()
        local = now.astimezone(self._zone)
        today = local.date()
        if local.hour < self._hour:
            return 0
        items = await self._store.due_feedback(before=today)
        if not items:
            return 0
        if not self._officers:
            if self._warned_on != today:
                self._warned_on = today
                logger.warning(
                    "%d initiative message(s) wait: set BOT__INTERNAL_OFFICER_IDS", len(items)
                )
            return 0
        key = f"{KEY_PREFIX}{today.isoformat()}"
        due_at = datetime(today.year, today.month, today.day, self._hour, tzinfo=self._zone)
        delivered = 0
        languages = await self._languages.of_many(self._officers)
        for officer in self._officers:
            if not await self._deliveries.claim(DELIVERY_KIND, key, officer, now, due_at):
                status = await self._deliveries.status(DELIVERY_KIND, key, officer)
                delivered += status == SENT
                continue
            # An officer who got an earlier batch while another officer's failed already has
            # the messages received before that batch's day: only the newer ones go again.
            unseen = await self._unseen_by(officer, items)
            try:
                if unseen:
                    for message in await self._batch(unseen, today, languages[officer]):
                        await self._send.text(officer, message)
            except Exception as error:
                logger.warning("initiative batch not delivered (%s)", type(error).__name__)
                await self._deliveries.finish(DELIVERY_KIND, key, officer, now, ok=False)
            else:
                await self._deliveries.finish(DELIVERY_KIND, key, officer, now, ok=True)
                delivered += 1
        if delivered == len(self._officers):
            done = items
        elif delivered:
            done = [item for item in items if today - item.received_on > GIVE_UP_AFTER]
        else:
            done = []
        dropped = await self._store.drop_feedback([item.id for item in done])
        if dropped:
            logger.info("initiative batch: %d message(s) delivered and deleted", dropped)
        return dropped

    async def _unseen_by(self, officer: int, items: list[QueuedFeedback]) -> list[QueuedFeedback]:
        last = await self._deliveries.latest_sent(DELIVERY_KIND, officer)
        if last is None or not last.startswith(KEY_PREFIX):
            return items
        # The batch of day D held everything received before D.
        had_before = date.fromisoformat(last.removeprefix(KEY_PREFIX))
        return [item for item in items if item.received_on >= had_before]

    async def _batch(
        self, items: list[QueuedFeedback], today: date, language: Language = Language.RU
    ) -> list[str]:
        shuffled = list(items)
        secrets.SystemRandom().shuffle(shuffled)  # the order says nothing about arrival
        parts = [
            f"<b>📝 {tr(language, 'initiative.title')}</b>",
            tr(language, "initiative.received", day=f"{today:%d.%m.%Y}", n=len(items)),
        ]
        for number, item in enumerate(shuffled, start=1):
            label = await self._departments.department_label(item.department, language)
            department = tr(language, "initiative.department", title=html.escape(label))
            head = f"<b>{number}.</b>" + (f" {department}" if label else "")
            body = deliver_feedback(item.body_html, self._questionnaires, language)
            parts.append(f"{head}\n{body}")
        return split_message("\n\n".join(parts))
