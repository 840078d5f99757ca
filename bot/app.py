"""The composition root: builds storage, services, bot and dispatcher, and runs them."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.operations import (
    instrument,
    lead_scheduler,
    poll,
    shared_isolation,
    shared_rating_guard,
)
from bot.outbox import BotOutbox
from bot.policies import disclosure_policy
from bot.retry import RetryRequests
from bot.settings import Settings, ensure_pepper
from bot.startup import first_contact
from handlers.signals import button_data
from questionnaires.triggers import load_triggers
from reports.model import QuestionnaireRoles
from scheduler.calendar import load_calendar
from scheduler.campaigns import add_campaign_jobs, add_initiative_job, run_campaign_tick
from scheduler.deliveries import ReportDeliveries, ReportSchedule
from scheduler.jobs import (
    add_announce_job,
    add_publish_job,
    create_scheduler,
    flush_funnel,
    hourly_privacy,
    housekeeping,
    send_due_reports,
)
from services.announcements import ResultsAnnouncer
from services.appeals import AppealsService, appeals_mapping
from services.appendix2 import Appendix2Service, PersistedPainMap
from services.broadcast import Broadcaster, telegram_sender
from services.campaigns import CampaignPolicy, CampaignService
from services.feedback import FeedbackPolicy, FeedbackService
from services.funnel import FunnelRecorder
from services.initiative import InitiativeDesk
from services.open_answers import OpenAnswersService, categories
from services.painmap import PainMapService
from services.publication import PainMapMeasures, PublicationService
from services.reporting import ReportingPolicy, ReportingService
from services.signals import SignalPolicy, SignalService
from services.staff_results import StaffResultsReader
from storage.activity import ActivityCounter
from storage.announcements import AnnouncementStore
from storage.appeals import AppealStore
from storage.catalog import CatalogStore
from storage.database import checkpoint_wal, create_engine, create_session_factory, vacuum
from storage.deliveries import DeliveryStore
from storage.fsm import SqlStorage
from storage.fsm_redis import create_redis_storage
from storage.migrate import upgrade_async
from storage.open_answers import OpenAnswerStore
from storage.opt_ins import OptInStore
from storage.painmap import PainMapStore
from storage.responses import ResponseStore
from storage.signals import SignalStore
from storage.staff import StaffStore

logger = logging.getLogger(__name__)


@dataclass
class Application:
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    storage: BaseStorage
    wiring: Wiring | None = None


@dataclass
class Wiring:
    """Storage, services and dispatcher of one bot process, before anything is scheduled."""

    engine: AsyncEngine
    report_engine: AsyncEngine
    storage: BaseStorage
    sql_storage: SqlStorage | None
    responses: ResponseStore
    opt_ins: OptInStore
    activity: ActivityCounter
    reporting: ReportingService
    feedback: FeedbackService
    funnel: FunnelRecorder
    campaigns: CampaignService
    initiative: InitiativeDesk
    deliveries: ReportDeliveries
    dispatcher: Dispatcher
    signals: SignalService
    publication: PublicationService
    painmap: PainMapService | None = None
    announcer: ResultsAnnouncer | None = None

    async def close(self) -> None:
        """Write what is pending, then release the database."""
        await flush_funnel(self.funnel)
        # What waits in memory is written now, however few: losing it would let people answer
        # a window twice and drop their subscriptions (see storage.opt_ins, storage.campaigns).
        await self.campaigns.flush_participation(force=True)
        try:
            await self.opt_ins.flush(force=True)
        except Exception as error:
            logger.warning("Subscriptions lost at shutdown: %s", type(error).__name__)
        # Then the responses are rewritten after them (PostgreSQL), so those few keys point at
        # no response in particular, and the totals are logged.
        await hourly_privacy(self.activity, self.responses, self.feedback.today)
        await self.storage.close()
        if self.report_engine is not self.engine:
            await self.report_engine.dispose()
        await self.engine.dispose()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The bot; ``session`` replaces the HTTP session (benchmarks answer the Bot API locally)."""
    assert settings.bot.token is not None
    if session is None:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(settings.bot.api_base_url), proxy=settings.bot.proxy
        )
    # Calls made while answering a person are repeated on 429, 5xx and timeouts.
    session.middleware(RetryRequests())
    return Bot(
        settings.bot.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def wire(settings: Settings, bot: Bot, bot_username: str | None) -> Wiring:
    """Migrate the database and build everything the dispatcher needs (no scheduler, no I/O
    with Telegram): the production composition, also what ``bench/`` measures."""
    pepper = ensure_pepper(settings).get_secret_value().encode()
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    # Checked before anything is opened: a broken file stops the start with its line (§3.3).
    triggers = load_triggers(
        settings.content.triggers_path,
        weekly=settings.reports.weekly_figures,
        campaigns=[c.id for c in content.campaigns.campaigns if c.audience == "external"],
    )
    # The embedded default must start on a fresh machine: migrating is idempotent.
    await upgrade_async(settings.db.url)
    engine = create_engine(settings.db.url, echo=settings.db.echo)
    sessions = create_session_factory(engine)
    # Reports read for up to a second over a million answers: on SQLite they get connections
    # of their own, so people answering never wait behind an officer's report.
    report_engine = (
        create_engine(settings.db.url, echo=settings.db.echo, sqlite_connections=2)
        if engine.dialect.name == "sqlite"
        else engine
    )
    await CatalogStore(sessions).sync(*catalog_rows(content.catalog))
    ttl = timedelta(days=settings.fsm.ttl_days)
    storage: BaseStorage
    sql_storage: SqlStorage | None = None
    if settings.fsm.redis_url:
        storage = create_redis_storage(
            settings.fsm.redis_url,
            pepper,
            ttl,
            max_connections=settings.fsm.redis_max_connections,
            pool_timeout=settings.fsm.redis_pool_timeout,
        )
    else:
        storage = sql_storage = SqlStorage(sessions, pepper, ttl=ttl)
    activity = ActivityCounter()
    responses = ResponseStore(sessions, activity=activity)
    # One store for both services: subscriptions wait in it to be written in batches.
    opt_ins = OptInStore(sessions, min_batch=settings.privacy.min_group_size)
    outbox = BotOutbox(bot)
    # One disclosure policy for every officer output (reports.disclosure).
    disclosure = disclosure_policy(settings)
    reporting = ReportingService(
        sessions=create_session_factory(report_engine),
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset(settings.bot.officer_ids),
            disclosure=disclosure,
            alert_threshold=settings.reports.alert_threshold,
            internal_officer_ids=frozenset(settings.bot.internal_officer_ids),
            zone=settings.body.zone,
        ),
    )
    feedback = FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=responses,
        opt_ins=opt_ins,
        zone=settings.body.zone,
        policy=FeedbackPolicy(
            ratings_per_service_per_day=settings.privacy.ratings_per_service_per_day,
            default_channel=settings.bot.default_channel,
        ),
        rating_guard=shared_rating_guard(storage, settings, pepper),
    )
    funnel = FunnelRecorder(sessions)
    send = telegram_sender(bot)
    campaigns = CampaignService(
        sessions=sessions,
        campaigns=content.campaigns,
        questionnaires=content.questionnaires,
        calendar=load_calendar(),
        pepper=pepper,
        zone=settings.body.zone,
        broadcaster_factory=lambda port: Broadcaster(sessions, port),
        send=send,
        results=outbox,
        opt_ins=opt_ins,
        # Window results, opening/closing polls and invite codes: body-wide officers only.
        officer_ids=settings.bot.officer_ids,
        bot_username=bot_username,
        policy=CampaignPolicy(
            min_group=disclosure.min_group,
            min_comment_group=disclosure.comment_threshold("external"),
            min_comment_group_staff=disclosure.comment_threshold("internal"),
        ),
        departments=content.catalog.departments,
        activity=activity,
    )
    initiative = InitiativeDesk(
        store=StaffStore(sessions),
        deliveries=DeliveryStore(sessions),
        departments=campaigns,
        questionnaires=content.questionnaires,
        officer_ids=settings.bot.internal_officer_ids,
        send=outbox,
        zone=settings.body.zone,
        hour=settings.staff.feedback_hour,
    )
    feedback.add_listener(initiative)
    # §3.3: extra-poll proposals and the escalation of unacknowledged negative batches.
    signals = SignalService(
        store=SignalStore(sessions),
        deliveries=DeliveryStore(sessions),
        reporting=reporting,
        campaigns=campaigns,
        triggers=triggers,
        outbox=outbox,
        zone=settings.body.zone,
        policy=SignalPolicy(
            escalation_hours=settings.reports.escalation_hours,
            escalation_officer_ids=frozenset(settings.reports.escalation_officer_ids),
            send_from_hour=settings.reports.alert_hour,
        ),
        button_data=button_data,
    )
    # The appeals register (§3.5): imports and the quarterly monitoring.
    appeals = AppealsService(
        # Imports write: through the answer path's engine, so SQLite has one writer (a second
        # one would fail on SQLITE_BUSY_SNAPSHOT or hold the lock past the busy timeout).
        AppealStore(sessions),
        appeals_mapping(settings.content.appeals_mapping_path),
        disclosure,
        zone=settings.body.zone,
    )
    # The pain map (§3.6–3.8): refreshed from the reports as periods close, measures in the bot.
    painmap = PainMapService(
        store=PainMapStore(sessions),
        reporting=reporting,
        zone=settings.body.zone,
        ledger=DeliveryStore(sessions),
        send=outbox,
        appeal_titles=lambda: appeals.titles().get("reason", {}),
        remind_from_hour=settings.reports.alert_hour,
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
            sessions=create_session_factory(report_engine),
            campaigns=content.campaigns.campaigns,
            questionnaires=content.questionnaires,
            departments=content.catalog.departments,
            zone=settings.body.zone,
            min_group=disclosure.min_group,
        ),
    )
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(
            settings.body.zone,
            settings.reports.digest_cron,
            settings.reports.alert_hour,
            weekly=disclosure.weekly,
        ),
        store=DeliveryStore(sessions),
        reporting=reporting,
        outbox=outbox,
        batches=signals,
        appendix2=appendix2,
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
    # «Вы сказали — мы сделали» to the citizens who opted in: weekly, body-wide (issue 11).
    announcer = ResultsAnnouncer(
        measures=painmap,
        store=AnnouncementStore(sessions),
        subscribers=opt_ins,
        broadcaster=Broadcaster(sessions, send),
        zone=settings.body.zone,
        ledger=DeliveryStore(sessions),
        hour=settings.reports.alert_hour,
        url=settings.publish.url,
    )
    # Open answers by category, re-tagged by officers; life situations as a whole (issue 10).
    open_answers = OpenAnswersService(
        reporting=reporting,
        sessions=create_session_factory(report_engine),
        store=OpenAnswerStore(sessions),
        categoriser=categories(settings.content.categories_path),
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        internal_officers=frozenset(settings.bot.internal_officer_ids),
    )
    reporting.extras = open_answers
    dispatcher = create_dispatcher(
        storage=storage,
        # Several processes (Redis): a person's updates are handled one at a time across all.
        events_isolation=shared_isolation(storage),
        feedback=feedback,
        reporting=reporting,
        campaigns=campaigns,
        funnel=funnel,
        settings=settings,
        appeals=appeals,
        painmap=painmap,
        signals=signals,
        publication=publication,
        appendix2=appendix2,
        open_answers=open_answers,
    )
    return Wiring(
        engine=engine,
        report_engine=report_engine,
        storage=storage,
        sql_storage=sql_storage,
        responses=responses,
        opt_ins=opt_ins,
        activity=activity,
        reporting=reporting,
        feedback=feedback,
        funnel=funnel,
        campaigns=campaigns,
        initiative=initiative,
        deliveries=deliveries,
        dispatcher=dispatcher,
        painmap=painmap,
        signals=signals,
        publication=publication,
        announcer=announcer,
    )


