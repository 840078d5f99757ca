"""The composition root: builds storage, services, bot and dispatcher, and runs them."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Final

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.composition import Services, build_services
from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.operations import (
    instrument,
    lead_scheduler,
    poll,
    shared_isolation,
    shared_participation,
    shared_rating_guard,
)
from bot.outbox import Messengers, messengers
from bot.response_models import PinResponseModels
from bot.retry import RetryRequests
from bot.settings import Settings, ensure_pepper
from bot.startup import first_contact
from bot.webhook import WebhookReceiver, set_webhook, update_ledger, webhook_secret
from questionnaires.triggers import load_triggers
from reports.model import QuestionnaireRoles
from scheduler.campaigns import add_campaign_jobs, add_initiative_job, run_campaign_tick
from scheduler.jobs import (
    add_announce_job,
    add_publish_job,
    create_scheduler,
    flush_funnel,
    hourly_privacy,
    housekeeping,
    make_jobs_stoppable,
    send_due_reports,
)
from scheduler.leader import LeaderGate
from storage.catalog import CatalogStore
from storage.database import checkpoint_wal, create_engine, create_session_factory, vacuum
from storage.fsm import SqlStorage
from storage.fsm_redis import create_redis_storage
from storage.migrate import upgrade_async
from storage.report_scores import score_unscored

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
    services: Services
    dispatcher: Dispatcher
    messengers: Messengers | None = None

    async def close(self) -> None:
        """Write what is pending, then release the database."""
        services = self.services
        await flush_funnel(services.funnel)
        # What waits in memory is written now, however few: losing it would let people answer
        # a window twice and drop their subscriptions (see storage.opt_ins, storage.campaigns).
        await services.campaigns.flush_participation(force=True)
        try:
            await services.opt_ins.flush(force=True)
        except Exception as error:
            logger.warning("Subscriptions lost at shutdown: %s", type(error).__name__)
        # Then the responses are rewritten after them (PostgreSQL), so those few keys point at
        # no response in particular, and the totals are logged.
        await hourly_privacy(services.activity, services.responses, services.feedback.today)
        await self.storage.close()
        if self.messengers is not None:
            await self.messengers.close()
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
    # Replies are parsed without rebuilding their pydantic models (bot/response_models.py).
    session.middleware(PinResponseModels())
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
    # The reports' copies stored before revision 0031 get their overall score from the roles
    # of the files served (a migration cannot read them); a questionnaire missing from the
    # folder keeps its copies unscored (the reports read ``answers``) until a start has it.
    await score_unscored(
        sessions,
        QuestionnaireRoles.from_questionnaires(content.questionnaires).overall,
        served=content.questionnaires.keys(),
    )
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
    # Officers' messages and broadcasts reach each chat in its messenger (Telegram, MAX).
    ports = messengers(settings, bot)
    services = build_services(
        settings,
        content,
        sessions=sessions,
        report_sessions=create_session_factory(report_engine),
        outbox=ports.outbox,
        send=ports.send,
        triggers=triggers,
        pepper=pepper,
        bot_username=bot_username,
        rating_guard=shared_rating_guard(storage, settings, pepper),
        participation_claims=shared_participation(storage),
    )
    dispatcher = create_dispatcher(
        storage=storage,
        settings=settings,
        # Several processes (Redis): a person's updates are handled one at a time across all.
        events_isolation=shared_isolation(storage),
        **services.workflow_data(),
    )
    return Wiring(
        engine=engine,
        report_engine=report_engine,
        storage=storage,
        sql_storage=sql_storage,
        services=services,
        dispatcher=dispatcher,
        messengers=ports,
    )


#: Container objects allocated (net) before a young-generation collection; Python's default
#: is 700. The older generations keep their default ratios (every 10 younger collections).
YOUNG_COLLECTION_THRESHOLD: Final = 50_000


def freeze_startup_heap() -> int:
    """Move every object alive after start-up out of the collector's reach, and collect the
    young generation less often; returns how many objects were frozen.

    A started bot holds several hundred thousand long-lived objects (aiogram, pydantic,
    SQLAlchemy, matplotlib); without the freeze every full collection walks them all again,
    which costs a sixth of the answer pipeline's time under load. Each update allocates a few
    hundred container objects (pydantic models of the update and the Bot API calls, FSM
    records, futures) that live across several awaits: at the default threshold of 700 the
    young generation was collected every few updates and its survivors promoted, 6-8 % of the
    pipeline's time (issue 15). At 50,000 a collection comes every few hundred updates; the
    garbage in cycles waiting for it is a few megabytes at most.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
    return gc.get_freeze_count()


