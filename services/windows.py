"""Poll windows: opening, closing, invitations, reminders, one answer per person, results.

Staff enrolment lives in services.enrolment (the windows use it, never the other way); the
rendering of window results in reports.window_results, beside the window rule of
reports.windows.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Final, Protocol, cast
from zoneinfo import ZoneInfo

from questionnaires import engine
from questionnaires.campaigns import (
    Campaign,
    CampaignAudience,
    CampaignError,
    CampaignFile,
    Occurrence,
    UnknownCampaignError,
    UnknownWindowError,
    Verdict,
    WindowConflictError,
    WindowOrigin,
    WindowStatus,
    WorkingDays,
    occurrences,
    reminder_days,
)
from questionnaires.deeplinks import max_start_link
from questionnaires.engine import Asked, Completed
from questionnaires.fronts import Front
from questionnaires.i18n import tr
from questionnaires.messengers import MAX, TELEGRAM, Messenger, messenger_of
from questionnaires.opt_ins import OptInTopic
from questionnaires.results import ResponseContext
from questionnaires.schema import Language, Questionnaire, Role, Text
from reports.disclosure import mask_contacts
from reports.site import window_href
from reports.telegram import split_message
from reports.window_results import (
    Publication,
    WindowResult,
    render_officer_results,
    render_publication,
)
from reports.windows import (
    WEB,
    counted_sides,
    counted_tallies,
    merge_tallies,
    total_of,
    window_departments,
)
from services.broadcast_errors import BroadcastAlreadyRunningError
from services.enrolment import OTHER_DEPARTMENTS_TEXT, Enrolment
from services.feedback import keyed_digest, utc_now
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from storage.activity import ActivityCounter
from storage.campaigns import (
    CampaignStore,
    ParticipationClaims,
    PublicationRow,
    Tally,
    WindowRow,
    window_scope,
)
from storage.database import Sessions
from storage.deliveries import SENT, DeliveryStore
from storage.opt_ins import OptInStore
from storage.responses import DedupClaim

logger = logging.getLogger(__name__)

INVITATION_KIND: Final = "poll_invitation"
REMINDER_KIND: Final = "poll_reminder"
PUBLICATION_KIND: Final = "poll_results"
RESULTS_DELIVERY_KIND: Final = "window_results"
#: Deep-link payload of a window: ``w<id>`` (no "_", so it never reads as a catalog link).
WINDOW_PAYLOAD_PREFIX: Final = "w"
_WINDOW_PAYLOAD_RE: Final = re.compile(r"w([1-9][0-9]{0,17})")


#: Participation keys outlive the window a little, so the nightly purge is a safety net only.
KEY_GRACE: Final = timedelta(days=2)
#: An officer who cannot be reached (blocked the bot, wrong id) is retried this long.
RESULTS_GIVE_UP_AFTER: Final = timedelta(days=3)
#: Results of a window closed longer ago than this are no longer published (see _finish).
PUBLISH_LOOKBACK: Final = timedelta(days=31)


# --- ports ----------------------------------------------------------------------------------


class BroadcastSummary(Protocol):
    @property
    def complete(self) -> bool: ...


#: Delivers one text to one chat (services.broadcast.SendPort, e.g. telegram_sender(bot)).
SendPort = Callable[[int, str], Awaitable[None]]


class BroadcastPort(Protocol):
    """What the campaigns need of services.broadcast.Broadcaster."""

    async def create(self, kind: str, key: str, text: str, chat_ids: Iterable[int]) -> int: ...

    async def run(self, broadcast_id: int, progress: Any = None) -> BroadcastSummary: ...

    async def unreachable_chat_ids(self) -> set[int]: ...


class ResultsSender(Protocol):
    """How results reach an officer's chat (bot.outbox.BotOutbox fits)."""

    async def text(self, chat_id: int, html: str) -> None: ...


# --- values the handlers get ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowView:
    """A poll window as a handler shows it."""

    id: int
    campaign_id: str
    questionnaire_id: str
    audience: CampaignAudience
    title: Text
    opens_on: date
    closes_on: date  # the last day, inclusive, in the body's time zone
    status: WindowStatus
    origin: WindowOrigin

    @property
    def start_payload(self) -> str:
        """The deep-link payload that opens this window: ``/start w<id>``."""
        return window_payload(self.id)


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """Anonymity thresholds of the results (domain brief, "Metrics")."""

    min_group: int = 5
    min_comment_group: int = 5
    min_comment_group_staff: int = 10
    max_comments: int = 10


