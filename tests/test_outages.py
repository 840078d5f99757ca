"""The outage classifier the fronts use: storage failures ask the person to try later, bugs
and the person's own stale state do not."""

from __future__ import annotations

import sqlite3

import asyncpg.exceptions
import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage
from sqlalchemy.exc import IntegrityError, OperationalError

from questionnaires.errors import StaleProgressError
from services.outages import is_storage_outage
from storage.fsm import FsmCommitError


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, Exception("database is locked")),
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        FsmCommitError("database is locked", Exception("locked")),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        # The FSM storage's driver shortcuts raise the drivers' own errors.
        sqlite3.OperationalError("disk I/O error"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_failures_of_the_database_and_the_dialog_store_are_outages(error: Exception) -> None:
    assert is_storage_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        KeyError("a bug"),
        StaleProgressError("questionnaire changed"),
        TelegramNetworkError(SendMessage(chat_id=1, text="x"), "timeout"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_bugs_stale_dialogs_and_telegram_failures_are_not(error: Exception) -> None:
    assert not is_storage_outage(error)
