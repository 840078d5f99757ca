"""What the MAX front needs of MAX's Bot API (https://dev.max.ru/docs-api), as a port.

`max_front.client.MaxapiClient` meets it over the maxapi library; tests meet it with a
recording fake or run the real client against the emulator in `tests/maxapi/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

#: One update as MAX sends it (JSON object: `update_type`, `timestamp`, and per type
#: `message`, `callback`, `user`, `payload`, `chat_id`, `user_locale`).
Update: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Button:
    """An inline `callback` button: MAX returns `payload` in a `message_callback` update."""

    text: str
    payload: str


Keyboard: TypeAlias = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class View:
    """A message: plain text (no markup: nothing a person typed can format it) and buttons."""

    text: str
    keyboard: Keyboard = ()
    #: The text is HTML (MAX's `format: "html"`): officers' messages and broadcasts, written
    #: for Telegram's HTML; the dialog's own views stay plain.
    html: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    updates: list[Update]
    marker: int | None  # pass it to the next GET /updates: these updates are then confirmed


class MaxApiError(Exception):
    """A call MAX refused or that did not reach it (the code: HTTP status, 0 no answer).

    ``never_sent``: no connection was made, so the request provably did not reach MAX (a
    timeout or a dropped connection may come after MAX acted on it)."""

    def __init__(self, code: int, description: str = "", *, never_sent: bool = False) -> None:
        super().__init__(f"MAX API error {code}: {description}")
        self.code = code
        self.description = description
        self.never_sent = never_sent


class MaxApi(Protocol):
    async def me(self) -> Update: ...

    async def updates(self, marker: int | None, wait_seconds: int) -> Batch: ...

    async def send(self, user_id: int, view: View) -> str:
        """POST /messages?user_id=…; the new message's id (`body.mid`)."""

    async def remove_keyboard(self, message_id: str) -> None:
        """PUT /messages?message_id=… with an empty `attachments` and no text: the text
        stays, the buttons go."""

    async def answer(
        self, callback_id: str, *, view: View | None = None, notification: str | None = None
    ) -> None:
        """POST /answers?callback_id=…: a notification, or `view` replacing the pressed
        message (MAX's way to edit in place while answering)."""

    async def send_file(self, user_id: int, name: str, data: bytes, caption: str) -> str:
        """POST /uploads?type=file, the bytes to the URL it gives, then POST /messages with
        the `file` attachment's token and ``caption`` (HTML) as the text."""

    async def download(self, url: str, limit: int) -> bytes:
        """GET a file a person sent (its attachment's `payload.url`); MaxApiError(413) when
        it is longer than ``limit`` bytes (nothing more is read)."""

    async def close(self) -> None: ...


#: ``MaxApi.download``'s shape: a URL and a limit in bytes.
Download: TypeAlias = Callable[[str, int], Awaitable[bytes]]


@dataclass(slots=True)
class OnceDownloaded:
    """One message's file fetched once for every check that wants it (the pain map sheet,
    then the appeals register): fetched up to ``limit`` bytes, the largest any check takes,
    and served to each check within its own limit (MaxApiError(413) beyond it, as MAX's).
    A failed fetch is not tried again for the next check: it gets the same error."""

    fetch: Download
    limit: int
    _got: dict[str, bytes | MaxApiError] = field(default_factory=dict)

    async def download(self, url: str, limit: int) -> bytes:
        got = self._got.get(url)
        if got is None:
            try:
                got = await self.fetch(url, max(limit, self.limit))
            except MaxApiError as error:
                got = error
            self._got[url] = got
        if isinstance(got, MaxApiError):
            raise MaxApiError(got.code, got.description, never_sent=got.never_sent)
        if len(got) > limit:
            raise MaxApiError(413, "file too big")
        return got