def _esc(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False)


def window_payload(window_id: int) -> str:
    return f"{WINDOW_PAYLOAD_PREFIX}{window_id}"


def parse_window_payload(payload: str | None) -> int | None:
    """The window id of a ``w<id>`` start payload, or None for any other payload."""
    if not payload:
        return None
    match = _WINDOW_PAYLOAD_RE.fullmatch(payload)
    return int(match.group(1)) if match else None


# --- the service ------------------------------------------------------------------------------


class WindowService:
    """What the handlers and the scheduler call about poll windows; it never stores who answered.

    A Telegram user id (`person`) is used only inside the keyed participation hash
    ``HMAC(pepper, "window", window, person)``; staff membership is asked of `enrolment`
    (services.enrolment), which keeps its own member hash. Chat ids are read from the opt-ins
    to send invitations and results. `officer_ids` are the body-wide officers: they get window
    results and control windows and invite codes.
    """

    def __init__(
        self,
        *,
        sessions: Sessions,
        campaigns: CampaignFile | Sequence[Campaign],
        questionnaires: Mapping[str, Questionnaire],
        calendar: WorkingDays,
        pepper: bytes,
        zone: ZoneInfo,
        broadcaster_factory: Callable[[SendPort], BroadcastPort],
        send: SendPort,
        results: ResultsSender,
        opt_ins: OptInStore,
        officer_ids: Collection[int],
        enrolment: Enrolment,
        clock: Callable[[], datetime] = utc_now,
        bot_username: str | None = None,
        policy: CampaignPolicy | None = None,
        activity: ActivityCounter | None = None,
        news_send: SendPort | None = None,
        site_url: str | None = None,
        participation_claims: ParticipationClaims | None = None,
        person_of_chat: Callable[[int], int] | None = None,
        max_bot_name: str | None = None,
        languages: OfficerLanguageReader | None = None,
    ) -> None:
        """``news_send`` sends the published results of citizens' windows (news: with the
        button that stops it; default ``send``); ``site_url`` is the public site (PUBLISH__URL)
        the published results link to. ``person_of_chat``: the person who answers in a
        private chat (a Telegram chat is its user; a MAX chat's person is keyed,
        max_front.persons), so a reminder skips who answered in either messenger."""
        self._person_of_chat = person_of_chat or (lambda chat: chat)
        # Window results reach each officer in their language (services.officer_languages).
        self._languages: OfficerLanguageReader = languages or FixedLanguages()
        items = campaigns.campaigns if isinstance(campaigns, CampaignFile) else campaigns
        self._campaigns = {campaign.id: campaign for campaign in items}
        missing = {c.questionnaire for c in items} - set(questionnaires)
        if missing:
            raise ValueError(f"campaigns refer to missing questionnaires: {sorted(missing)}")
        self._questionnaires = dict(questionnaires)
        self._policy = policy or CampaignPolicy()
        # Participation keys are written in batches no smaller than a reported group.
        # With several processes, `participation_claims` (Redis) holds each key from completion.
        self._store = CampaignStore(
            sessions,
            key_batch=self._policy.min_group,
            activity=activity,
            claims=participation_claims,
            # The reports' copies of a window's answers carry their overall score too.
            overall={
                qid: question.id
                for qid, questionnaire in self._questionnaires.items()
                for question in questionnaire.questions
                if question.role == Role.OVERALL
            },
        )
        #: Staff enrolment (codes, members, departments): the handlers reach it through here.
        self.enrolment = enrolment
        self._deliveries = DeliveryStore(sessions)
        self._calendar = calendar
        self._pepper = pepper
        self._zone = zone
        self._broadcaster_factory = broadcaster_factory
        self._send = send
        self._main_broadcaster: BroadcastPort | None = None
        self._news_send = news_send or send
        self._news: BroadcastPort | None = None
        self._site_url = site_url.rstrip("/") if site_url else None
        self._results = results
        self._opt_ins = opt_ins
        self._officer_ids = frozenset(officer_ids)
        self._clock = clock
        self._bot_username = bot_username
        #: MAX's name of the bot (MAX__BOT_NAME): MAX chats are invited by MAX's start link.
        self._max_bot_name = max_bot_name

    @property
    def campaigns(self) -> list[Campaign]:
        return list(self._campaigns.values())

    def is_body_officer(self, user_id: int) -> bool:
        """Body-wide officers receive window results, open and close windows and issue invite
        codes; a service's own officer does none of these."""
        return user_id in self._officer_ids

    def today(self, now: datetime | None = None) -> date:
        """The body's calendar day: windows open and close by it."""
        return (now or self._clock()).astimezone(self._zone).date()

    # --- for the handlers: windows and answers --------------------------------------------

    async def window_for_start(self, window_id: int) -> WindowView | None:
        """The window a ``/start w<id>`` link points at, whatever its status, or None."""
        row = await self._store.window(window_id)
        return self._view(row) if row is not None else None

    async def open_windows(self, audience: CampaignAudience | str) -> list[WindowView]:
        """Windows open now for the audience (their last day not yet over)."""
        today = self.today()
        rows = await self._store.windows(
            statuses={WindowStatus.OPEN}, audience=str(CampaignAudience(audience))
        )
        return [self._view(row) for row in rows if row.opens_on <= today <= row.closes_on]

    async def windows(self, statuses: Collection[WindowStatus] | None = None) -> list[WindowView]:
        """Every window (or those with these statuses), oldest first: for officers."""
        return [self._view(row) for row in await self._store.windows(statuses=statuses)]

    def questionnaire_of(self, window: WindowView) -> Questionnaire:
        return self._questionnaires[window.questionnaire_id]

    def start(self, window: WindowView) -> Asked | Completed:
        """The first step of the window's questionnaire (context comes from the answers)."""
        return engine.start(self.questionnaire_of(window), ResponseContext())

    async def may_answer(self, window_id: int, person: int) -> Verdict:
        """Whether `person` (a Telegram user id, hashed here) may answer in the window now."""
        row = await self._store.window(window_id)
        verdict = self._status_verdict(row)
        if verdict is not Verdict.OK or row is None:
            return verdict
        if (
            row.audience == CampaignAudience.STAFF
            and await self.enrolment.department_of(person) is None
        ):
            return Verdict.NOT_ENROLLED
        if await self._store.has_participation(window_id, self._participation(window_id, person)):
            return Verdict.ALREADY_ANSWERED
        return Verdict.OK

    async def store_answer(
        self,
        window_id: int,
        person: int,
        completed: Completed,
        *,
        front: Front = Front.TELEGRAM,
    ) -> Verdict:
        """Store a finished dialog in the window once per person, if it is still open.

        The window check and the response share one transaction; the participation key is
        claimed across processes first when several share the work (Redis), and written to the
        database later, with others (storage.campaigns.CampaignStore). A staff response carries
        the member's department and nothing else about them.
        """
        row = await self._store.window(window_id)
        verdict = self._status_verdict(row)
        if verdict is not Verdict.OK or row is None:
            return verdict
        if completed.questionnaire.id != row.questionnaire_id:
            raise CampaignError("the dialog belongs to another questionnaire than the window")
        department: str | None = None
        if row.audience == CampaignAudience.STAFF:
            if not await self.enrolment.is_staff(person):
                return Verdict.NOT_ENROLLED
            department = await self.enrolment.reported_department(person)
        today = self.today()
        response = dataclasses.replace(
            completed.to_response(today), window_id=window_id, department=department, front=front
        )
        claim = DedupClaim(
            self._participation(window_id, person),
            window_scope(window_id),
            row.closes_on + KEY_GRACE,
        )
        return await self._store.save_answer(window_id, response, claim, today)

    def _status_verdict(self, row: WindowRow | None) -> Verdict:
        if row is None:
            return Verdict.UNKNOWN
        today = self.today()
        if row.status == WindowStatus.SCHEDULED or today < row.opens_on:
            return Verdict.NOT_OPEN
        if row.status == WindowStatus.CLOSED or today > row.closes_on:
            return Verdict.CLOSED
        return Verdict.OK

    def _participation(self, window_id: int, person: int) -> str:
        return keyed_digest(self._pepper, "window", window_id, person)

    # --- for officers ---------------------------------------------------------------------

    async def open_now(self, campaign_id: str, now: datetime | None = None) -> WindowView:
        """Open a window of the campaign today (an extra poll, Procedure §3.3); if one is open
        already, that one. Invitations go out on the next tick."""
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise UnknownCampaignError(f"no campaign '{campaign_id}'")
        now = now or self._clock()
        today = self.today(now)
        for row in await self._store.windows(
            campaign_id=campaign_id, statuses={WindowStatus.OPEN}
        ):
            if row.closes_on >= today:
                return self._view(row)
        row, opened = await self._store.open_window(
            campaign_id=campaign.id,
            questionnaire_id=campaign.questionnaire,
            audience=str(campaign.audience),
            opens_on=today,
            closes_on=self._calendar.add_working_days(today, campaign.duration),
            origin=WindowOrigin.OFFICER,
            now=now,
        )
        if not opened and row.status != WindowStatus.OPEN:
            raise WindowConflictError(
                f"a window of '{campaign_id}' already ran today; open it again tomorrow"
            )
        if opened:
            logger.info("window %d of campaign %s opened by an officer", row.id, campaign_id)
        return self._view(row)

    async def close_now(self, window_id: int, now: datetime | None = None) -> WindowView:
        """Close an open window before its last day; results follow on the next tick."""
        row = await self._store.window(window_id)
        if row is None:
            raise UnknownWindowError(f"no window {window_id}")
        if row.status == WindowStatus.SCHEDULED:
            raise CampaignError("the window has not opened yet")
        if row.status == WindowStatus.OPEN:
            await self._close(row, now or self._clock())
            logger.info("window %d closed by an officer", window_id)
        closed = await self._store.window(window_id)
        assert closed is not None
        return self._view(closed)

    async def published(self, audience: CampaignAudience | str | None = None) -> list[Publication]:
        """Published results, newest first (of one audience if given)."""
        wanted = str(CampaignAudience(audience)) if audience is not None else None
        return [self._publication(row) for row in await self._store.publications(wanted)]

    async def window_results(self) -> list[WindowResult]:
        """Figures of the published windows of citizens, newest first; staff results are never
        public. Figures only when the window's respondents and scores reach the threshold."""
        results = []
        for publication in await self._store.publications(str(CampaignAudience.EXTERNAL)):
            row = await self._store.window(publication.window_id)
            if row is None:
                continue
            total = total_of(await self._tallies(row))
            shown = min(total.respondents, total.n) >= self._policy.min_group
            ran = self._as_ran(row)
            results.append(
                WindowResult(
                    window_id=row.id,
                    title=self._title(row),
                    opens_on=ran.opens_on,
                    closes_on=ran.closes_on,
                    counts=total if shown else None,
                )
            )
        return results

    # --- the scheduler --------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> None:
        """Bring every window up to date with `now`: open, close, invite, remind, report.

        Everything is decided from the database, so a tick after downtime applies a missed
        opening or closing once, and a second tick finds nothing left to do. One window's
        failure is logged and retried on the next tick; it does not hold up the others.
        """
        now = now or self._clock()
        if now.tzinfo is None:
            raise ValueError("tick needs an aware datetime")
        local = now.astimezone(self._zone)
        today = local.date()
        try:
            await self._apply_schedule(today, now)
        except Exception as error:
            # Windows already open still close on time and their messages still go out.
            logger.error("campaign schedule failed (%s)", type(error).__name__, exc_info=error)
        for row in await self._store.windows(statuses={WindowStatus.OPEN}):
            if today > row.closes_on:
                await self._guarded("close", row, self._close(row, now))
        for row in await self._store.windows(statuses={WindowStatus.OPEN}):
            campaign = self._campaigns.get(row.campaign_id)
            if campaign is not None and local.hour >= campaign.send_from_hour:
                await self._guarded("invite", row, self._invite_and_remind(row, campaign, now))
        for row in await self._store.windows(statuses={WindowStatus.CLOSED}):
            campaign = self._campaigns.get(row.campaign_id)
            send_from = campaign.send_from_hour if campaign is not None else 0
            if local.hour >= send_from and self._results_pending(row, campaign, now):
                await self._guarded("results", row, self._finish(row, campaign, now))
        await self.flush_participation()

    async def flush_participation(self, *, force: bool = False) -> int:
        """Write the participation keys waiting in memory once enough gathered (or ``force``,
        at shutdown); a failure is logged and they wait for the next try."""
        try:
            return await self._store.flush_participation(force=force)
        except Exception as error:
            logger.warning("Participation keys not written yet: %s", type(error).__name__)
            return 0

    async def touch_participation(self) -> int:
        """Give the shared participation keys (Redis) one idle time, so none tells when its
        person completed (storage.participation_redis); a failure is logged, retried in a
        minute."""
        try:
            return await self._store.touch_claims()
        except Exception as error:
            logger.warning("Participation keys not touched: %s", type(error).__name__)
            return 0

    async def _guarded(self, step: str, row: WindowRow, work: Any) -> None:
        try:
            await work
        except Exception as error:
            logger.error(
                "campaign step %s of window %d failed (%s); retried on the next tick",
                step,
                row.id,
                type(error).__name__,
                exc_info=error,
            )

    async def _apply_schedule(self, today: date, now: datetime) -> None:
        existing = await self._store.windows()
        keep: dict[str, date] = {}
        for campaign in self._campaigns.values():
            rows = [row for row in existing if row.campaign_id == campaign.id]
            ran = [row for row in rows if row.status != WindowStatus.SCHEDULED]
            runs = occurrences(campaign, self._calendar, today.year - 1, today.year + 1)
            for run in runs:
                if not run.opens_on <= today <= run.closes_on:
                    continue
                if any(r.opens_on == run.opens_on for r in ran):
                    continue  # opened already (and maybe closed early by an officer)
                if any(run.overlaps(r.opens_on, r.closes_on) for r in ran):
                    continue  # an officer's window covers it: one poll at a time
                row, opened = await self._store.open_window(
                    campaign_id=campaign.id,
                    questionnaire_id=campaign.questionnaire,
                    audience=str(campaign.audience),
                    opens_on=run.opens_on,
                    closes_on=run.closes_on,
                    origin=WindowOrigin.SCHEDULE,
                    now=now,
                )
                if opened:
                    late = " late, after downtime" if today > run.opens_on else ""
                    logger.info("window %d of campaign %s opened%s", row.id, campaign.id, late)
                    ran.append(row)
            upcoming = self._next_run(runs, ran, today)
            if upcoming is not None:
                await self._store.schedule_window(
                    campaign_id=campaign.id,
                    questionnaire_id=campaign.questionnaire,
                    audience=str(campaign.audience),
                    opens_on=upcoming.opens_on,
                    closes_on=upcoming.closes_on,
                )
                keep[campaign.id] = upcoming.opens_on
        await self._store.drop_scheduled(keep)

    @staticmethod
    def _next_run(
        runs: Sequence[Occurrence], ran: Sequence[WindowRow], today: date
    ) -> Occurrence | None:
        for run in runs:
            if run.opens_on > today and not any(
                run.overlaps(r.opens_on, r.closes_on) for r in ran
            ):
                return run
        return None

    async def _close(self, row: WindowRow, now: datetime) -> None:
        if await self._store.close_window(row.id, now):
            logger.info("window %d of campaign %s closed", row.id, row.campaign_id)

    async def _invite_and_remind(self, row: WindowRow, campaign: Campaign, now: datetime) -> None:
        today = self.today(now)
        days = reminder_days(row.opens_on, campaign.reminders, self._calendar)
        due = [k for k, day in enumerate(days, start=1) if day <= today]
        if row.invited_at is None:
            topic = campaign.audience.invitation_topic
            chats = await self._recipients(topic)
            text = partial(self._invitation_text, row, campaign)
            key = self._window_key(row.id)
            if not await self._broadcast_each(INVITATION_KIND, key, text, chats):
                return
            values: dict[str, object] = {"invited_at": now}
            if due:
                # Opened late after downtime: reminders already due would follow the
                # invitation at once; they are skipped instead.
                values["reminders_done"] = max(due[-1], row.reminders_done)
            await self._store.mark(row.id, **values)
            logger.info("window %d: invitations sent", row.id)
            return
        pending = [k for k in due if k > row.reminders_done]
        if not pending:
            return
        latest = pending[-1]  # after downtime only the latest due reminder goes out
        if latest - 1 > row.reminders_done:
            await self._store.mark(row.id, reminders_done=latest - 1)
        chats = await self._recipients(campaign.audience.invitation_topic)
        text = partial(self._reminder_text, row, campaign)
        skipped = 0

        async def send_unless_answered(chat_id: int, message: str) -> None:
            nonlocal skipped
            # In a private chat the chat id is the user id the participation key was made of.
            # Skipped at send time rather than left out of the list: the outbox then names
            # every invitee, and nobody's participation can be read from it.
            person = self._person_of_chat(chat_id)
            if await self._store.has_participation(row.id, self._participation(row.id, person)):
                skipped += 1
                return
            await self._send(chat_id, message)

        broadcaster = self._broadcaster_factory(send_unless_answered)
        key = self._reminder_key(row.id, latest)
        if await self._broadcast_each(REMINDER_KIND, key, text, chats, broadcaster):
            await self._store.mark(row.id, reminders_done=latest)
            logger.info(
                "window %d: reminder %d done, %d who had answered skipped", row.id, latest, skipped
            )

    async def _recipients(self, topic: str) -> list[int]:
        # "staff_polls" must be an OptInTopic for staff windows (see the module's hand-over).
        chats = await self._opt_ins.chat_ids(cast(OptInTopic, topic))
        if topic == CampaignAudience.STAFF.invitation_topic:
            # Staff invitations and results reach enrolled staff only, whoever subscribed.
            chats = await self.enrolment.staff_chats(chats, self._person_of_chat)
        unreachable = await self._broadcaster().unreachable_chat_ids()
        return [chat for chat in chats if chat not in unreachable]

    async def _broadcast_each(
        self,
        kind: str,
        key: str,
        text: Callable[[Messenger], str],
        chats: Sequence[int],
        broadcaster: BroadcastPort | None = None,
    ) -> bool:
        """A text carrying a start link, as one broadcast per messenger: Telegram's chats get
        the t.me link (under the key they always had), MAX's chats MAX's own link."""
        done = True
        for messenger in (TELEGRAM, MAX):
            group = [chat for chat in chats if messenger_of(chat) == messenger]
            keyed = key if messenger == TELEGRAM else f"{key}:{MAX}"
            sent = await self._broadcast(kind, keyed, text(messenger), group, broadcaster)
            done = sent and done
        return done

    async def _broadcast(
        self,
        kind: str,
        key: str,
        text: str,
        chats: Sequence[int],
        broadcaster: BroadcastPort | None = None,
    ) -> bool:
        """Create (or find) the broadcast and run it; True once nothing is left to send."""
        if not chats:
            return True
        broadcaster = broadcaster or self._broadcaster()
        broadcast_id = await broadcaster.create(kind, key, text, chats)
        try:
            summary = await broadcaster.run(broadcast_id)
        except BroadcastAlreadyRunningError:
            # Another process (or task) sends it now; a later tick finds it done.
            logger.info("broadcast %s is being sent elsewhere", broadcast_id)
            return False
        return bool(summary.complete)

    def _broadcaster(self) -> BroadcastPort:
        if self._main_broadcaster is None:
            self._main_broadcaster = self._broadcaster_factory(self._send)
        return self._main_broadcaster

    @staticmethod
    def _window_key(window_id: int) -> str:
        return f"window-{window_id}"

    @staticmethod
    def _reminder_key(window_id: int, number: int) -> str:
        return f"window-{window_id}-{number}"

    # --- results --------------------------------------------------------------------------

    def _results_pending(self, row: WindowRow, campaign: Campaign | None, now: datetime) -> bool:
        return row.results_sent_at is None or self._publication_pending(row, campaign, now)

    @staticmethod
    def _publication_pending(row: WindowRow, campaign: Campaign | None, now: datetime) -> bool:
        if campaign is None or not campaign.publish_results or row.published_at is not None:
            return False
        # Turning publish_results on later must not announce polls closed long ago.
        return row.closed_at is None or now - row.closed_at <= PUBLISH_LOOKBACK

    async def _finish(self, row: WindowRow, campaign: Campaign | None, now: datetime) -> None:
        if row.results_sent_at is None:
            await self._send_results(row, campaign, now)
        if campaign is not None and self._publication_pending(row, campaign, now):
            await self._publish(row, campaign, now)

    async def _send_results(
        self, row: WindowRow, campaign: Campaign | None, now: datetime
    ) -> None:
        recipients: Collection[int] = self._officer_ids
        if campaign is not None and campaign.results_to != "officers":
            recipients = campaign.results_to
        officers = sorted(set(recipients))
        languages = await self._languages.of_many(officers)
        # One text per language the recipients read, not one per officer.
        texts = {
            language: split_message(await self._officer_text(row, language))
            for language in sorted(set(languages.values()))
        }
        key = self._window_key(row.id)
        closed_at = row.closed_at or now
        delivered = True
        for officer in officers:
            messages = texts[languages[officer]]
            if not await self._deliveries.claim(
                RESULTS_DELIVERY_KIND, key, officer, now, closed_at
            ):
                status = await self._deliveries.status(RESULTS_DELIVERY_KIND, key, officer)
                delivered = delivered and status == SENT
                continue
            try:
                for message in messages:
                    await self._results.text(officer, message)
            except Exception as error:
                logger.warning(
                    "window %d: results to an officer failed (%s)", row.id, type(error).__name__
                )
                await self._deliveries.finish(RESULTS_DELIVERY_KIND, key, officer, now, ok=False)
                delivered = False
            else:
                await self._deliveries.finish(RESULTS_DELIVERY_KIND, key, officer, now, ok=True)
        if delivered or now - closed_at > RESULTS_GIVE_UP_AFTER:
            if not delivered:
                logger.warning("window %d: gave up sending results to some officers", row.id)
            await self._store.mark(row.id, results_sent_at=now)
            logger.info("window %d: results sent to %d officer(s)", row.id, len(recipients))

    async def _publish(self, row: WindowRow, campaign: Campaign, now: datetime) -> None:
        text = await self._store.add_publication(
            row.id, await self._publication_text(row), self.today(now)
        )
        chats = await self._recipients(campaign.audience.publication_topic)
        broadcaster = None
        if campaign.audience == CampaignAudience.EXTERNAL:
            # News to citizens: a link to the window's row on the site, and the stop button.
            if self._site_url is not None:
                url = f"{self._site_url}/{window_href(row.id)}"
                text += "\n\n" + tr(Language.RU, "campaign.public_site", url=html.escape(url))
            if self._news is None:
                self._news = self._broadcaster_factory(self._news_send)
            broadcaster = self._news
        key = self._window_key(row.id)
        if await self._broadcast(PUBLICATION_KIND, key, text, chats, broadcaster):
            await self._store.mark(row.id, published_at=now)
            logger.info("window %d: results published", row.id)

    def _min_comment_group(self, row: WindowRow) -> int:
        if row.audience == CampaignAudience.STAFF:
            return self._policy.min_comment_group_staff
        return self._policy.min_comment_group

    async def _tallies(self, row: WindowRow, language: Language = Language.RU) -> list[Tally]:
        """The window's tallies with departments as they may be shown: titled (in
        ``language``), or None when merged into «другие подразделения» by the enrolment rule;
        only of its counted sides (reports.windows.counted_tallies: with the web kept apart,
        web answers count only among at least the threshold of web answers, and so do the
        messengers')."""
        questionnaire = self._questionnaires.get(row.questionnaire_id)
        tallies = await self._store.tallies(row.id, _overall_question(questionnaire))
        shown = await self.enrolment.shown_departments()
        return counted_tallies(
            merge_tallies(
                tallies,
                lambda code: (
                    self.enrolment.department_title(code, language)
                    if code and shown.get(code)
                    else None
                ),
            ),
            self._policy.min_group,
        )

    async def _officer_text(self, row: WindowRow, language: Language = Language.RU) -> str:
        questionnaire = self._questionnaires.get(row.questionnaire_id)
        tallies = await self._tallies(row, language)
        total = total_of(tallies)
        min_group = self._policy.min_group
        comments: list[str] = []
        comments_hidden = False
        comment_ids = _comment_questions(questionnaire)
        if comment_ids:
            # Comments of the sides that reach the comment threshold (the web apart, each
            # on its own): a few genuine comments are never shown beside fake web ones.
            web = sum(tally.respondents for tally in tallies if tally.web)
            sides = counted_sides(total.respondents, web, self._min_comment_group(row))
            if sides:
                # The same masking and order as every officer output (reports.disclosure).
                found = await self._store.comments(
                    row.id,
                    comment_ids,
                    self._policy.max_comments,
                    web=None if len(sides) > 1 else WEB in sides,
                )
                comments = sorted(
                    (mask_contacts(c, language=language) for c in found), key=str.casefold
                )
            else:
                comments_hidden = True
        departments = [
            # The merged group is named in the reader's language too.
            dataclasses.replace(group, title=OTHER_DEPARTMENTS_TEXT.get(language))
            if group.merged
            else group
            for group in window_departments(tallies, min_group)
        ]
        return render_officer_results(
            title=self._title(row).get(language),
            window=self._as_ran(row),
            total=total,
            departments=departments,
            department_note=row.audience == CampaignAudience.STAFF,
            comments=comments,
            comments_hidden=comments_hidden,
            min_group=min_group,
            language=language,
        )

    def _as_ran(self, row: WindowRow) -> WindowRow:
        """The window with its actual last day: a window closed early (``/poll_close``) ran
        until the day it was closed, not its planned end (issue 10, item 8)."""
        if row.closed_at is None:
            return row
        closed_on = self.today(row.closed_at)
        if closed_on >= row.closes_on:
            return row
        return dataclasses.replace(row, closes_on=max(closed_on, row.opens_on))

    async def _publication_text(self, row: WindowRow) -> str:
        tallies = await self._tallies(row)
        min_group = self._policy.min_group
        return render_publication(
            title=self._title(row).ru,
            window=self._as_ran(row),
            total=total_of(tallies),
            departments=window_departments(tallies, min_group),
            min_group=min_group,
        )

    # --- texts and views ------------------------------------------------------------------

    def _title(self, row: WindowRow) -> Text:
        campaign = self._campaigns.get(row.campaign_id)
        questionnaire = self._questionnaires.get(row.questionnaire_id)
        if campaign is not None:
            return campaign.display_title(questionnaire)
        return questionnaire.title if questionnaire is not None else Text(ru=row.campaign_id)

    def start_url(self, window_id: int, messenger: Messenger = TELEGRAM) -> str | None:
        """The deep link that opens the window in ``messenger`` (t.me, or max.ru for MAX),
        when the bot's name there is known."""
        if messenger == MAX:
            if not self._max_bot_name:
                return None
            return max_start_link(self._max_bot_name, window_payload(window_id))
        if not self._bot_username:
            return None
        return f"https://t.me/{self._bot_username}?start={window_payload(window_id)}"

    def _link(
        self, window_id: int, language: Language = Language.RU, messenger: Messenger = TELEGRAM
    ) -> str:
        url = self.start_url(window_id, messenger)
        if url is not None:
            return f'<a href="{html.escape(url)}">{tr(language, "campaign.take_poll")}</a>'
        return tr(language, "campaign.start_command", payload=window_payload(window_id))

    def _invitation_text(
        self,
        row: WindowRow,
        campaign: Campaign,
        messenger: Messenger = TELEGRAM,
        language: Language = Language.RU,
    ) -> str:
        title = _esc(self._title(row).get(language))
        staff = campaign.audience == CampaignAudience.STAFF
        lead = tr(language, "campaign.invite_staff" if staff else "campaign.invite", title=title)
        return tr(
            language,
            "campaign.open_until",
            lead=lead,
            day=f"{row.closes_on:%d.%m.%Y}",
            link=self._link(row.id, language, messenger),
        )

    def _reminder_text(
        self,
        row: WindowRow,
        campaign: Campaign,
        messenger: Messenger = TELEGRAM,
        language: Language = Language.RU,
    ) -> str:
        return tr(
            language,
            "campaign.reminder",
            title=_esc(self._title(row).get(language)),
            day=f"{row.closes_on:%d.%m.%Y}",
            link=self._link(row.id, language, messenger),
        )

    def _view(self, row: WindowRow) -> WindowView:
        return WindowView(
            id=row.id,
            campaign_id=row.campaign_id,
            questionnaire_id=row.questionnaire_id,
            audience=CampaignAudience(row.audience),
            title=self._title(row),
            opens_on=row.opens_on,
            closes_on=row.closes_on,
            status=row.status,
            origin=row.origin,
        )

    def _publication(self, row: PublicationRow) -> Publication:
        campaign = self._campaigns.get(row.campaign_id)
        if campaign is not None:
            title = campaign.display_title(self._questionnaires.get(campaign.questionnaire))
        else:
            title = Text(ru=row.campaign_id)
        return Publication(
            window_id=row.window_id,
            campaign_id=row.campaign_id,
            audience=CampaignAudience(row.audience),
            title=title,
            opens_on=row.opens_on,
            closes_on=row.closes_on,
            text_html=row.text_html,
            published_on=row.published_on,
        )


def _overall_question(questionnaire: Questionnaire | None) -> str | None:
    if questionnaire is None:
        return None
    return next((q.id for q in questionnaire.questions if q.role == Role.OVERALL), None)


def _comment_questions(questionnaire: Questionnaire | None) -> list[str]:
    if questionnaire is None:
        return []
    return [q.id for q in questionnaire.questions if q.role == Role.COMMENT]
