"""Campaigns: poll windows, enrolled staff, invite codes, publications; window and department on
responses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Values are written out, not imported from the models (see 0001); every constraint and index
carries the name the metadata's naming convention gives it. SQLite cannot add an index or drop
a column of ``responses`` in place, so those go through a batch operation.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poll_windows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_done", sa.SmallInteger(), nullable=False),
        sa.Column("results_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('scheduled', 'open', 'closed')", name=op.f("ck_poll_windows_status")
        ),
        sa.CheckConstraint(
            "origin IN ('schedule', 'officer')", name=op.f("ck_poll_windows_origin")
        ),
        sa.CheckConstraint(
            "audience IN ('external', 'staff')", name=op.f("ck_poll_windows_audience")
        ),
        sa.CheckConstraint("closes_on >= opens_on", name=op.f("ck_poll_windows_span")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_windows")),
        sa.UniqueConstraint(
            "campaign_id", "opens_on", name=op.f("uq_poll_windows_campaign_id_opens_on")
        ),
    )
    op.create_table(
        "staff_members",
        sa.Column("member_key", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_key", name=op.f("pk_staff_members")),
    )
    op.create_table(
        "invite_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invite_codes")),
    )
    op.create_table(
        "publications",
        sa.Column("window_id", sa.BigInteger(), nullable=False),
        sa.Column("text_html", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["poll_windows.id"],
            name=op.f("fk_publications_window_id_poll_windows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("window_id", name=op.f("pk_publications")),
    )
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("window_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("department", sa.String(length=64), nullable=True))
        batch.create_index(op.f("ix_responses_window_id"), ["window_id"])


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_index(op.f("ix_responses_window_id"))
        batch.drop_column("department")
        batch.drop_column("window_id")
    # The publications reference the windows: they go first.
    op.drop_table("publications")
    op.drop_table("invite_codes")
    op.drop_table("staff_members")
    op.drop_table("poll_windows")
