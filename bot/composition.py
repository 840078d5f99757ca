"""The one composition of services: what the bot, `otklik report`, `otklik publish`, the tests
and bench/ build, from the settings, the loaded content and the ports of the process.

Ports are what differs between processes: the database sessions, how officers' chats are
reached (a bot, or nothing for a command that sends nothing), the clock, the pepper. Everything
else follows from the settings, so a service is wired the same way wherever it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.content import Content
from bot.policies import disclosure_policy
from bot.settings import Settings
from max_front.persons import chat_person, max_key
from questionnaires.campaigns import WorkingDays
from questionnaires.messengers import max_chat
from questionnaires.triggers import TriggerFile
from reports.model import QuestionnaireRoles
from scheduler.calendar import load_calendar
from scheduler.deliveries import ReportDeliveries, ReportSchedule
from services.announcements import ResultsAnnouncer, news_sender
from services.appeals import AppealsService, appeals_mapping
from services.appendix2 import Appendix2Service, PersistedPainMap
from services.broadcast import Broadcaster, BroadcastLimits, SendPort
from services.enrolment import Enrolment
from services.feedback import FeedbackPolicy, FeedbackService, utc_now
from services.funnel import FunnelRecorder
from services.initiative import InitiativeDesk
from services.officer_languages import OfficerLanguages
from services.open_answers import OpenAnswersService, categories
from services.painmap import PainMapService
from services.publication import PainMapMeasures, PublicationService
from services.rating_guard import AsyncRatingGuard
from services.reporting import ReportingPolicy, ReportingService
from services.signals import SignalPolicy, SignalService
from services.staff_results import StaffResultsReader
from services.windows import CampaignPolicy, WindowService
from storage.activity import ActivityCounter
from storage.announcements import AnnouncementStore
from storage.appeals import AppealStore
from storage.campaigns import ParticipationClaims
from storage.database import Sessions
from storage.deliveries import DeliveryStore
from storage.officer_languages import OfficerLanguageStore
from storage.open_answers import OpenAnswerStore
from storage.opt_ins import OptInStore
from storage.painmap import PainMapStore
from storage.responses import ResponseStore
from storage.signals import SignalStore
from storage.staff import StaffStore


class Outbox(Protocol):
    """How officers' chats are reached (bot.outbox.BotOutbox)."""

    async def text(self, chat_id: int, html: str) -> None: ...

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None: ...

    async def photo(self, chat_id: int, name: str, png: bytes) -> None: ...

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None: ...


class SendsNothing:
    """The outbox of a process that sends nothing (`otklik report`, `otklik publish`)."""

    async def text(self, chat_id: int, html: str) -> None:
        raise RuntimeError("this process sends nothing")

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        raise RuntimeError("this process sends nothing")

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        raise RuntimeError("this process sends nothing")

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        raise RuntimeError("this process sends nothing")


@dataclass(frozen=True, slots=True)
class Services:
    """Every service and store port the fronts (handlers, scheduler, CLI) need."""

    responses: ResponseStore
    opt_ins: OptInStore
    activity: ActivityCounter
    reporting: ReportingService
    feedback: FeedbackService
    funnel: FunnelRecorder
    campaigns: WindowService
    initiative: InitiativeDesk
    signals: SignalService
    appeals: AppealsService
    painmap: PainMapService
    appendix2: Appendix2Service
    deliveries: ReportDeliveries
    publication: PublicationService
    open_answers: OpenAnswersService
    announcer: ResultsAnnouncer
    officer_languages: OfficerLanguages

    def workflow_data(self) -> dict[str, Any]:
        """The services handlers ask for by name (bot.dispatcher.create_dispatcher)."""
        return {
            "feedback": self.feedback,
            "reporting": self.reporting,
            "campaigns": self.campaigns,
            "funnel": self.funnel,
            "appeals": self.appeals,
            "painmap": self.painmap,
            "signals": self.signals,
            "publication": self.publication,
            "appendix2": self.appendix2,
            "open_answers": self.open_answers,
            "officer_languages": self.officer_languages,
        }


def officer_chats(telegram: Sequence[int], max_users: Sequence[int]) -> list[int]:
    """Officers' chats: Telegram ids as they are, MAX user ids as MAX chat addresses."""
    return [*telegram, *(max_chat(user) for user in max_users)]


