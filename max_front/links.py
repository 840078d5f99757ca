"""MAX's start links: the bot's public name and a payload (the `bot_started` update's payload)."""

from __future__ import annotations

from urllib.parse import quote


def start_link(bot_name: str, payload: str) -> str:
    """The link that opens the bot with `payload`, as MAX documents it
    (https://dev.max.ru/docs/chatbots/bots-coding/prepare: `https://max.ru/<botname>?start=<payload>`,
    payload up to 128 characters). The payload is a Telegram deep-link payload
    (questionnaires/deeplinks.py), A-Z a-z 0-9 _ -, so both messengers share one."""
    return f"https://max.ru/{quote(bot_name, safe='')}?start={quote(payload, safe='')}"
