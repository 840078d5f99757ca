"""Which failures are outages of our storage: the person is asked to try again later.

The fronts (Telegram handlers today) must not know SQLAlchemy or the FSM storage to tell an
outage from a bug; they ask this module. Whatever was stored before the failure stays, so the
step that failed can simply be repeated.
"""

from __future__ import annotations

from storage.database import is_database_error
from storage.fsm import FsmCommitError


def is_storage_outage(error: BaseException) -> bool:
    """The database or the dialog state store failed, not the code that called them."""
    return isinstance(error, FsmCommitError) or is_database_error(error)
