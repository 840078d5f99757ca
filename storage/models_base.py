"""The declarative base every model module builds on, and the column sizes they share.

Model modules import this one and never each other, so they form no import circle;
``storage.registry`` loads them all onto the one metadata.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: Constraint names are deterministic so migrations can drop or alter them on every backend.
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CODE_LENGTH: Final = 64  # a code travels in a deep-link payload, itself at most 64 characters
TITLE_LENGTH: Final = 255
#: questionnaires.fronts.Front values ("telegram", "max", "web") and the one rows older
#: than revision 0022 get.
FRONT_LENGTH: Final = 16
DEFAULT_FRONT: Final = "telegram"
DEDUP_KEY_LENGTH: Final = 64  # hex HMAC-SHA256
#: The period key of a ledger row (deliveries, negative batches); storage.deliveries.fit_key
#: shortens a longer one.
LEDGER_KEY_LENGTH: Final = 64


class Base(DeclarativeBase):
    """Declarative base holding the one metadata that migrations are compared against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
