"""Column types shared by the storage models: UTC datetimes and portable big-integer keys."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator, TypeEngine

logger = logging.getLogger(__name__)

#: Autoincrement key: BIGINT on PostgreSQL, but SQLite only autoincrements ``INTEGER PRIMARY KEY``
#: (which is 64-bit there anyway).
BigIntPK: Final[TypeEngine[int]] = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime: aware values in, aware UTC values out, on every backend.

    PostgreSQL keeps the instant in ``timestamptz``; SQLite stores text without an offset, so
    values are normalised to UTC before binding and tagged as UTC when read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            # A naive value is ambiguous across the bodies' time zones: refuse it loudly.
            raise ValueError(f"naive datetime given to a UtcDateTime column: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
