"""The pain map's stored figures go, to be recomputed with poll windows left out (review of
30 November 2026, docs/anonymity.md "Poll windows and calendar figures").

Revision ID: 0021
Revises: 0016
Create Date: 2026-11-30

Before the window repair the hourly refresh (services/painmap.py) stored n, CSAT and means per
month and quarter for each service, touchpoint and life situation from reports that pooled
poll windows' answers; today's `/report` of the same period does not, so the difference of the
two isolated a window's respondents by service. Every stored figure is removed: pain figures
and process figures (the pains themselves and the measures, officers' work, stay). The
refresh's ledger claims in ``deliveries`` are set to failed, which makes the refresh take each
of those periods again on its next tick (``PainMapService.tick`` retries failed refreshes) and
record its figures under the rule of today. Nothing to restore on the way down: the figures
removed were the ones that leaked.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: services.painmap.REFRESH_KIND (a migration does not import the services layer).
REFRESH_KIND = "painmap_refresh"


def upgrade() -> None:
    op.execute("DELETE FROM pain_figures")
    op.execute("DELETE FROM process_figures")
    op.execute(
        f"UPDATE deliveries SET status = 'failed', sent_at = NULL WHERE kind = '{REFRESH_KIND}'"
    )


def downgrade() -> None:
    """The removed figures pooled window answers: they are not brought back."""
