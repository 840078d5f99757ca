"""Keeps the catalog tables (services, channels, life situations) equal to the loaded catalog."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import (
    CHANNEL_KINDS,
    SERVICE_GROUPS,
    Channel,
    LifeSituation,
    Service,
    ServiceLifeSituation,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """A service as the catalog file describes it."""

    code: str
    title_ru: str
    title_en: str | None
    group: str
    officer_telegram_id: int | None
    life_situations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A touchpoint as the catalog file describes it."""

    code: str
    title_ru: str
    title_en: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class LifeSituationRow:
    """A life situation as the catalog file describes it."""

    code: str
    title_ru: str
    title_en: str | None


@dataclass(frozen=True, slots=True)
class CatalogSyncReport:
    """How many catalog entries a sync added, changed and removed (all three tables)."""

    added: int = 0
    updated: int = 0
    removed: int = 0


_Entry = TypeVar("_Entry", Service, Channel, LifeSituation)


class CatalogStore:
    """Upserts the catalog; entries missing from it are removed, responses keep their codes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def sync(
        self,
        services: Sequence[ServiceRow],
        channels: Sequence[ChannelRow],
        life_situations: Sequence[LifeSituationRow],
    ) -> CatalogSyncReport:
        """Make the catalog tables hold exactly these rows; raise ValueError on a bad catalog."""
        _validate(services, channels, life_situations)
        async with self._sessions.begin() as session:
            situations = await _sync_entries(
                session,
                LifeSituation,
                [
                    {"code": row.code, "title_ru": row.title_ru, "title_en": row.title_en}
                    for row in life_situations
                ],
            )
            channel_changes = await _sync_entries(
                session,
                Channel,
                [
                    {
                        "code": row.code,
                        "title_ru": row.title_ru,
                        "title_en": row.title_en,
                        "kind": row.kind,
                    }
                    for row in channels
                ],
            )
            service_changes = await _sync_entries(
                session,
                Service,
                [
                    {
                        "code": row.code,
                        "title_ru": row.title_ru,
                        "title_en": row.title_en,
                        "group": row.group,
                        "officer_telegram_id": row.officer_telegram_id,
                    }
                    for row in services
                ],
            )
            # Entries go in before links point at them; removed entries take their links along.
            await session.flush()
            relinked = await _sync_links(session, services)
        changed_services = relinked - service_changes.touched
        report = CatalogSyncReport(
            added=situations.added + channel_changes.added + service_changes.added,
            updated=situations.updated
            + channel_changes.updated
            + service_changes.updated
            + len(changed_services),
            removed=situations.removed + channel_changes.removed + service_changes.removed,
        )
        logger.info(
            "catalog synced: %d added, %d updated, %d removed",
            report.added,
            report.updated,
            report.removed,
        )
        return report


@dataclass(slots=True)
class _Changes:
    added: int
    updated: int
    removed: int
    touched: set[str]  # codes added or updated, so a link change is not counted twice


def _validate(
    services: Sequence[ServiceRow],
    channels: Sequence[ChannelRow],
    life_situations: Sequence[LifeSituationRow],
) -> None:
    for what, codes in (
        ("service", [row.code for row in services]),
        ("channel", [row.code for row in channels]),
        ("life situation", [row.code for row in life_situations]),
    ):
        duplicates = sorted(code for code, count in Counter(codes).items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate {what} codes in the catalog: {', '.join(duplicates)}")
    known_situations = {row.code for row in life_situations}
    for service in services:
        if service.group not in SERVICE_GROUPS:
            raise ValueError(f"service {service.code}: unknown group {service.group!r}")
        unknown = sorted(set(service.life_situations) - known_situations)
        if unknown:
            raise ValueError(
                f"service {service.code}: unknown life situations {', '.join(unknown)}"
            )
    for channel in channels:
        if channel.kind not in CHANNEL_KINDS:
            raise ValueError(f"channel {channel.code}: unknown kind {channel.kind!r}")


async def _sync_entries(
    session: AsyncSession, model: type[_Entry], rows: Iterable[Mapping[str, Any]]
) -> _Changes:
    existing = {entry.code: entry for entry in await session.scalars(select(model))}
    changes = _Changes(added=0, updated=0, removed=0, touched=set())
    for values in rows:
        entry = existing.pop(values["code"], None)
        if entry is None:
            session.add(model(**values))
            changes.added += 1
            changes.touched.add(values["code"])
            continue
        differs = False
        for name, value in values.items():
            if getattr(entry, name) != value:
                setattr(entry, name, value)
                differs = True
        if differs:
            changes.updated += 1
            changes.touched.add(values["code"])
    for entry in existing.values():
        await session.delete(entry)
        changes.removed += 1
    return changes


async def _sync_links(session: AsyncSession, services: Sequence[ServiceRow]) -> set[str]:
    """Bring service ↔ life situation links in line; return the services whose links changed."""
    wanted = {(row.code, situation) for row in services for situation in row.life_situations}
    result = await session.execute(
        select(ServiceLifeSituation.service_code, ServiceLifeSituation.life_situation_code)
    )
    current = {(service, situation) for service, situation in result}
    stale = current - wanted
    if stale:
        await session.execute(
            delete(ServiceLifeSituation).where(
                tuple_(
                    ServiceLifeSituation.service_code, ServiceLifeSituation.life_situation_code
                ).in_(sorted(stale))
            ),
            execution_options={"synchronize_session": False},
        )
    fresh = wanted - current
    if fresh:
        await session.execute(
            insert(ServiceLifeSituation),
            [
                {"service_code": service, "life_situation_code": situation}
                for service, situation in sorted(fresh)
            ],
        )
    return {service for service, _ in stale | fresh}
