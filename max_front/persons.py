"""A MAX user as a person of the services: a namespace of its own.

Telegram persons are Telegram ids (positive, below 2**63), web persons negative 63-bit keyed
hashes (web/security.py). A MAX person is 2**64 plus a 63-bit keyed hash of the MAX user id:
never equal to either, and the number itself does not hold the MAX id (the key is derived from
the pepper), so even a dialog-state key computed from it names nobody.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Final

from questionnaires.messengers import split

#: MAX persons start here: above every Telegram id and every web person.
MAX_PERSONS: Final = 2**64


def max_key(pepper: bytes) -> bytes:
    """The MAX front's own key, derived from the pepper."""
    return hmac.new(pepper, b"otklik max front", hashlib.sha256).digest()


def person_of(key: bytes, user_id: int) -> int:
    digest = hmac.digest(key, str(user_id).encode(), "sha256")
    return MAX_PERSONS + (int.from_bytes(digest[:8], "big") >> 1)


def chat_person(key: bytes) -> Callable[[int], int]:
    """The person behind a private chat's address (questionnaires.messengers): a Telegram
    chat is its user, a MAX chat the MAX person of its user id."""

    def person(chat: int) -> int:
        messenger, raw = split(chat)
        return person_of(key, raw) if messenger == "max" else chat

    return person