def freeze_startup_heap() -> int:
    """Move every object alive after start-up out of the collector's reach; returns how many.

    A started bot holds several hundred thousand long-lived objects (aiogram, pydantic,
    SQLAlchemy, matplotlib); without this every full collection walks them all again, which
    costs a sixth of the answer pipeline's time under load.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@asynccontextmanager
async def build_application(settings: Settings) -> AsyncIterator[Application]:
    """Everything the bot process needs, torn down in reverse order."""
    bot = create_bot(settings)
    try:
        # A rejected token is found before anything is created or migrated; an unreachable
        # Telegram is retried with backoff, one explained line per failed attempt.
        me = await first_contact(
            bot,
            base_url=settings.bot.api_base_url,
            timeout=settings.bot.connect_timeout,
            retry_for=settings.bot.connect_retry_seconds,
        )
    except BaseException:
        await bot.session.close()
        raise
    logger.info("Connected as @%s", me.username)
    try:
        wiring = await wire(settings, bot, me.username)
    except BaseException:
        await bot.session.close()
        raise
    feedback, responses, engine = wiring.feedback, wiring.responses, wiring.engine
    sqlite = engine.dialect.name == "sqlite"
    scheduler = create_scheduler(
        settings.body.zone,
        responses=responses,
        fsm=wiring.sql_storage,
        today=feedback.today,
        deliveries=wiring.deliveries,
        funnel=wiring.funnel,
        opt_ins=wiring.opt_ins,
        activity=wiring.activity,
        reshuffler=responses,
        wal=partial(checkpoint_wal, engine) if sqlite else None,
        compact=partial(vacuum, engine) if sqlite else None,
        pain_map=wiring.painmap,
        signals=wiring.signals,
    )
    add_campaign_jobs(scheduler, wiring.campaigns)
    add_initiative_job(scheduler, wiring.initiative)
    if settings.publish.dir is not None:
        add_publish_job(scheduler, wiring.publication, settings.publish.dir)
    if wiring.announcer is not None:
        add_announce_job(scheduler, wiring.announcer)

    async def catch_up() -> None:
        # A night missed while nobody led is made up when a process is elected, and so are
        # due reports, missed window openings and closings (each applied once).
        await housekeeping(responses, wiring.sql_storage, feedback.today)
        await send_due_reports(wiring.deliveries)
        await run_campaign_tick(wiring.campaigns)

    # One process of those sharing the database runs the body's jobs (scheduler/leader.py).
    instrument(wiring.dispatcher, settings)
    leadership = await lead_scheduler(
        scheduler, engine, settings, catch_up=catch_up, bot=bot, reporting=wiring.reporting
    )
    try:
        scheduler.start()
        yield Application(bot, wiring.dispatcher, engine, wiring.storage, wiring)
    finally:
        await leadership.stop()
        scheduler.shutdown(wait=False)
        await wiring.close()
        await bot.session.close()


async def serve(
    settings: Settings,
    fronts: Callable[[Wiring], AbstractAsyncContextManager[object]] | None = None,
) -> None:
    """Run long polling until SIGINT/SIGTERM, with other fronts (the web) beside it."""
    # The command menus are set by the scheduler leader (bot.operations.lead_scheduler).
    async with build_application(settings) as app, AsyncExitStack() as stack:
        if fronts is not None and app.wiring is not None:
            await stack.enter_async_context(fronts(app.wiring))
        frozen = freeze_startup_heap()
        logger.info("Otklik is polling for updates (%d start-up objects frozen)", frozen)
        # Guarded: a second poller on this token refuses to start (bot.operations).
        await poll(app.bot, app.dispatcher, app.engine, settings)
