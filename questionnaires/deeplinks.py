"""Deep-link payloads `<service>_<channel>[_<life situation>]`: encode, decode, list, link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from questionnaires.catalog import (
    CODE_PATTERN,
    MAX_PAYLOAD_LENGTH,
    PAYLOAD_SEPARATOR,
    Catalog,
)

# Telegram accepts only these characters in a start payload (and at most 64 of them).
_PAYLOAD_RE: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_PAYLOAD_LENGTH}}}")
_CODE_RE: Final = re.compile(CODE_PATTERN)
# Telegram usernames are latin letters, digits and '_'; anything else (a space, a pasted URL)
# is a configuration mistake better reported than turned into a dead link.
_USERNAME_RE: Final = re.compile(r"[A-Za-z0-9_]{1,32}")


@dataclass(frozen=True)
class LinkTarget:
    """What a feedback link points at: a service, the channel it was received through, and
    optionally the life situation that brought the client."""

    service: str
    channel: str
    life_situation: str | None = None


def encode_payload(target: LinkTarget) -> str:
    """The start payload of a target; ValueError if a code is invalid or it would not fit."""
    codes = [target.service, target.channel]
    if target.life_situation is not None:
        codes.append(target.life_situation)
    for code in codes:
        if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
            raise ValueError(
                f"{code!r} is not a valid code: lowercase latin letters, digits and inner '-', "
                "at most 20 characters"
            )
    payload = PAYLOAD_SEPARATOR.join(codes)
    if len(payload) > MAX_PAYLOAD_LENGTH:  # cannot happen with valid codes; kept as a guard
        raise ValueError(f"payload {payload!r} is longer than {MAX_PAYLOAD_LENGTH} characters")
    return payload


def decode_payload(payload: str, catalog: Catalog) -> LinkTarget | None:
    """The target a payload names in this catalog, or None for anything unknown or malformed.

    Never raises. Codes must match exactly (they are lowercase; Telegram passes the payload
    through unchanged). A life situation is accepted only if it is in the catalog and, when the
    service lists life situations, only if it is one of them: a link pairing a service with an
    unrelated situation would put answers in a group no report expects. A service that lists
    none accepts any catalog life situation, since the body simply has not mapped it yet.
    """
    if not isinstance(payload, str) or not _PAYLOAD_RE.fullmatch(payload):
        return None
    parts = payload.split(PAYLOAD_SEPARATOR)
    if len(parts) not in (2, 3):
        return None
    service = catalog.service(parts[0])
    channel = catalog.channel(parts[1])
    if service is None or channel is None:
        return None
    if len(parts) == 2:
        return LinkTarget(service.code, channel.code)
    situation = catalog.life_situation(parts[2])
    if situation is None:
        return None
    if service.life_situations and situation.code not in service.life_situations:
        return None
    return LinkTarget(service.code, channel.code, situation.code)


def start_link(bot_username: str, payload: str) -> str:
    """`https://t.me/<bot>?start=<payload>`; a leading '@' is dropped, ValueError if invalid."""
    username = bot_username.strip().removeprefix("@")
    if not _USERNAME_RE.fullmatch(username):
        raise ValueError(
            f"{bot_username!r} is not a Telegram username (latin letters, digits and '_')"
        )
    if not _PAYLOAD_RE.fullmatch(payload):
        raise ValueError(
            f"{payload!r} is not a start payload: 1–{MAX_PAYLOAD_LENGTH} characters of A-Za-z0-9_-"
        )
    return f"https://t.me/{username}?start={payload}"


# MAX bot names in links: latin letters, digits, '_', '.', '-' (a space, '@' or a pasted URL
# is a configuration mistake, reported rather than turned into a dead link).
_MAX_NAME_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_max_bot_name(name: str) -> bool:
    """Whether ``name`` can stand in MAX's bot links (latin letters, digits, _ . -)."""
    return _MAX_NAME_RE.fullmatch(name) is not None


def max_start_link(bot_name: str, payload: str) -> str:
    """`https://max.ru/<bot_name>?start=<payload>`: MAX's deep link to a bot with a start
    payload (dev.max.ru/help/deeplinks: up to 128 characters; ours are at most 64)."""
    if not _MAX_NAME_RE.fullmatch(bot_name):
        raise ValueError(f"{bot_name!r} is not a MAX bot name (latin letters, digits, _ . -)")
    if not _PAYLOAD_RE.fullmatch(payload):
        raise ValueError(
            f"{payload!r} is not a start payload: 1–{MAX_PAYLOAD_LENGTH} characters of A-Za-z0-9_-"
        )
    return f"https://max.ru/{bot_name}?start={payload}"


#: The catalog channel of the body's website: its QR posters lead to the web form, and answers
#: given through the web form without a link are recorded under it.
SITE_CHANNEL: Final = "site"


def web_link(public_url: str, payload: str) -> str:
    """`<public_url>/r/<payload>`: the web form of a target; ValueError if invalid."""
    if not public_url.startswith(("http://", "https://")):
        raise ValueError(f"{public_url!r} is not an http:// or https:// address")
    if not _PAYLOAD_RE.fullmatch(payload):
        raise ValueError(
            f"{payload!r} is not a start payload: 1–{MAX_PAYLOAD_LENGTH} characters of A-Za-z0-9_-"
        )
    return f"{public_url.rstrip('/')}/r/{payload}"


def all_targets(catalog: Catalog, *, with_life_situations: bool = False) -> list[LinkTarget]:
    """Every service × channel in catalog order.

    With life situations, each service × channel is followed by one target per life situation
    the service lists, so the plain link stays available for every pair.
    """
    targets: list[LinkTarget] = []
    for service in catalog.services:
        for channel in catalog.channels:
            targets.append(LinkTarget(service.code, channel.code))
            if with_life_situations:
                targets.extend(
                    LinkTarget(service.code, channel.code, situation)
                    for situation in service.life_situations
                )
    return targets
