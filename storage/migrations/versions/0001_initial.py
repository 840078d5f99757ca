"""Initial schema: catalog, anonymous responses and answers, dedup keys, opt-ins.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Hand-checked against storage.models: every constraint and index carries the name the metadata's
naming convention gives it (op.f marks a name as final), so later migrations can drop them by
name on both backends. Values are written out, not imported from the models: a migration is a
snapshot and must not change when the models do.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; SQLite autoincrements only a column typed exactly INTEGER.
BIG_INT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # --- catalog -------------------------------------------------------------------------
    op.create_table(
        "services",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title_ru", sa.String(length=255), nullable=False),
        sa.Column("title_en", sa.String(length=255), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("officer_telegram_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "\"group\" IN ('state_service', 'appeals', 'control', 'information', 'internal')",
            name=op.f("ck_services_group"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_services")),
    )
    op.create_table(
        "channels",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title_ru", sa.String(length=255), nullable=False),
        sa.Column("title_en", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "\"kind\" IN ('online', 'in_person', 'phone', 'other')",
            name=op.f("ck_channels_kind"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_channels")),
    )
    op.create_table(
        "life_situations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title_ru", sa.String(length=255), nullable=False),
        sa.Column("title_en", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_life_situations")),
    )
    op.create_table(
        "service_life_situations",
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("life_situation_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["services.code"],
            name=op.f("fk_service_life_situations_service_code_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["life_situation_code"],
            ["life_situations.code"],
            name=op.f("fk_service_life_situations_life_situation_code_life_situations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_code", "life_situation_code", name=op.f("pk_service_life_situations")
        ),
    )
    op.create_index(
        op.f("ix_service_life_situations_life_situation_code"),
        "service_life_situations",
        ["life_situation_code"],
    )

    # --- anonymous feedback: no person, no time of day, no foreign key to the catalog ------
    op.create_table(
        "responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("channel_code", sa.String(length=64), nullable=True),
        sa.Column("life_situation_code", sa.String(length=64), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
    )
    op.create_index(op.f("ix_responses_service_code"), "responses", ["service_code"])
    op.create_index(op.f("ix_responses_channel_code"), "responses", ["channel_code"])
    op.create_index(op.f("ix_responses_life_situation_code"), "responses", ["life_situation_code"])
    op.create_index(
        op.f("ix_responses_questionnaire_id_submitted_on"),
        "responses",
        ["questionnaire_id", "submitted_on"],
    )
    op.create_table(
        "answers",
        sa.Column("id", BIG_INT_PK, autoincrement=True, nullable=False),
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("option_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.SmallInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "option_id IS NOT NULL OR number IS NOT NULL OR text IS NOT NULL",
            name=op.f("ck_answers_has_value"),
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_answers_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    op.create_index(op.f("ix_answers_response_id"), "answers", ["response_id"])
    op.create_index(op.f("ix_answers_question_id_number"), "answers", ["question_id", "number"])
    op.create_index(
        op.f("ix_answers_question_id_option_id"), "answers", ["question_id", "option_id"]
    )

    # --- service tables --------------------------------------------------------------------
    op.create_table(
        "dedup_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_dedup_keys")),
    )
    op.create_index(op.f("ix_dedup_keys_expires_on"), "dedup_keys", ["expires_on"])
    op.create_table(
        "opt_ins",
        sa.Column("id", BIG_INT_PK, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_ins")),
        sa.UniqueConstraint("chat_id", "topic", name=op.f("uq_opt_ins_chat_id_topic")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children go before the parents they reference.
    op.drop_table("opt_ins")
    op.drop_table("dedup_keys")
    op.drop_table("answers")
    op.drop_table("responses")
    op.drop_table("service_life_situations")
    op.drop_table("life_situations")
    op.drop_table("channels")
    op.drop_table("services")
