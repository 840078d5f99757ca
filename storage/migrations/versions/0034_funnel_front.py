"""The drop-off counters record the front (Telegram, MAX, the web form): ``dialog_funnel.front``.

Anyone can be any number of web respondents, so the drop-off keeps the web apart as the
reports do (docs/anonymity.md, "Fake web respondents"): a front is one more key of a counter.
The counters of before were all Telegram's or MAX's dialogs or the web's; they are kept as
Telegram's (a messenger: they stay in the messengers' drop-off, as they counted before). The
table is rebuilt (the front joins the primary key, which SQLite cannot alter in place); the
downgrade sums the fronts back into one counter.

Revision ID: 0034
Revises: 0032
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("started_on", "questionnaire_id", "step", "service_code", "channel_code")


def _create(name: str, front: bool) -> None:
    op.create_table(
        name,
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=65), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        *(
            (sa.Column("front", sa.String(length=16), server_default="telegram", nullable=False),)
            if front
            else ()
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, *(("front",) if front else ()), name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )


def _swap(front: bool, copy: str) -> None:
    op.rename_table("dialog_funnel", "dialog_funnel_old")
    if op.get_bind().dialect.name == "postgresql":
        # The old key's index keeps its name across the rename: free it for the new table.
        op.execute("ALTER TABLE dialog_funnel_old RENAME CONSTRAINT pk_dialog_funnel TO pk_old")
    _create("dialog_funnel", front)
    op.execute(copy)
    op.drop_table("dialog_funnel_old")


def upgrade() -> None:
    columns = ", ".join((*_KEY, "count"))
    _swap(
        True,
        f"INSERT INTO dialog_funnel ({columns}, front) "
        f"SELECT {columns}, 'telegram' FROM dialog_funnel_old",
    )


def downgrade() -> None:
    key = ", ".join(_KEY)
    _swap(
        False,
        f"INSERT INTO dialog_funnel ({key}, count) "
        f"SELECT {key}, SUM(count) FROM dialog_funnel_old GROUP BY {key}",
    )
