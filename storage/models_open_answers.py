"""Officers' re-tagging of open answers (Procedure §3.4, §4.4): which categories an answer is
counted in when an officer corrected the keyword rules. Nothing about the person, the officer
or the moment."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import Base

CATEGORY_LENGTH = 32  # questionnaires.schema.Identifier


class OpenAnswerTag(Base):
    """One category an officer gave an open answer; an answer with rows here is counted in
    exactly those categories instead of the ones its keywords give.

    Keyed by the answer's random id (no rowid on SQLite, so file order says nothing about when
    an officer pressed a button); a deleted answer takes its tags with it.
    """

    __tablename__ = "open_answer_tags"
    __table_args__ = ({"sqlite_with_rowid": False},)

    answer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(CATEGORY_LENGTH), primary_key=True)
