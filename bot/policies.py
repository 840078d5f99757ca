"""Policies built once from settings, shared by the bot process and the command line."""

from __future__ import annotations

from bot.settings import Settings
from reports.disclosure import DisclosurePolicy


def disclosure_policy(settings: Settings) -> DisclosurePolicy:
    """The one disclosure policy every officer output goes through (docs/anonymity.md)."""
    return DisclosurePolicy(
        min_group=settings.privacy.min_group_size,
        min_comment_group=settings.privacy.min_group_size,
        min_comment_group_staff=settings.privacy.min_comment_group_size_staff,
        weekly=settings.reports.weekly_figures,
    )
