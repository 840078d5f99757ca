"""Fixtures of the appeals tests: migrated databases on both backends, the store and service."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.appeals import EXAMPLE_MAPPING, AppealsMapping, AppealsService, load_mapping
from storage.appeals import AppealStore
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures, on SQLite and PostgreSQL


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> AppealStore:
    return AppealStore(sessions)


@pytest.fixture
def service(store: AppealStore) -> AppealsService:
    return AppealsService(store)


@pytest.fixture(scope="session")
def mapping() -> AppealsMapping:
    return load_mapping(EXAMPLE_MAPPING)
