"""Loads questionnaires and the catalog at start-up, reporting broken files without dying."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from questionnaires.campaigns import CAMPAIGNS_FILE, CampaignFile, check_campaigns, load_campaigns
from questionnaires.catalog import Catalog, load_catalog
from questionnaires.errors import DefinitionError
from questionnaires.loader import LoadResult, load_folder
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

    A broken questionnaire file is logged and disabled, and so are the campaigns that poll
    with it; a broken catalog or campaigns file raises DefinitionError: without them no link or
    poll can be understood.
    """
    result = load_folder(questionnaires_dir)
    for defect in result.defects:
        logger.error("Questionnaire disabled: %s", defect)
    catalog = load_catalog(catalog_path)
    campaigns, disabled = campaigns_for(campaigns_path or CAMPAIGNS_FILE, result)
    for campaign_id, questionnaire_id in disabled:
        logger.error(
            "Campaign %s disabled: its questionnaire %s is broken", campaign_id, questionnaire_id
        )
    broken = result.broken_files
    logger.info(
        "Questionnaires: %d loaded (%s)%s; %d service(s), %d campaign(s)",
        len(result.questionnaires),
        ", ".join(sorted(result.questionnaires)) or "none",
        f", {len(broken)} file(s) disabled (see the errors above)" if broken else "",
        len(catalog.services),
        len(campaigns.campaigns),
    )
    return Content(result.questionnaires, catalog, campaigns)


def campaigns_for(path: Path, loaded: LoadResult) -> tuple[CampaignFile, list[tuple[str, str]]]:
    """The campaigns file checked against the loaded questionnaires.

    While a questionnaire file is broken, the campaigns naming a questionnaire that did not load
    are left out (returned as (campaign, questionnaire) pairs) instead of failing them all:
    the id may well be right and only its file broken.
    """
    if loaded.ok:
        return load_campaigns(path, loaded.questionnaires), []
    parsed = load_campaigns(path, None)  # structure and schedules still checked
    kept = tuple(c for c in parsed.campaigns if c.questionnaire in loaded.questionnaires)
    disabled = [(c.id, c.questionnaire) for c in parsed.campaigns if c not in kept]
    defects = check_campaigns(kept, loaded.questionnaires, str(path))
    if defects:
        raise DefinitionError(defects)
    return parsed.model_copy(update={"campaigns": kept}), disabled


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
