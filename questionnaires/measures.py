"""Measures of the pain map (Procedure Appendix 1): the statuses a measure moves through and the
bounds of what an officer types, shared by the service that checks them and the table that
stores them."""

from __future__ import annotations

from typing import Final

MEASURE_STATUSES: Final = ("planned", "in_progress", "done", "dropped")
MEASURE_TEXT_LENGTH: Final = 1000
RESPONSIBLE_LENGTH: Final = 200
