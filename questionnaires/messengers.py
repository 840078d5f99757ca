"""Which messenger a chat is in: one integer address per chat, never two chats alike.

Stores, broadcasts and officers' lists carry chat ids as integers. A Telegram chat id is
Telegram's own (users positive, groups negative; Telegram documents that they fit in 52 bits).
A MAX chat is addressed as ``MAX_CHATS + MAX user id``: 2**62 and above, where no Telegram id
can be, and still a BIGINT. The tables that keep subscribers (``opt_ins``, ``service_news``)
store the messenger in a column of its own and the messenger's raw id beside it
(storage.opt_ins converts); only the MAX API ever sees a raw MAX id.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Messenger = Literal["telegram", "max"]
MESSENGERS: Final[frozenset[str]] = frozenset(get_args(Messenger))
TELEGRAM: Final = "telegram"
MAX: Final = "max"

#: MAX chats' addresses start here; Telegram's ids stay below 2**52 in absolute value.
MAX_CHATS: Final = 2**62
#: Addresses stay within a signed 64-bit column.
_LIMIT: Final = 2**63


#: MAX user ids an address can hold (those below this).
MAX_USER_IDS: Final = _LIMIT - MAX_CHATS


def max_chat(user_id: int) -> int:
    """The address of a MAX user's dialog with the bot."""
    if not 0 < user_id < MAX_USER_IDS:
        raise ValueError("not a MAX user id")
    return MAX_CHATS + user_id


def messenger_of(chat: int) -> Messenger:
    return "max" if chat >= MAX_CHATS else "telegram"


def split(chat: int) -> tuple[Messenger, int]:
    """The messenger and the id that messenger knows the chat by."""
    if chat >= MAX_CHATS:
        return "max", chat - MAX_CHATS
    return "telegram", chat


def join(messenger: str, raw: int) -> int:
    """The address of a chat stored as (messenger, raw id)."""
    if messenger == MAX:
        return max_chat(raw)
    if messenger != TELEGRAM or raw >= MAX_CHATS:
        raise ValueError(f"not a chat of a known messenger: {messenger!r}")
    return raw
