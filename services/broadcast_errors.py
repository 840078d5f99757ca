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


#: The broadcaster's verdicts on one failed send (services.broadcast): what a messenger's
#: answer means for the row, whatever the messenger's own error vocabulary.
BLOCKED_VERDICT = "blocked"  # the person blocked the bot or is gone: never retried
FAILED_VERDICT = "failed"  # a definite refusal of this message
RETRY_VERDICT = "retry"  # provably not delivered (a server error, no connection): try again
UNKNOWN_VERDICT = "unknown"  # may have been delivered (a timeout): never re-sent
ABORT_VERDICT = "abort"  # the bot cannot send at all (token, address): the run stops
VERDICTS = frozenset(
    {BLOCKED_VERDICT, FAILED_VERDICT, RETRY_VERDICT, UNKNOWN_VERDICT, ABORT_VERDICT}
)


class DeliveryRefusedError(BroadcastError):
    """A messenger's answer to one send, translated by its port into a verdict (the MAX port
    raises it; Telegram's port raises aiogram's errors, which services.broadcast reads)."""

    def __init__(self, verdict: str, code: str = "", *, bad_request: bool = False) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        super().__init__(f"delivery {verdict} ({code})" if code else f"delivery {verdict}")
        self.verdict = verdict
        self.code = code
        #: The request itself was malformed (HTTP 400): many in a row abort the run.
        self.bad_request = bad_request


class RateLimitedError(BroadcastError):
    """The messenger asked us to slow down (HTTP 429): its broadcasts pause ``retry_after``
    seconds and the same row is tried again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after
