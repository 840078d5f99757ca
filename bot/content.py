"""Loads questionnaires and the catalog at start-up, reporting broken files without dying."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from questionnaires.catalog import Catalog, load_catalog
from questionnaires.loader import load_folder
from questionnaires.schema import Questionnaire
from storage.catalog import ChannelRow, LifeSituationRow, ServiceRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Content:
    questionnaires: dict[str, Questionnaire]
    catalog: Catalog


def load_content(questionnaires_dir: Path, catalog_path: Path) -> Content:
    """Valid questionnaires and the catalog; a broken questionnaire file is logged and skipped.

    A broken catalog raises DefinitionError: without it no link can be understood.
    """
    result = load_folder(questionnaires_dir)
    for defect in result.defects:
        logger.error("Questionnaire skipped: %s", defect)
    catalog = load_catalog(catalog_path)
    logger.info(
        "Loaded %d questionnaire(s) and %d service(s)",
        len(result.questionnaires),
        len(catalog.services),
    )
    return Content(result.questionnaires, catalog)


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
