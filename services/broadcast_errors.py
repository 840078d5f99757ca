"""The broadcast feature's errors, apart from the broadcaster (services.broadcast), which is
built on Telegram's error codes: a use case that only catches them (poll windows) imports no
messenger through them."""

from __future__ import annotations

from questionnaires.errors import OtklikError


class BroadcastError(OtklikError):
    """Base of the broadcast feature's errors."""


class BroadcastNotFoundError(BroadcastError, LookupError):
    """No broadcast with that id."""


class BroadcastAlreadyRunningError(BroadcastError):
    """The broadcast is being run by this broadcaster already."""


class BroadcastAbortedError(BroadcastError):
    """The run stopped early; unsent rows stay pending for the next run."""
