"""The language each officer's chat reads its deliveries in (issue 12, item 2)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import Base

#: questionnaires.messengers.Messenger: "telegram", "max" (as storage.models.MESSENGER_LENGTH).
_MESSENGER_LENGTH = 8


class OfficerLanguage(Base):
    """An officer's chat and its language; officers only (configured ids, not anonymous),
    never a citizen or a staff respondent (services.officer_languages checks the id first).

    No date and no order: nothing here is near an answer.
    """

    __tablename__ = "officer_languages"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # "telegram" or "max" with that messenger's own id, as in opt_ins (revision 0029).
    messenger: Mapped[str] = mapped_column(String(_MESSENGER_LENGTH), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(2))  # questionnaires.schema.Language: ru | en
    # Set by /language: the messenger's reported language no longer changes it.
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
