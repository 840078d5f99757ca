"""Broadcast: broadcasts and their per-chat outbox (invitees only, nothing about answers).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Values are written out, not imported from the models (see 0001); every constraint and index
carries the name the metadata's naming convention gives it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done')", name=op.f("ck_broadcasts_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_broadcasts_kind_key")),
    )
    op.create_table(
        "broadcast_outbox",
        sa.Column("broadcast_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'unknown')",
            name=op.f("ck_broadcast_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_outbox_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "chat_id", name=op.f("pk_broadcast_outbox")),
    )
    op.create_index(
        op.f("ix_broadcast_outbox_broadcast_id_status_chat_id"),
        "broadcast_outbox",
        ["broadcast_id", "status", "chat_id"],
    )
    op.create_index(
        op.f("ix_broadcast_outbox_status_chat_id"), "broadcast_outbox", ["status", "chat_id"]
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; the outbox goes before the broadcasts it references.
    op.drop_table("broadcast_outbox")
    op.drop_table("broadcasts")