def build_services(
    settings: Settings,
    content: Content,
    *,
    sessions: Sessions,
    report_sessions: Sessions | None = None,
    outbox: Outbox | None = None,
    send: SendPort | None = None,
    news_send: SendPort | None = None,
    triggers: TriggerFile | None = None,
    pepper: bytes = b"",
    bot_username: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    calendar: WorkingDays | None = None,
    broadcast_limits: BroadcastLimits | None = None,
    rating_guard: AsyncRatingGuard | None = None,
    participation_claims: ParticipationClaims | None = None,
) -> Services:
    """Wire every service (no I/O: the database is migrated and the catalog synced before).

    ``sessions`` is the answer path's factory, ``report_sessions`` the reports' own (SQLite
    gives them connections of their own; default: the same). ``outbox`` reaches officers and
    ``send`` sends one broadcast message (both default to sending nothing: a command that
    only reads); ``news_send`` one news message to citizens, with the button that stops the
    news (default: through ``outbox`` when one is given, else ``send``).
    ``triggers``: the §3.3 rules, loaded and checked by the caller (default:
    none). ``pepper`` keys poll participation and staff members; a process that makes no key
    passes none. ``rating_guard``: the ballot-stuffing guard shared by several processes
    (Redis; default: in this process's memory). ``participation_claims``: poll participation
    claimed at completion across processes (Redis; default: this process's memory and the
    database's batches).
    """
    report_sessions = report_sessions or sessions
    if news_send is None:
        news_send = news_sender(outbox) if outbox is not None else send
    outbox = outbox or SendsNothing()
    send = send or outbox.text
    news_send = news_send or send
    zone = settings.body.zone
    # Officers in Telegram and in MAX (MAX chats as questionnaires.messengers addresses: the
    # outbox sends each to its messenger, and no MAX id can pass for a Telegram one).
    officers = officer_chats(settings.bot.officer_ids, settings.max.officer_ids)
    internal_officers = officer_chats(
        settings.bot.internal_officer_ids, settings.max.internal_officer_ids
    )
    # One disclosure policy for every officer output (reports.disclosure).
    disclosure = disclosure_policy(settings)
    roles = QuestionnaireRoles.from_questionnaires(content.questionnaires)
    activity = ActivityCounter()
    responses = ResponseStore(sessions, activity=activity, overall=roles.overall)
    # One store for both services: subscriptions wait in it to be written in batches.
    opt_ins = OptInStore(sessions, min_batch=settings.privacy.min_group_size)
    reporting = ReportingService(
        sessions=report_sessions,
        roles=roles,
        catalog=content.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset(officers),
            disclosure=disclosure,
            alert_threshold=settings.reports.alert_threshold,
            internal_officer_ids=frozenset(internal_officers),
            zone=zone,
        ),
    )
    # Each officer's language (issue 12): the deliveries render in it, the fronts learn it.
    officer_languages = OfficerLanguages(
        OfficerLanguageStore(sessions),
        reporting.all_officers()
        | reporting.internal_officers()
        | set(settings.reports.escalation_officer_ids),
        default=settings.reports.officer_language,
    )
    feedback = FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=responses,
        opt_ins=opt_ins,
        zone=zone,
        policy=FeedbackPolicy(
            ratings_per_service_per_day=settings.privacy.ratings_per_service_per_day,
            default_channel=settings.bot.default_channel,
        ),
        clock=clock,
        rating_guard=rating_guard,
        pepper=pepper,
    )
    limits = broadcast_limits or BroadcastLimits()
    # One flood control per bot: poll invitations and announcements share its pacer.
    broadcaster = Broadcaster(sessions, send, limits=limits)
    enrolment = Enrolment(
        sessions=sessions,
        pepper=pepper,
        zone=zone,
        departments=content.catalog.departments,
        min_group=disclosure.min_group,
        clock=clock,
    )
    campaigns = WindowService(
        sessions=sessions,
        campaigns=content.campaigns,
        questionnaires=content.questionnaires,
        calendar=calendar or load_calendar(),
        pepper=pepper,
        zone=zone,
        broadcaster_factory=broadcaster.with_port,
        send=send,
        results=outbox,
        opt_ins=opt_ins,
        # Window results, opening/closing polls and invite codes: body-wide officers only.
        officer_ids=officers,
        enrolment=enrolment,
        clock=clock,
        bot_username=bot_username,
        policy=CampaignPolicy(
            min_group=disclosure.min_group,
            min_comment_group=disclosure.comment_threshold("external"),
            min_comment_group_staff=disclosure.comment_threshold("internal"),
        ),
        activity=activity,
        news_send=news_send,
        site_url=settings.publish.url,
        participation_claims=participation_claims,
        person_of_chat=chat_person(max_key(pepper)),
        max_bot_name=settings.max.bot_name,
        languages=officer_languages,
    )
    initiative = InitiativeDesk(
        store=StaffStore(sessions),
        deliveries=DeliveryStore(sessions),
        departments=enrolment,
        questionnaires=content.questionnaires,
        officer_ids=internal_officers,
        send=outbox,
        zone=zone,
        hour=settings.staff.feedback_hour,
        clock=clock,
        languages=officer_languages,
    )
    feedback.queue_initiative_with(initiative)
    # §3.3: extra-poll proposals and the escalation of unacknowledged negative batches. The
    # buttons carry services.signals' own data, which handlers.signals parses.
    signals = SignalService(
        store=SignalStore(sessions),
        deliveries=DeliveryStore(sessions),
        reporting=reporting,
        campaigns=campaigns,
        triggers=triggers or TriggerFile(),
        outbox=outbox,
        zone=zone,
        policy=SignalPolicy(
            escalation_hours=settings.reports.escalation_hours,
            escalation_officer_ids=frozenset(settings.reports.escalation_officer_ids),
            send_from_hour=settings.reports.alert_hour,
        ),
        clock=clock,
        languages=officer_languages,
    )
    # The appeals register (§3.5): imports and the quarterly monitoring.
    appeals = AppealsService(
        # Imports write: through the answer path's sessions, so SQLite has one writer (a second
        # one would fail on SQLITE_BUSY_SNAPSHOT or hold the lock past the busy timeout).
        AppealStore(sessions),
        appeals_mapping(settings.content.appeals_mapping_path),
        disclosure,
        zone=zone,
    )
    # The pain map (§3.6–3.8): refreshed from the reports as periods close, measures in the bot.
    painmap = PainMapService(
        store=PainMapStore(sessions),
        reporting=reporting,
        zone=zone,
        ledger=DeliveryStore(sessions),
        send=outbox,
        appeal_titles=lambda language: appeals.titles(language).get("reason", {}),
        remind_from_hour=settings.reports.alert_hour,
        clock=clock,
        languages=officer_languages,
    )
    # Every workbook's «Проблемы» sheet is the persisted map, with its measures (round trip).
    reporting.use_pain_map(painmap.sheet_lines)
    # The staff workbook carries the staff process's pains, for the internal officer's round trip.
    reporting.use_staff_pain_map(painmap.staff_sheet_lines)
    # The Appendix 2 report (§6.5), with the semiannual delivery and on demand.
    appendix2 = Appendix2Service(
        reporting=reporting,
        body=settings.body.name,
        appeals=appeals,
        painmap=PersistedPainMap(painmap.appendix2_rows),
        staff_pains=PersistedPainMap(painmap.appendix2_staff_rows),
        staff=StaffResultsReader(
            sessions=report_sessions,
            campaigns=content.campaigns.campaigns,
            questionnaires=content.questionnaires,
            departments=content.catalog.departments,
            zone=zone,
            min_group=disclosure.min_group,
        ),
    )
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(
            zone,
            settings.reports.digest_cron,
            settings.reports.alert_hour,
            weekly=disclosure.weekly,
        ),
        store=DeliveryStore(sessions),
        reporting=reporting,
        outbox=outbox,
        batches=signals,
        appendix2=appendix2,
        languages=officer_languages,
    )
    # The public results: the site (PUBLISH__DIR) and /results show the same content.
    publication = PublicationService(
        reporting=reporting,
        windows=campaigns,
        measures=PainMapMeasures(painmap.public_measures),
        questionnaires=content.questionnaires,
        body_name=settings.body.name,
        today=feedback.today,
        url=settings.publish.url,
    )
    # «Вы сказали — мы сделали» to the citizens who opted in, body-wide and per service: weekly,
    # under the same flood control, each message with the button that stops the news (issue 11).
    announcer = ResultsAnnouncer(
        measures=painmap,
        store=AnnouncementStore(sessions),
        subscribers=opt_ins,
        broadcaster=broadcaster.with_port(news_send),
        zone=zone,
        ledger=DeliveryStore(sessions),
        hour=settings.reports.alert_hour,
        url=settings.publish.url,
    )
    # Open answers by category, re-tagged by officers; life situations as a whole (issue 10).
    open_answers = OpenAnswersService(
        reporting=reporting,
        sessions=report_sessions,
        store=OpenAnswerStore(sessions),
        categoriser=categories(settings.content.categories_path),
        roles=roles,
        catalog=content.catalog,
        internal_officers=frozenset(internal_officers),
    )
    reporting.extras = open_answers
    return Services(
        responses=responses,
        opt_ins=opt_ins,
        activity=activity,
        reporting=reporting,
        feedback=feedback,
        funnel=FunnelRecorder(sessions),
        campaigns=campaigns,
        initiative=initiative,
        signals=signals,
        appeals=appeals,
        painmap=painmap,
        appendix2=appendix2,
        deliveries=deliveries,
        publication=publication,
        open_answers=open_answers,
        announcer=announcer,
        officer_languages=officer_languages,
    )
