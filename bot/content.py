"""Loads questionnaires and the catalog at start-up, reporting broken files without dying."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from questionnaires.campaigns import CAMPAIGNS_FILE, CampaignFile, load_campaigns
from questionnaires.catalog import Catalog, load_catalog
from questionnaires.loader import load_folder
from questionnaires.schema import Questionnaire
from storage.catalog import ChannelRow, LifeSituationRow, ServiceRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Content:
    questionnaires: dict[str, Questionnaire]
    catalog: Catalog
    campaigns: CampaignFile


def load_content(
    questionnaires_dir: Path, catalog_path: Path, campaigns_path: Path | None = None
) -> Content:
    """Valid questionnaires, the catalog and the poll campaigns.

    A broken questionnaire file is logged and skipped; a broken catalog or campaigns file
    raises DefinitionError: without them no link or poll can be understood.
    """
    result = load_folder(questionnaires_dir)
    for defect in result.defects:
        logger.error("Questionnaire skipped: %s", defect)
    catalog = load_catalog(catalog_path)
    campaigns = load_campaigns(campaigns_path or CAMPAIGNS_FILE, result.questionnaires)
    logger.info(
        "Loaded %d questionnaire(s), %d service(s), %d campaign(s)",
        len(result.questionnaires),
        len(catalog.services),
        len(campaigns.campaigns),
    )
    return Content(result.questionnaires, catalog, campaigns)


def catalog_rows(
    catalog: Catalog,
) -> tuple[list[ServiceRow], list[ChannelRow], list[LifeSituationRow]]:
    """The catalog as rows for the database, so reports can join titles in SQL."""
    services = [
        ServiceRow(
            code=s.code,
            title_ru=s.title.ru,
            title_en=s.title.en,
            group=str(s.group),
            officer_telegram_id=s.officer,
            life_situations=tuple(s.life_situations),
        )
        for s in catalog.services
    ]
    channels = [
        ChannelRow(code=c.code, title_ru=c.title.ru, title_en=c.title.en, kind=str(c.kind))
        for c in catalog.channels
    ]
    situations = [
        LifeSituationRow(code=ls.code, title_ru=ls.title.ru, title_en=ls.title.en)
        for ls in catalog.life_situations
    ]
    return services, channels, situations