@asynccontextmanager
async def build_application(
    settings: Settings, session: BaseSession | None = None
) -> AsyncIterator[Application]:
    """Everything the bot process needs, torn down in reverse order.

    ``session`` replaces the HTTP session: ``bench/answer_pipeline.py`` measures the very
    application the bot process serves, with the Bot API answered in-process.
    """
    bot = create_bot(settings, session)
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
    try:
        # One process of those sharing the database runs the body's jobs (scheduler/leader.py).
        instrument(wiring.dispatcher, settings)
        async with body_jobs(settings, wiring, bot):
            yield Application(bot, wiring.dispatcher, wiring.engine, wiring.storage, wiring)
    finally:
        # Whatever failed on the way up (a busy metrics port, the election), what was opened
        # is closed: the wiring writes what waits in memory, the bot's session ends.
        await wiring.close()
        await bot.session.close()


@dataclass(frozen=True, slots=True)
class BodyJobs:
    scheduler: AsyncIOScheduler
    leadership: LeaderGate


@asynccontextmanager
async def body_jobs(
    settings: Settings, wiring: Wiring, bot: Bot | None
) -> AsyncIterator[BodyJobs]:
    """The scheduler with the body's jobs (windows, reports, signals, the pain map, nightly
    housekeeping …) gated behind the leader election, and this process's own jobs, until the
    block ends: `otklik run` with Telegram, and MAX alone (``bot`` None: no command menus)."""
    services, engine = wiring.services, wiring.engine
    feedback, responses = services.feedback, services.responses
    sqlite = engine.dialect.name == "sqlite"
    scheduler: AsyncIOScheduler | None = None
    leadership: LeaderGate | None = None
    try:
        scheduler = create_scheduler(
            settings.body.zone,
            responses=responses,
            fsm=wiring.sql_storage,
            today=feedback.today,
            deliveries=services.deliveries,
            funnel=services.funnel,
            opt_ins=services.opt_ins,
            activity=services.activity,
            reshuffler=responses,
            wal=partial(checkpoint_wal, engine) if sqlite else None,
            compact=partial(vacuum, engine) if sqlite else None,
            pain_map=services.painmap,
            signals=services.signals,
            participation=services.campaigns,
            ratings=services.feedback,
        )
        add_campaign_jobs(scheduler, services.campaigns)
        add_initiative_job(scheduler, services.initiative)
        if settings.publish.dir is not None:
            add_publish_job(scheduler, services.publication, settings.publish.dir)
        add_announce_job(scheduler, services.announcer)

        async def catch_up() -> None:
            # A night missed while nobody led is made up when a process is elected, and so
            # are due reports, missed window openings and closings (each applied once).
            await housekeeping(responses, wiring.sql_storage, feedback.today)
            await send_due_reports(services.deliveries)
            await run_campaign_tick(services.campaigns)

        leadership = await lead_scheduler(
            scheduler,
            engine,
            settings,
            catch_up=catch_up,
            bot=bot,
            reporting=services.reporting if bot is not None else None,
        )
        make_jobs_stoppable(scheduler)
        scheduler.start()
        yield BodyJobs(scheduler, leadership)
    finally:
        if leadership is not None:
            await leadership.stop()
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)


async def serve(
    settings: Settings,
    fronts: Callable[[Wiring, WebhookReceiver | None], AbstractAsyncContextManager[object]]
    | None = None,
) -> None:
    """Run long polling, or serve the webhook (BOT__WEBHOOK_URL), until SIGINT/SIGTERM, with
    other fronts (the web) beside it."""
    # The command menus are set by the scheduler leader (bot.operations.lead_scheduler).
    async with build_application(settings) as app, AsyncExitStack() as stack:
        receiver = None
        if settings.bot.webhook_url is not None:
            receiver = WebhookReceiver(
                app.bot,
                app.dispatcher,
                secret=webhook_secret(settings),
                ledger=update_ledger(app.storage, app.bot.id),
                ack_seconds=settings.bot.webhook_ack_seconds,
            )
            # Runs after the web server stopped taking requests (the stack unwinds in reverse):
            # SIGTERM lets the updates being handled finish before the database closes.
            stack.push_async_callback(receiver.drain)
        if fronts is not None and app.wiring is not None:
            await stack.enter_async_context(fronts(app.wiring, receiver))
        frozen = freeze_startup_heap()
        if receiver is not None:
            await set_webhook(app.bot, app.dispatcher, settings)
            logger.info("Otklik serves the webhook (%d start-up objects frozen)", frozen)
            await serve_until_stopped()
            return
        logger.info("Otklik is polling for updates (%d start-up objects frozen)", frozen)
        # Guarded: a second poller on this token refuses to start (bot.operations).
        await poll(app.bot, app.dispatcher, app.engine, settings)


async def serve_until_stopped() -> None:
    """Wait for SIGTERM or SIGINT (what aiogram's polling does for the poller), so that the
    web server stops, the updates being handled finish and the database is closed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    try:
        await stop.wait()
        logger.info("Stopping: the web server takes no more updates")
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
