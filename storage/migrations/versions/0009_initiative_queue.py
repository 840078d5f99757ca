"""Initiative queue: staff feedback kept until the daily batch to the internal officers.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30

Random keys and no rowid on SQLite: neither the key nor the row order follows arrival.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "initiative_queue",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative_queue")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("initiative_queue")
