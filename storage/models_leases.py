"""Leases: which process holds a role (the scheduler leader, the poller) and until when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import Base
from storage.types import UtcDateTime


class Lease(Base):
    """One row per role, e.g. ``scheduler`` or ``poller:123456``.

    ``holder`` names a process (host, pid and a random part), never a person; ``epoch`` grows at
    every change of holder, so a step-down can be told from a renewal in the logs.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    epoch: Mapped[int] = mapped_column(Integer, default=1)
