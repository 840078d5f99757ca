"""Chat addresses per messenger: a MAX chat never equals a Telegram chat."""

from __future__ import annotations

import pytest

from questionnaires.messengers import MAX_CHATS, join, max_chat, messenger_of, split

#: Telegram: private chats positive, supergroups -100…; all within 52 bits.
TELEGRAM_CHATS = (1, 7_123_456_789, -1_001_234_567_890, 2**52 - 1, -(2**52) + 1)


@pytest.mark.parametrize("chat", TELEGRAM_CHATS)
def test_telegram_chats_are_their_own_ids(chat: int) -> None:
    assert split(chat) == ("telegram", chat)
    assert join("telegram", chat) == chat
    assert messenger_of(chat) == "telegram"


@pytest.mark.parametrize("user", [1, 7_123_456_789, 2**62 - 1])
def test_a_max_user_is_addressed_above_every_telegram_chat_and_within_bigint(user: int) -> None:
    chat = max_chat(user)
    assert chat not in TELEGRAM_CHATS and chat >= MAX_CHATS and chat < 2**63
    assert split(chat) == ("max", user)
    assert join("max", user) == chat


@pytest.mark.parametrize("user", [0, -5, 2**62])
def test_what_is_no_max_user_id_is_refused(user: int) -> None:
    with pytest.raises(ValueError):
        max_chat(user)


def test_an_unknown_messenger_or_a_max_address_stored_as_telegram_is_refused() -> None:
    with pytest.raises(ValueError):
        join("whatsapp", 5)
    with pytest.raises(ValueError):
        join("telegram", max_chat(5))
