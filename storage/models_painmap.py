"""The pain map (Procedure §3.6–3.8, Appendix 1): pains per process, their disclosed figures per
closed period, and the measures officers take.

Pains and their figures are derived from answers that already passed the disclosure policy
(reports.disclosure): a figure hidden in the report is stored as hidden, never as a count.
Measures are officer data (text, responsible, deadline). Keys are random and the tables have no
rowid on SQLite; every date is a day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from questionnaires.measures import MEASURE_STATUSES as MEASURE_STATUSES
from questionnaires.measures import MEASURE_TEXT_LENGTH, RESPONSIBLE_LENGTH
from storage.models_base import CODE_LENGTH, Base

#: What a pain belongs to: a service or a life situation (Procedure Appendix 1 "процесс"), or
#: the internal process of staff aspects («взаимодействие с внутренним клиентом»).
PROCESS_KINDS = ("service", "life_situation", "internal")
#: Where a pain comes from: a problem option of a rating, an appeal reason of the register,
#: a staff aspect rated low.
PAIN_SOURCES = ("rating_problem", "appeal_reason", "staff_aspect")
TITLE_LENGTH = 300
SOURCE_CODE_LENGTH = 130


class Pain(Base):
    """One problem of one process; the random id is the key the workbook round trip carries.

    '' stands for "no touchpoint" (a unique key over a NULL column would not be unique).
    """

    __tablename__ = "pains"
    __table_args__ = (
        # Named: the conventional name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            "process_kind",
            "process_code",
            "touchpoint",
            "source",
            "source_code",
            name="uq_pains_process_source",
        ),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    process_kind: Mapped[str] = mapped_column(String(16))
    process_code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    touchpoint: Mapped[str] = mapped_column(String(CODE_LENGTH))
    source: Mapped[str] = mapped_column(String(16))
    source_code: Mapped[str] = mapped_column(String(SOURCE_CODE_LENGTH))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    found_on: Mapped[date] = mapped_column(Date)


class PainFigure(Base):
    """A pain's figures in one closed period, as the report disclosed them.

    ``hidden``: the report showed no figures (too few or nobody named it, or a subtraction
    would single them out); then every figure is NULL. Appeal reasons count documents:
    respondents 0 there means no appeal gave that reason in the period.
    """

    __tablename__ = "pain_figures"
    __table_args__ = ({"sqlite_with_rowid": False},)

    pain_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("pains.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[date] = mapped_column(Date, primary_key=True)
    hidden: Mapped[bool]
    respondents: Mapped[int | None] = mapped_column(Integer)
    prevalence: Mapped[float | None] = mapped_column(Float)
    mean_overall: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[float | None] = mapped_column(Float)


class ProcessFigure(Base):
    """A process's satisfaction in one closed period, as the report disclosed it (for the
    before/after comparison of measures)."""

    __tablename__ = "process_figures"
    __table_args__ = ({"sqlite_with_rowid": False},)

    process_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    process_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[date] = mapped_column(Date, primary_key=True)
    hidden: Mapped[bool]
    n: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[float | None] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)


class Measure(Base):
    """What the body does about a pain: officer data, with the day of each status change."""

    __tablename__ = "pain_measures"
    __table_args__ = (
        Index(None, "status", "deadline"),
        Index(None, "pain_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pain_id: Mapped[str] = mapped_column(String(32), ForeignKey("pains.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(MEASURE_TEXT_LENGTH))
    responsible: Mapped[str] = mapped_column(String(RESPONSIBLE_LENGTH))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    created_on: Mapped[date] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    dropped_on: Mapped[date | None] = mapped_column(Date)
