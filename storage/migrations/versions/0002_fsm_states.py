"""FSM states: dialog progress that survives a restart, keyed by an HMAC, never a Telegram id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Values are written out, not imported from the models (see 0001). ``expires_at`` is a plain
timezone-aware DateTime here: storage.types.UtcDateTime only changes how Python binds and reads
values, the DDL is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fsm_states",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm_states")),
    )
    op.create_index(op.f("ix_fsm_states_expires_at"), "fsm_states", ["expires_at"])


def downgrade() -> None:
    op.drop_table("fsm_states")
