"""CatalogStore.sync: upsert, removal, links, and history that survives removal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.catalog import (
    CatalogStore,
    CatalogSyncReport,
    ChannelRow,
    LifeSituationRow,
    ServiceRow,
)
from storage.models import Channel, LifeSituation, Response, Service, ServiceLifeSituation
from storage.responses import ResponseStore

BIRTH = LifeSituationRow("birth", "Рождение ребёнка", "Birth of a child")
MOVING = LifeSituationRow("moving", "Переезд", None)
PASSPORT = ServiceRow("passport", "Паспорт", "Passport", "state_service", None, ("birth",))
INSPECTION = ServiceRow(
    "inspection", "Проверка", None, "control", 5_000_000_001, ("birth", "moving")
)
MFC = ChannelRow("mfc", "МФЦ", "Service centre", "in_person")
SITE = ChannelRow("site", "Сайт", "Website", "online")


@dataclass(frozen=True)
class Snapshot:
    services: dict[str, tuple[str, str | None, str, int | None]]
    channels: dict[str, tuple[str, str | None, str]]
    situations: dict[str, tuple[str, str | None]]
    links: set[tuple[str, str]]


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> Snapshot:
    async with sessions() as session:
        services = {
            s.code: (s.title_ru, s.title_en, s.group, s.officer_telegram_id)
            for s in await session.scalars(select(Service))
        }
        channels = {
            c.code: (c.title_ru, c.title_en, c.kind)
            for c in await session.scalars(select(Channel))
        }
        situations = {
            s.code: (s.title_ru, s.title_en) for s in await session.scalars(select(LifeSituation))
        }
        result = await session.execute(
            select(ServiceLifeSituation.service_code, ServiceLifeSituation.life_situation_code)
        )
        links = {(service, situation) for service, situation in result}
    return Snapshot(services, channels, situations, links)


async def test_first_sync_inserts_the_whole_catalog(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    report = await CatalogStore(sessions).sync(
        [PASSPORT, INSPECTION], [MFC, SITE], [BIRTH, MOVING]
    )

    assert report == CatalogSyncReport(added=6, updated=0, removed=0)
    assert await _snapshot(sessions) == Snapshot(
        services={
            "passport": ("Паспорт", "Passport", "state_service", None),
            "inspection": ("Проверка", None, "control", 5_000_000_001),
        },
        channels={
            "mfc": ("МФЦ", "Service centre", "in_person"),
            "site": ("Сайт", "Website", "online"),
        },
        situations={
            "birth": ("Рождение ребёнка", "Birth of a child"),
            "moving": ("Переезд", None),
        },
        links={("passport", "birth"), ("inspection", "birth"), ("inspection", "moving")},
    )


async def test_syncing_the_same_catalog_again_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = CatalogStore(sessions)
    await store.sync([PASSPORT, INSPECTION], [MFC, SITE], [BIRTH, MOVING])
    before = await _snapshot(sessions)

    report = await store.sync([PASSPORT, INSPECTION], [MFC, SITE], [BIRTH, MOVING])

    assert report == CatalogSyncReport()
    assert await _snapshot(sessions) == before


async def test_sync_updates_changed_entries_and_removes_missing_ones(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = CatalogStore(sessions)
    await store.sync([PASSPORT, INSPECTION], [MFC, SITE], [BIRTH, MOVING])
    renamed = ServiceRow(
        "passport", "Выдача паспорта", "Passport", "state_service", 42, ("birth", "moving")
    )
    phone = ChannelRow("phone", "Телефон", "Phone", "phone")

    report = await store.sync([renamed], [MFC, phone], [BIRTH, MOVING])

    assert report == CatalogSyncReport(added=1, updated=1, removed=2)
    snapshot = await _snapshot(sessions)
    assert snapshot.services == {"passport": ("Выдача паспорта", "Passport", "state_service", 42)}
    assert set(snapshot.channels) == {"mfc", "phone"}
    # The removed service took its links along; the kept one gained a link.
    assert snapshot.links == {("passport", "birth"), ("passport", "moving")}


async def test_a_change_of_links_alone_counts_as_an_update(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = CatalogStore(sessions)
    await store.sync([PASSPORT], [MFC], [BIRTH, MOVING])
    relinked = ServiceRow("passport", "Паспорт", "Passport", "state_service", None, ("moving",))

    report = await store.sync([relinked], [MFC], [BIRTH, MOVING])

    assert report == CatalogSyncReport(updated=1)
    assert (await _snapshot(sessions)).links == {("passport", "moving")}


async def test_removing_a_life_situation_unlinks_it_from_services(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = CatalogStore(sessions)
    await store.sync([INSPECTION], [MFC], [BIRTH, MOVING])
    without_moving = ServiceRow(
        "inspection", "Проверка", None, "control", 5_000_000_001, ("birth",)
    )

    await store.sync([without_moving], [MFC], [BIRTH])

    snapshot = await _snapshot(sessions)
    assert set(snapshot.situations) == {"birth"}
    assert snapshot.links == {("inspection", "birth")}


async def test_responses_keep_the_code_of_a_service_removed_from_the_catalog(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    catalog = CatalogStore(sessions)
    await catalog.sync([PASSPORT, INSPECTION], [MFC], [BIRTH, MOVING])
    response = CompletedResponse(
        "post_service",
        1,
        "rating",
        "external",
        ResponseContext(service="inspection", channel="mfc", life_situation="moving"),
        date(2025, 3, 14),
        (AnswerRow("overall", number=2),),
    )
    await ResponseStore(sessions).save(response)

    await catalog.sync([PASSPORT], [], [BIRTH])

    async with sessions() as session:
        stored = (await session.scalars(select(Response))).one()
    assert (stored.service_code, stored.channel_code, stored.life_situation_code) == (
        "inspection",
        "mfc",
        "moving",
    )


@pytest.mark.parametrize(
    ("services", "channels", "situations", "message"),
    [
        ([PASSPORT], [MFC], [MOVING], "unknown life situations birth"),
        ([PASSPORT, PASSPORT], [MFC], [BIRTH], "duplicate service codes"),
        ([PASSPORT], [MFC, MFC], [BIRTH], "duplicate channel codes"),
        ([PASSPORT], [MFC], [BIRTH, BIRTH], "duplicate life situation codes"),
        (
            [ServiceRow("x", "X", None, "leisure", None)],
            [MFC],
            [BIRTH],
            "unknown group 'leisure'",
        ),
        ([PASSPORT], [ChannelRow("fax", "Факс", None, "fax")], [BIRTH], "unknown kind 'fax'"),
    ],
)
async def test_an_inconsistent_catalog_is_rejected_and_nothing_changes(
    sessions: async_sessionmaker[AsyncSession],
    services: list[ServiceRow],
    channels: list[ChannelRow],
    situations: list[LifeSituationRow],
    message: str,
) -> None:
    store = CatalogStore(sessions)
    await store.sync([INSPECTION], [SITE], [BIRTH, MOVING])
    before = await _snapshot(sessions)

    with pytest.raises(ValueError, match=message):
        await store.sync(services, channels, situations)

    assert await _snapshot(sessions) == before
