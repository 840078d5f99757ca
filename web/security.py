"""Signed tokens, the browser cookie, CSRF and the in-memory rate limit of the web front.

Nothing here keeps an address or a user agent: the browser is known only by a random cookie,
and what reaches a service is a keyed hash of it. Tokens are signed with stdlib HMAC (no new
dependency): ``base64(json) "." base64(hmac)``, the purpose inside the signed text so a token
made for one use is refused for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

#: The browser cookie: 32 random bytes, URL-safe base64 without padding.
BROWSER_COOKIE: Final = "otklik_b"
_BROWSER_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}")


class BadToken(Exception):
    """A form token that is forged, made for something else, or too old."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "forged" | "expired"


#: Compact JSON, built once (json.dumps with separators makes a new encoder on every call).
_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """Signs small JSON values with a key derived for the web front from the pepper."""

    key: bytes
    clock: Callable[[], float] = time.time

    def sign(self, purpose: str, value: dict[str, Any]) -> str:
        body = _b64(_JSON.encode({"p": purpose, "t": int(self.clock()), "v": value}).encode())
        return f"{body}.{self._mac(body)}"

    def unsign(self, purpose: str, token: str, max_age: float) -> dict[str, Any]:
        """The signed value; BadToken("forged") or BadToken("expired")."""
        body, dot, mac = token.partition(".")
        if not dot or len(token) > 8192 or not hmac.compare_digest(mac, self._mac(body)):
            raise BadToken("forged")
        try:
            data = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            raise BadToken("forged") from None
        if not isinstance(data, dict) or data.get("p") != purpose:
            raise BadToken("forged")
        issued = data.get("t")
        value = data.get("v")
        if not isinstance(issued, int) or not isinstance(value, dict):
            raise BadToken("forged")
        if not 0 <= self.clock() - issued <= max_age:
            raise BadToken("expired")
        return value

    def digest(self, *parts: str) -> bytes:
        """A keyed hash of the parts (person keys, CSRF tokens)."""
        # hmac.digest is OpenSSL's one-shot path: the same bytes as hmac.new(...).digest().
        return hmac.digest(self.key, "\x1f".join(parts).encode(), "sha256")

    def _mac(self, body: str) -> str:
        return _b64(self.digest("sig", body)[:18])


def web_key(pepper: bytes) -> bytes:
    """The web front's own key: derived, so a web token never verifies as anything else."""
    return hmac.new(pepper, b"otklik web front", hashlib.sha256).digest()


def new_browser_id() -> str:
    return _b64(secrets.token_bytes(32))


def valid_browser_id(value: str | None) -> str | None:
    return value if value is not None and _BROWSER_RE.fullmatch(value) else None


def person_of(signer: Signer, browser_id: str) -> int:
    """The person a browser stands for in the services: a negative 63-bit keyed hash, so it
    never equals a Telegram id (always positive) and never holds the cookie itself."""
    value = int.from_bytes(signer.digest("person", browser_id)[:8], "big") >> 1
    return -value - 1


def csrf_token(signer: Signer, browser_id: str) -> str:
    """The CSRF token of a browser: only a page this server drew for that cookie carries it."""
    return _b64(signer.digest("csrf", browser_id)[:18])


def csrf_valid(signer: Signer, browser_id: str, token: str) -> bool:
    return hmac.compare_digest(token.encode(), csrf_token(signer, browser_id).encode())


@dataclass
class RateLimiter:
    """At most ``limit`` requests per ``window`` seconds for each address, in memory only.

    Addresses are kept as keyed hashes under a key made at random at start (so not even a
    memory dump names them) and forgotten when their window ends.
    """

    limit: int
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _counts: dict[bytes, tuple[float, int]] = field(default_factory=dict)
    _swept: float = 0.0

    def allow(self, address: str) -> float | None:
        """None if the request may go on, else the seconds until the address may ask again."""
        now = self.clock()
        if now - self._swept > self.window:
            self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            self._swept = now
        key = hmac.digest(self._secret, address.encode(), "sha256")[:16]
        started, count = self._counts.get(key, (now, 0))
        if now - started >= self.window:
            started, count = now, 0
        if count >= self.limit:
            return max(1.0, self.window - (now - started))
        self._counts[key] = (started, count + 1)
        return None

    def __len__(self) -> int:
        return len(self._counts)
