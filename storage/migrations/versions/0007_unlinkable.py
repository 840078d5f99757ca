"""Unlinkable storage: no row order that follows completion in responses, answers, keys, opt-ins.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

- ``answers.id`` becomes a random UUID (it was a sequence numbering answers as completed);
- ``opt_ins`` loses its sequence id: the primary key is (chat_id, topic);
- ``opt_ins.created_on`` keeps the month only;
- on SQLite ``responses``, ``answers``, ``dedup_keys``, ``opt_ins`` and ``fsm_states`` become
  WITHOUT ROWID tables, stored in the order of their random or keyed primary key instead of
  rowids that follow insertion;
- the ballot-stuffing keys (scope ``rating``) leave the database: the guard now keys them with a
  secret held only in memory (services.rating_guard), so copies already on disk are deleted.

Every rebuilt table is copied out, dropped, created anew and filled back in random order, so on
PostgreSQL the heap order of existing rows no longer follows completion either. Values are written
out, not imported from the models (see 0001).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_INT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RESPONSE_COLUMNS = (
    "id, questionnaire_id, questionnaire_version, kind, audience, service_code, channel_code, "
    "life_situation_code, submitted_on, window_id, department"
)
ANSWER_VALUES = "response_id, question_id, option_id, number, text"


def _random_uuid() -> str:
    # The text SQLAlchemy's Uuid type keeps on SQLite: 32 lowercase hex digits.
    if op.get_bind().dialect.name == "sqlite":
        return "lower(hex(randomblob(16)))"
    return "gen_random_uuid()"


def _month() -> str:
    # opt_ins keeps the month only: a day would narrow a subscriber down to that day's responses.
    if op.get_bind().dialect.name == "sqlite":
        return "date(created_on, 'start of month')"
    return "CAST(date_trunc('month', created_on) AS date)"


def _copy_out(table: str) -> str:
    copy = f"_copy_0007_{table}"
    op.execute(f"CREATE TABLE {copy} AS SELECT * FROM {table}")
    return copy


def _fill(table: str, columns: str, select_list: str, copy: str) -> None:
    op.execute(
        f"INSERT INTO {table} ({columns}) SELECT {select_list} FROM {copy} ORDER BY random()"
    )
    op.drop_table(copy)


# --- definitions at 0007 ----------------------------------------------------------------------


def _responses(*, with_rowid: bool) -> None:
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
        sa.Column("window_id", sa.BigInteger(), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sqlite_with_rowid=with_rowid,
    )


def _responses_indexes() -> None:
    op.create_index(op.f("ix_responses_service_code"), "responses", ["service_code"])
    op.create_index(op.f("ix_responses_channel_code"), "responses", ["channel_code"])
    op.create_index(op.f("ix_responses_life_situation_code"), "responses", ["life_situation_code"])
    op.create_index(
        op.f("ix_responses_questionnaire_id_submitted_on"),
        "responses",
        ["questionnaire_id", "submitted_on"],
    )
    op.create_index(op.f("ix_responses_window_id"), "responses", ["window_id"])
    op.create_index(
        op.f("ix_responses_report_groups"),
        "responses",
        [
            "audience",
            "service_code",
            "channel_code",
            "life_situation_code",
            "submitted_on",
            "questionnaire_id",
            "id",
        ],
    )
    op.create_index(
        op.f("ix_responses_report_days"),
        "responses",
        [
            "audience",
            "submitted_on",
            "id",
            "questionnaire_id",
            "service_code",
            "channel_code",
            "life_situation_code",
        ],
    )


def _answers(id_column: sa.Column[object], *, with_rowid: bool) -> None:
    op.create_table(
        "answers",
        id_column,
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
        sqlite_with_rowid=with_rowid,
    )
    op.create_index(op.f("ix_answers_response_id"), "answers", ["response_id"])
    op.create_index(op.f("ix_answers_question_id_number"), "answers", ["question_id", "number"])
    op.create_index(
        op.f("ix_answers_question_id_option_id"), "answers", ["question_id", "option_id"]
    )
    op.create_index(
        op.f("ix_answers_question_id_response_id_number_option_id"),
        "answers",
        ["question_id", "response_id", "number", "option_id"],
    )


def _dedup_keys(*, with_rowid: bool) -> None:
    op.create_table(
        "dedup_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_dedup_keys")),
        sqlite_with_rowid=with_rowid,
    )
    op.create_index(op.f("ix_dedup_keys_expires_on"), "dedup_keys", ["expires_on"])


def _fsm_states(*, with_rowid: bool) -> None:
    op.create_table(
        "fsm_states",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm_states")),
        sqlite_with_rowid=with_rowid,
    )
    op.create_index(op.f("ix_fsm_states_expires_at"), "fsm_states", ["expires_at"])


def _rebuild(table: str, create: Callable[[], None], columns: str) -> None:
    copy = _copy_out(table)
    op.drop_table(table)
    create()
    _fill(table, columns, columns, copy)


# --- the steps ------------------------------------------------------------------------------


def upgrade() -> None:
    # Keys of the old ballot-stuffing guard: recomputable by anyone holding the pepper.
    op.execute("DELETE FROM dedup_keys WHERE scope = 'rating'")

    responses, answers = _copy_out("responses"), _copy_out("answers")
    op.drop_table("answers")
    op.drop_table("responses")
    _responses(with_rowid=False)
    _fill("responses", RESPONSE_COLUMNS, RESPONSE_COLUMNS, responses)
    _responses_indexes()
    _answers(sa.Column("id", sa.Uuid(), nullable=False), with_rowid=False)
    _fill("answers", f"id, {ANSWER_VALUES}", f"{_random_uuid()}, {ANSWER_VALUES}", answers)

    opt_ins = _copy_out("opt_ins")
    op.drop_table("opt_ins")
    op.create_table(
        "opt_ins",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "topic", name=op.f("pk_opt_ins")),
        sqlite_with_rowid=False,
    )
    _fill("opt_ins", "chat_id, topic, created_on", f"chat_id, topic, {_month()}", opt_ins)

    _rebuild("dedup_keys", lambda: _dedup_keys(with_rowid=False), '"key", scope, expires_on')
    _rebuild("fsm_states", lambda: _fsm_states(with_rowid=False), '"key", state, data, expires_at')


def downgrade() -> None:
    _rebuild("fsm_states", lambda: _fsm_states(with_rowid=True), '"key", state, data, expires_at')
    _rebuild("dedup_keys", lambda: _dedup_keys(with_rowid=True), '"key", scope, expires_on')

    opt_ins = _copy_out("opt_ins")
    op.drop_table("opt_ins")
    op.create_table(
        "opt_ins",
        sa.Column("id", BIG_INT_PK, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_ins")),
        sa.UniqueConstraint("chat_id", "topic", name=op.f("uq_opt_ins_chat_id_topic")),
    )
    _fill("opt_ins", "chat_id, topic, created_on", "chat_id, topic, created_on", opt_ins)

    responses, answers = _copy_out("responses"), _copy_out("answers")
    op.drop_table("answers")
    op.drop_table("responses")
    _responses(with_rowid=True)
    _fill("responses", RESPONSE_COLUMNS, RESPONSE_COLUMNS, responses)
    _responses_indexes()
    # The sequence numbers the answers afresh; the random order they get them in is all the
    # order 0007 kept.
    _answers(sa.Column("id", BIG_INT_PK, autoincrement=True, nullable=False), with_rowid=True)
    _fill("answers", ANSWER_VALUES, ANSWER_VALUES, answers)
