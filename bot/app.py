"""The composition root: builds storage, services, bot and dispatcher, and runs them."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.outbox import BotOutbox
from bot.settings import Settings, ensure_pepper
from reports.model import QuestionnaireRoles
from scheduler.calendar import load_calendar
from scheduler.campaigns import add_campaign_jobs, run_campaign_tick
from scheduler.deliveries import ReportDeliveries, ReportSchedule
from scheduler.jobs import create_scheduler, flush_funnel, housekeeping, send_due_reports
from services.broadcast import Broadcaster, telegram_sender
from services.campaigns import CampaignPolicy, CampaignService
from services.feedback import FeedbackPolicy, FeedbackService
from services.funnel import FunnelRecorder
from services.reporting import AlertNotifier, ReportingPolicy, ReportingService
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.deliveries import DeliveryStore
from storage.fsm import SqlStorage
from storage.fsm_redis import create_redis_storage
from storage.migrate import upgrade_async
from storage.opt_ins import OptInStore
from storage.responses import ResponseStore

logger = logging.getLogger(__name__)

COMMANDS = {
    "ru": [
        BotCommand(command="start", description="Оценить услугу"),
        BotCommand(command="cancel", description="Прервать опрос"),
        BotCommand(command="stop", description="Отписаться от сообщений"),
        BotCommand(command="help", description="Справка"),
    ],
    "en": [
        BotCommand(command="start", description="Rate a service"),
        BotCommand(command="cancel", description="Stop the poll"),
        BotCommand(command="stop", description="Unsubscribe"),
        BotCommand(command="help", description="Help"),
    ],
}


@dataclass
class Application:
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    storage: BaseStorage


@dataclass
class Wiring:
    """Storage, services and dispatcher of one bot process, before anything is scheduled."""

    engine: AsyncEngine
    report_engine: AsyncEngine
    storage: BaseStorage
    sql_storage: SqlStorage | None
    responses: ResponseStore
    reporting: ReportingService
    alerts: AlertNotifier
    feedback: FeedbackService
    funnel: FunnelRecorder
    campaigns: CampaignService
    deliveries: ReportDeliveries
    dispatcher: Dispatcher

    async def close(self) -> None:
        """Send and write what is pending, then release the database."""
        await self.alerts.drain()
        await flush_funnel(self.funnel)
        await self.storage.close()
        if self.report_engine is not self.engine:
            await self.report_engine.dispose()
        await self.engine.dispose()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The bot; ``session`` replaces the HTTP session (benchmarks answer the Bot API locally)."""
    assert settings.bot.token is not None
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot.api_base_url))
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
        storage = create_redis_storage(settings.fsm.redis_url, pepper, ttl)
    else:
        storage = sql_storage = SqlStorage(sessions, pepper, ttl=ttl)
    responses = ResponseStore(sessions)
    outbox = BotOutbox(bot)
    reporting = ReportingService(
        sessions=create_session_factory(report_engine),
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset(settings.bot.officer_ids),
            min_group=settings.privacy.min_group_size,
            min_comment_group=settings.privacy.min_group_size,
            min_comment_group_staff=settings.privacy.min_comment_group_size_staff,
            alert_threshold=settings.reports.alert_threshold,
        ),
    )
    alerts = AlertNotifier(
        reporting,
        outbox.text,
        window_seconds=settings.reports.alert_window_seconds,
    )
    feedback = FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=responses,
        opt_ins=OptInStore(sessions),
        pepper=pepper,
        zone=settings.body.zone,
        policy=FeedbackPolicy(
            ratings_per_service_per_day=settings.privacy.ratings_per_service_per_day,
            default_channel=settings.bot.default_channel,
        ),
        listeners=[alerts],
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
        opt_ins=OptInStore(sessions),
        officer_ids=reporting.all_officers(),
        bot_username=bot_username,
        policy=CampaignPolicy(
            min_group=settings.privacy.min_group_size,
            min_comment_group=settings.privacy.min_group_size,
            min_comment_group_staff=settings.privacy.min_comment_group_size_staff,
        ),
    )
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(settings.body.zone, settings.reports.digest_cron),
        store=DeliveryStore(sessions),
        reporting=reporting,
        outbox=outbox,
    )
    dispatcher = create_dispatcher(
        storage=storage,
        feedback=feedback,
        reporting=reporting,
        campaigns=campaigns,
        funnel=funnel,
        settings=settings,
    )
    return Wiring(
        engine=engine,
        report_engine=report_engine,
        storage=storage,
        sql_storage=sql_storage,
        responses=responses,
        reporting=reporting,
        alerts=alerts,
        feedback=feedback,
        funnel=funnel,
        campaigns=campaigns,
        deliveries=deliveries,
        dispatcher=dispatcher,
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
        # A rejected token is found before anything is created or migrated.
        me = await bot.get_me()
    except BaseException:
        await bot.session.close()
        raise
    logger.info("Connected as @%s", me.username)
    wiring = await wire(settings, bot, me.username)
    feedback, responses = wiring.feedback, wiring.responses
    scheduler = create_scheduler(
        settings.body.zone,
        responses=responses,
        fsm=wiring.sql_storage,
        today=feedback.today,
        deliveries=wiring.deliveries,
        funnel=wiring.funnel,
    )
    # A night missed while the bot was down is made up at start, and so are due reports.
    await housekeeping(responses, wiring.sql_storage, feedback.today)
    await send_due_reports(wiring.deliveries)
    add_campaign_jobs(scheduler, wiring.campaigns)
    await run_campaign_tick(wiring.campaigns)  # missed openings and closings are applied once now
    try:
        scheduler.start()
        yield Application(bot, wiring.dispatcher, wiring.engine, wiring.storage)
    finally:
        scheduler.shutdown(wait=False)
        await wiring.close()
        await bot.session.close()


async def serve(settings: Settings) -> None:
    """Run long polling until SIGINT/SIGTERM."""
    async with build_application(settings) as app:
        for language, commands in COMMANDS.items():
            await app.bot.set_my_commands(
                commands, language_code=None if language == "ru" else language
            )
        frozen = freeze_startup_heap()
        logger.info("Otklik is polling for updates (%d start-up objects frozen)", frozen)
        await app.dispatcher.start_polling(
            app.bot, allowed_updates=app.dispatcher.resolve_used_update_types()
        )
