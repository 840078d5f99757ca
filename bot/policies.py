"""Policies built once from settings, shared by the bot process and the command line."""

from __future__ import annotations

from bot.settings import Settings
from reports.disclosure import DisclosurePolicy, pool_web_with_messengers


def disclosure_policy(settings: Settings) -> DisclosurePolicy:
    """The one disclosure policy every officer output goes through (docs/anonymity.md).

    It also sets how web answers count toward the threshold for every plan of the process
    (``REPORTS__POOL_WEB_WITH_MESSENGERS``): each process building a policy builds it here.
    """
    pool_web_with_messengers(settings.reports.pool_web_with_messengers)
    return DisclosurePolicy(
        min_group=settings.privacy.min_group_size,
        min_comment_group=settings.privacy.min_group_size,
        min_comment_group_staff=settings.privacy.min_comment_group_size_staff,
        weekly=settings.reports.weekly_figures,
    )
