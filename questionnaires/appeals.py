"""The appeals register's record (Procedure §3.5) as the importer checks it and the table keeps
it: the bound of a register number, shared by both."""

from __future__ import annotations

from typing import Final

REGISTER_NO_LENGTH: Final = 64
