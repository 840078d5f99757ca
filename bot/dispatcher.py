"""Builds the Dispatcher: routers in order, isolation, middlewares and workflow data."""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage

from bot.isolation import FreedLockIsolation
from handlers import (
    appeals,
    citizen,
    common,
    dialog,
    errors,
    inactive,
    officer,
    officer_language,
    open_answers,
    ops,
    painmap,
    polls,
    signals,
)
from handlers.middlewares import DropRepeatedUpdates, TrackUpdateCalls
from handlers.officer_language import LearnOfficerLanguage
from services.dialog import DialogService
from services.feedback import FeedbackService
from services.funnel import FunnelRecorder
from services.reporting import ReportingService
from services.windows import WindowService


def create_dispatcher(
    *,
    storage: BaseStorage,
    feedback: FeedbackService,
    reporting: ReportingService,
    campaigns: WindowService,
    funnel: FunnelRecorder,
    dialogs: DialogService | None = None,
    events_isolation: BaseEventIsolation | None = None,
    **workflow_data: Any,
) -> Dispatcher:
    """A fresh Dispatcher; tests build one per test with their own storage and services.

    `dialogs` defaults to the dialog service over the given feedback, campaigns and funnel.
    """
    dispatcher = Dispatcher(
        storage=storage,
        # One update per user at a time: a double tap is handled once, in order (each
        # person's lock freed when unused, bot.isolation).
        events_isolation=events_isolation or FreedLockIsolation(),
        feedback=feedback,
        reporting=reporting,
        campaigns=campaigns,
        funnel=funnel,
        dialogs=dialogs or DialogService(feedback=feedback, campaigns=campaigns, funnel=funnel),
        **workflow_data,
    )
    dispatcher.update.outer_middleware(DropRepeatedUpdates())
    # Marks the answer path (bot/retry.py repeats its failed calls) and records which presses
    # were answered, so the error handler never answers one twice.
    dispatcher.update.outer_middleware(TrackUpdateCalls())
    # Officers' commands tell their language to the scheduled deliveries (issue 12).
    dispatcher.message.outer_middleware(LearnOfficerLanguage())
    dispatcher.include_routers(
        # Private chats only: in a group a report, an invitation or a dialog would be read by
        # everyone there, and who answered would be plain to see.
        common.private_only(
            # Button presses of a dialog are most of the traffic: their router is the gate itself,
            # asked first. Its text handler takes no commands, so /start, /help, /cancel reach
            # the others.
            dialog.setup(),
            ops.setup(),  # /whoami, in any state (issue 14)
            officer_language.setup(),  # /language: officers only, in any state
            painmap.setup_input(),  # typed steps of a new measure, with their own /cancel
            common.setup(),
            polls.setup(),  # before citizen: it takes the /start w<id> links of poll windows
            citizen.setup(),
            # Asked late: their officer check runs for every event that reaches them.
            officer.setup(),
            painmap.setup(),  # before appeals: it takes only files carrying the pain map sheet
            signals.setup(),  # §3.3: the extra-poll proposal and the batch acknowledgement
            open_answers.setup(),  # /comments: open answers by category, re-tag buttons
            open_answers.setup_internal(),  # /topics: staff initiative feedback tallied
            polls.setup_officer(),
            appeals.setup(),  # body-wide officers: register files and /appeals (internal)
            common.setup_fallback(),
            inactive.setup(),  # last of all: any press nobody took is still answered
        ),
        common.setup_elsewhere(),
        # Only error events reach it: last, so messages and presses skip its router level.
        errors.setup(),
    )
    return dispatcher
