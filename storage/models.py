"""SQLAlchemy models: the catalog, anonymous responses and answers, dedup keys and opt-ins."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Re-exported for the modules that import them from here, as before models_base existed.
from storage.models_base import CODE_LENGTH as CODE_LENGTH
from storage.models_base import DEDUP_KEY_LENGTH as DEDUP_KEY_LENGTH
from storage.models_base import DEFAULT_FRONT, FRONT_LENGTH
from storage.models_base import TITLE_LENGTH as TITLE_LENGTH
from storage.models_base import Base as Base
from storage.types import UtcDateTime

logger = logging.getLogger(__name__)

#: Process groups of Procedure §2.2 (external a–d, internal b).
SERVICE_GROUPS: Final = ("state_service", "appeals", "control", "information", "internal")
#: Kinds of touchpoint; questionnaires show some questions only for some kinds.
CHANNEL_KINDS: Final = ("online", "in_person", "phone", "other")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    # Quoted identifier: "group" is an SQL keyword on both backends.
    listed = ", ".join(f"'{value}'" for value in values)
    return f'"{column}" IN ({listed})'


# --- catalog ------------------------------------------------------------------------------


class Service(Base):
    """A service or process of the body (Procedure §2.2) that clients rate."""

    __tablename__ = "services"
    __table_args__ = (CheckConstraint(_in_list("group", SERVICE_GROUPS), name="group"),)

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    title_ru: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    title_en: Mapped[str | None] = mapped_column(String(TITLE_LENGTH))
    group: Mapped[str] = mapped_column(String(32))
    # The responsible officer is staff, not a respondent: naming them is the point.
    officer_telegram_id: Mapped[int | None] = mapped_column(BigInteger)


class Channel(Base):
    """A touchpoint where the interaction happened (site, office, call centre, …)."""

    __tablename__ = "channels"
    __table_args__ = (CheckConstraint(_in_list("kind", CHANNEL_KINDS), name="kind"),)

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    title_ru: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    title_en: Mapped[str | None] = mapped_column(String(TITLE_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))


class LifeSituation(Base):
    """A life situation that makes a client need one or more services (Concept §1.2.3)."""

    __tablename__ = "life_situations"

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    title_ru: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    title_en: Mapped[str | None] = mapped_column(String(TITLE_LENGTH))


class ServiceLifeSituation(Base):
    """Link: which services a life situation involves."""

    __tablename__ = "service_life_situations"

    service_code: Mapped[str] = mapped_column(
        ForeignKey("services.code", ondelete="CASCADE"), primary_key=True
    )
    life_situation_code: Mapped[str] = mapped_column(
        ForeignKey("life_situations.code", ondelete="CASCADE"), primary_key=True, index=True
    )


# --- anonymous feedback -------------------------------------------------------------------


class Response(Base):
    """One completed questionnaire: what was answered and where, never who answered."""

    __tablename__ = "responses"
    __table_args__ = (
        Index(None, "questionnaire_id", "submitted_on"),
        # No index of a single code, nor the breakdown's of revision 0003: no query reads them
        # (revision 0036), and each one is written at every response.
        # On SQLite a table with rowids keeps them in insertion order, i.e. completion order;
        # without them the table is the B-tree of its random primary key (revision 0007).
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    questionnaire_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    questionnaire_version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(32))
    # Plain codes, no foreign keys: removing a service from the catalog must not rewrite history.
    service_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    channel_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    life_situation_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    # A day, not a moment: the time of day could be matched against office visits.
    submitted_on: Mapped[date] = mapped_column(Date)
    # The poll window (storage.models_campaigns) a deep or staff poll answer belongs to. No
    # foreign key, like the catalog codes: results outlive the windows' bookkeeping.
    window_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # A staff member's coarse department from enrollment; reports hide groups below the
    # anonymity threshold.
    department: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    # The front the dialog ran in (questionnaires.fronts.Front: telegram, max, web), like the
    # channel a property of the response; rows older than revision 0022 are Telegram's.
    front: Mapped[str] = mapped_column(
        String(FRONT_LENGTH), server_default=DEFAULT_FRONT, default=DEFAULT_FRONT
    )

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response",
        order_by="Answer.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",  # async sessions cannot lazy-load: ask for selectinload explicitly
    )


class Answer(Base):
    """One normalized answer cell of a response (see questionnaires.results.AnswerRow)."""

    __tablename__ = "answers"
    __table_args__ = (
        CheckConstraint(
            "option_id IS NOT NULL OR number IS NOT NULL OR text IS NOT NULL", name="has_value"
        ),
        # The aggregations read the reports' copy (revision 0015) or the covering index below;
        # their indexes by score and by option were dropped (revision 0036).
        {"sqlite_with_rowid": False},
    )

    # Random, like the response's id: a sequence would number answers in completion order.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    option_id: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    number: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers", lazy="raise")


# --- service tables -----------------------------------------------------------------------


class DedupKey(Base):
    """A keyed hash claiming "this person already did this" until it expires; purgeable.

    Today only poll windows' participation keys live here (storage.campaigns): they are
    written apart from the responses, in shuffled batches, and deleted when the window closes.
    """

    __tablename__ = "dedup_keys"
    __table_args__ = ({"sqlite_with_rowid": False},)

    key: Mapped[str] = mapped_column(String(DEDUP_KEY_LENGTH), primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    expires_on: Mapped[date] = mapped_column(Date, index=True)


#: questionnaires.messengers.Messenger: "telegram", "max".
MESSENGER_LENGTH: Final = 8


class OptIn(Base):
    """A chat that asked for news on a topic; deliberately unlinked from any response."""

    __tablename__ = "opt_ins"
    # No sequence and no rowid: either would number subscribers in the order they came, which
    # could be lined up with the order responses were written (revision 0007).
    __table_args__ = ({"sqlite_with_rowid": False},)

    # "telegram" or "max" (questionnaires.messengers, revision 0029): the chat id is that
    # messenger's own, so a MAX id is never read as a Telegram chat.
    messenger: Mapped[str] = mapped_column(String(MESSENGER_LENGTH), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The first day of the month the subscription came in (see storage.opt_ins).
    created_on: Mapped[date] = mapped_column(Date)


class ServiceNews(Base):
    """A chat that asked for news of one service: its own explicit choice, never inferred.

    Like ``opt_ins`` (no sequence, no rowid, written in shuffled batches with the opt-ins,
    storage.opt_ins) but with no date at all: nothing sends by it, and even a month pairs a
    subscription with the month's few ratings of a rare service (docs/anonymity.md).
    """

    __tablename__ = "service_news"
    __table_args__ = ({"sqlite_with_rowid": False},)

    messenger: Mapped[str] = mapped_column(String(MESSENGER_LENGTH), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)


FSM_KEY_LENGTH: Final = 64  # hex HMAC-SHA256 of the aiogram storage key


class FsmState(Base):
    """Dialog progress (aiogram FSM state and data) under a keyed hash, never a Telegram id."""

    __tablename__ = "fsm_states"
    __table_args__ = ({"sqlite_with_rowid": False},)

    key: Mapped[str] = mapped_column(String(FSM_KEY_LENGTH), primary_key=True)
    # Unbounded: a state name too long for a column would fail a whole group commit.
    state: Mapped[str | None] = mapped_column(String)
    data: Mapped[str] = mapped_column(Text)  # JSON object
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# --- reporting ----------------------------------------------------------------------------

#: A funnel step: "*started", "*completed", "*cancelled", or "@" + a question id.
FUNNEL_STEP_LENGTH: Final = CODE_LENGTH + 1


class FunnelCount(Base):
    """Anonymous dialog counters by start day and context: started, finished, parked where.

    ``@<question>`` rows are gauges: a dialog adds 1 where it goes and takes 1 from where it was,
    so what stays there belongs to dialogs that stopped at that question.
    """

    __tablename__ = "dialog_funnel"
    # On SQLite the table is its primary key's B-tree: a counter is read where it is found.
    __table_args__ = ({"sqlite_with_rowid": False},)

    # The primary key follows this order: day, questionnaire and step first, so the drop-off
    # query reads a period's counters already grouped by them.
    started_on: Mapped[date] = mapped_column(Date, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    step: Mapped[str] = mapped_column(String(FUNNEL_STEP_LENGTH), primary_key=True)
    # '' stands for a missing code: primary key columns cannot hold NULL.
    service_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    channel_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    # The front the dialog ran in (revision 0034): the drop-off keeps the web apart, as the
    # reports do; counters older than it are Telegram's.
    front: Mapped[str] = mapped_column(
        String(FRONT_LENGTH), primary_key=True, server_default=DEFAULT_FRONT, default=DEFAULT_FRONT
    )
    count: Mapped[int]


# Report indexes (revision 0003), declared here rather than in the classes above so that the
# reporting schema reads in one place. Chosen by measurement (bench/report_bench.py):
# - answers: one question's answer of one response, found and read from the index alone;
Index(None, Answer.question_id, Answer.response_id, Answer.number, Answer.option_id)
# - responses: the breakdown reads the copy (revision 0015), its index here was dropped (0036);
# - responses, by day: the other sections read only the period's rows, newest first if need be.
Index(
    "ix_responses_report_days",
    Response.audience,
    Response.submitted_on,
    Response.id,
    Response.questionnaire_id,
    Response.service_code,
    Response.channel_code,
    Response.life_situation_code,
)
