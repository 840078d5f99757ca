"""Officers' languages: each officer's chat (messenger and its id) with ``ru`` or ``en``,
learned from the language the messenger reports with their commands or chosen by /language,
so scheduled deliveries reach each officer in their language (issue 12, item 2).

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30

Officers are configured by id and are not anonymous; no citizen or staff respondent is ever
written here, and the table keeps no date. The downgrade drops it (deliveries go back to
Russian).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officer_languages",
        sa.Column("messenger", sa.String(length=8), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("messenger", "chat_id", name=op.f("pk_officer_languages")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("officer_languages")
