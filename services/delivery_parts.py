"""The messages of one delivery, each sent once: a delivery split into several messages (a
report's texts and charts, its workbook, the Appendix 2 document, a long negative batch) claims
every part apart in the delivery ledger, so a retry after a failed later part sends only what is
still missing (review: the first parts reached the officer again on every retry)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final, Protocol

from storage.deliveries import SENT

#: The ledger's key column holds 64 characters; a longer delivery key is shortened by digest.
KEY_LENGTH: Final = 64


class PartLedger(Protocol):
    """The claims of the delivery ledger (storage.deliveries.DeliveryStore)."""

    async def claim(
        self, kind: str, period_key: str, recipient: int, now: datetime, due_at: datetime
    ) -> bool: ...

    async def finish(
        self, kind: str, period_key: str, recipient: int, now: datetime, *, ok: bool
    ) -> None: ...

    async def status(self, kind: str, period_key: str, recipient: int) -> str | None: ...


class PartInFlight(RuntimeError):
    """A part is claimed by a run that may have died: the delivery is tried again later (the
    ledger hands a stale claim out again)."""


def part_key(key: str, index: int) -> str:
    """The ledger key of the part ``index`` of the delivery ``key``."""
    suffix = f"#{index}"
    if len(key) + len(suffix) > KEY_LENGTH:
        key = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return key + suffix


async def send_part(
    ledger: PartLedger,
    kind: str,
    key: str,
    recipient: int,
    now: datetime,
    send: Callable[[], Awaitable[None]],
) -> bool:
    """Send one part unless it was sent already; True when it went out now."""
    if not await ledger.claim(kind, key, recipient, now, now):
        if await ledger.status(kind, key, recipient) == SENT:
            return False
        raise PartInFlight(f"{kind} {key} is being sent")
    sent = False
    try:
        await send()
        sent = True
    finally:
        await ledger.finish(kind, key, recipient, now, ok=sent)
    return True


class PartOutbox(Protocol):
    """How reports reach an officer's chat (scheduler.deliveries.OfficerOutbox)."""

    async def text(self, chat_id: int, html: str) -> None: ...

    async def photo(self, chat_id: int, name: str, png: bytes) -> None: ...

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None: ...


class OncePerPart:
    """An outbox for one delivery: its n-th message is the part n, claimed before it is sent.

    The parts of a delivery of a closed period come in the same order on every attempt, so the
    n-th message of a retry is the one the failed attempt numbered n.
    """

    def __init__(
        self, outbox: PartOutbox, ledger: PartLedger, *, kind: str, key: str, now: datetime
    ) -> None:
        self._outbox = outbox
        self._ledger = ledger
        self._kind = kind
        self._key = key
        self._now = now
        self._next = 0

    async def _once(self, chat_id: int, send: Callable[[], Awaitable[None]]) -> None:
        index, self._next = self._next, self._next + 1
        key = part_key(self._key, index)
        await send_part(self._ledger, self._kind, key, chat_id, self._now, send)

    async def text(self, chat_id: int, html: str) -> None:
        await self._once(chat_id, lambda: self._outbox.text(chat_id, html))

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        await self._once(chat_id, lambda: self._outbox.photo(chat_id, name, png))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        await self._once(chat_id, lambda: self._outbox.document(chat_id, name, data, caption))
