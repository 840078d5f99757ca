"""The MAX Bot API port over the maxapi library (https://github.com/love-apples/maxapi).

Only maxapi's HTTP client is used: its `Bot` methods (the token in the `Authorization` header,
retries of 502-504 and lost connections, typed bodies). Updates are read raw from
GET /updates and parsed by the front, and maxapi's own dispatcher is not used: the project
has its own dialog service, state storage and per-person ordering.
"""

from __future__ import annotations

import ipaddress
import socket
import warnings
from collections.abc import Sequence
from typing import Any, Final, cast
from urllib.parse import urlsplit

from aiohttp import (
    ClientConnectorError,
    ClientError,
    ClientSession,
    ClientTimeout,
    DefaultResolver,
    TCPConnector,
)
from aiohttp.abc import AbstractResolver, ResolveResult
from maxapi import Bot
from maxapi.client import DefaultConnectionProperties
from maxapi.enums.parse_mode import ParseMode
from maxapi.enums.update import UpdateType
from maxapi.enums.upload_type import UploadType
from maxapi.exceptions.max import InvalidToken, MaxConnection, MaxUploadFileFailed
from maxapi.exceptions.max import MaxApiError as LibraryApiError
from maxapi.types.attachments.attachment import ButtonsPayload
from maxapi.types.attachments.buttons.callback_button import CallbackButton
from maxapi.types.input_media import InputMediaBuffer
from maxapi.types.updates.message_callback import MessageForCallback

from max_front.api import Batch, MaxApiError, Update, View

#: A register file of up to 20 MB from MAX's file storage.
DOWNLOAD_TIMEOUT_S: Final = 120


def downloadable(url: str) -> bool:
    """An https:// URL with a host, or http:// to this machine only (the MAX emulator)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone names no host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if address.sixtofour is not None:
            return address.sixtofour  # 2002:a00:1::1 carries 10.0.0.1 (6to4)
        if address.teredo is not None:
            return address.teredo[1]  # a Teredo address carries its client's IPv4 address
    return address


def public_address(text: str) -> bool:
    """An address on the public internet: not private, loopback, link-local (the clouds'
    metadata at 169.254.169.254), shared (100.64/10), multicast, reserved or unspecified."""
    try:
        address = _address(text)
    except ValueError:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def loopback_address(text: str) -> bool:
    try:
        return _address(text).is_loopback
    except ValueError:
        return False


async def checked_addresses(url: str, resolver: AbstractResolver) -> list[ResolveResult]:
    """The addresses a file URL's host resolves to, each checked: public ones for https, this
    machine's for plain http (the emulator). MaxApiError(400) when any is not: a name of MAX's
    file storage never points inside, so one that does is refused whole."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or not downloadable(url):
        raise MaxApiError(400, "not a file URL", never_sent=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await resolver.resolve(host, port, family=socket.AF_UNSPEC)
    except OSError:
        raise MaxApiError(0, "name not resolved", never_sent=True) from None
    allowed = public_address if parts.scheme == "https" else loopback_address
    if not found or not all(allowed(result["host"]) for result in found):
        raise MaxApiError(400, "not a public address", never_sent=True)
    return found


class PinnedResolver(AbstractResolver):
    """Gives the connector the addresses already checked: no second resolution between the
    check and the connection (DNS rebinding). One session per download, which follows no
    redirect, so the one host it connects to is the URL's."""

    def __init__(self, addresses: Sequence[ResolveResult]) -> None:
        self._addresses = list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return list(self._addresses)

    async def close(self) -> None:
        return None


def _attachments(view: View) -> list[Any]:
    if not view.keyboard:
        return []  # an empty list: an edit removes the keyboard
    rows = [
        [CallbackButton(text=button.text, payload=button.payload) for button in row]
        for row in view.keyboard
    ]
    return [ButtonsPayload(buttons=cast(Any, rows)).pack()]  # type: ignore[no-untyped-call]


class MaxapiClient:
    """`max_front.api.MaxApi` on maxapi's `Bot`.

    ``retries=0`` for broadcasts and officers' messages: maxapi would repeat a request whose
    connection dropped (MAX may have delivered it) and a 502-504; the broadcaster decides
    itself what may be repeated (services.broadcast)."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        retries: int | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._resolver = resolver  # the file hosts' names (download); aiohttp's by default
        connection = None if retries is None else DefaultConnectionProperties(max_retries=retries)
        self._bot = Bot(
            token,
            auto_requests=False,
            auto_check_subscriptions=False,
            default_connection=connection,
        )
        self._bot.set_api_url(base_url)

    async def me(self) -> Update:
        me: Update = await self._call(self._raw_me())
        return me

    async def _raw_me(self) -> Update:
        user = await self._bot.get_me()
        return user.model_dump()

    async def updates(self, marker: int | None, wait_seconds: int) -> Batch:
        raw = await self._call(self._bot.get_updates(marker=marker, timeout=wait_seconds))
        updates = raw.get("updates") or []
        next_marker = raw.get("marker")
        return Batch(list(updates), int(next_marker) if next_marker is not None else marker)

    async def send(self, user_id: int, view: View) -> str:
        sent = await self._call(
            self._bot.send_message(
                user_id=user_id,
                text=view.text,
                attachments=_attachments(view),
                format=ParseMode.HTML if view.html else None,
            )
        )
        if sent is None:
            raise MaxApiError(0, "no message in the answer")
        return str(sent.message.body.mid)

    async def send_file(self, user_id: int, name: str, data: bytes, caption: str) -> str:
        media: list[Any] = [InputMediaBuffer(data, filename=name, type=UploadType.FILE)]
        sent = await self._call(
            self._bot.send_message(
                user_id=user_id, text=caption or None, attachments=media, format=ParseMode.HTML
            )
        )
        if sent is None:
            raise MaxApiError(0, "no message in the answer")
        return str(sent.message.body.mid)

    async def remove_keyboard(self, message_id: str) -> None:
        await self._call(self._bot.edit_message(message_id, attachments=[]))

    async def answer(
        self, callback_id: str, *, view: View | None = None, notification: str | None = None
    ) -> None:
        message = None
        if view is not None:
            # The new body's own format: an officer's HTML summary replaces a plain prompt.
            message = MessageForCallback(
                text=view.text,
                attachments=_attachments(view),
                format=ParseMode.HTML if view.html else None,
            )
        await self._call(
            self._bot.send_callback(callback_id, message=message, notification=notification)
        )

    async def download(self, url: str, limit: int) -> bytes:
        # A session of its own: the bot's carries the token, which a file host needs not see.
        # The URL comes in an update: https only (plain http to this machine alone, the
        # emulator), and no redirect followed (a 3xx is an error: the file is not fetched).
        # The host's addresses are resolved and checked first (public only for https: a URL
        # naming an internal host is refused) and the connection goes to those very addresses.
        if not downloadable(url):
            raise MaxApiError(400, "not a file URL", never_sent=True)
        resolver = self._resolver or DefaultResolver()
        try:
            addresses = await checked_addresses(url, resolver)
        finally:
            if self._resolver is None:
                await resolver.close()
        connector = TCPConnector(resolver=PinnedResolver(addresses), use_dns_cache=False)
        data = bytearray()
        try:
            async with (
                ClientSession(
                    connector=connector, timeout=ClientTimeout(total=DOWNLOAD_TIMEOUT_S)
                ) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    raise MaxApiError(response.status, "download")
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise MaxApiError(413, "file too big")
        except ClientError as error:
            raise MaxApiError(0, type(error).__name__) from None
        except TimeoutError:
            raise MaxApiError(0, "timeout") from None
        return bytes(data)

    async def subscribe(self, url: str, update_types: Sequence[str], secret: str) -> None:
        """POST /subscriptions with ``url``, ``update_types`` and ``secret``: MAX posts those
        updates to ``url`` with the secret in ``X-Max-Bot-Api-Secret``, and long polling stops
        working meanwhile (https://dev.max.ru/docs-api/methods/POST/subscriptions; maxapi's
        ``Bot.subscribe_webhook``). Subscribing the same URL again replaces it."""
        types = [UpdateType(kind) for kind in update_types]
        with warnings.catch_warnings():
            # maxapi warns of an http:// URL; MAX itself refuses one in production, the
            # emulator on loopback needs it.
            warnings.simplefilter("ignore")
            result = await self._call(self._bot.subscribe_webhook(url, types, secret))
        if not result.success:
            raise MaxApiError(0, "subscription refused")

    async def subscriptions(self) -> list[str]:
        """GET /subscriptions: the URLs MAX posts updates to
        (https://dev.max.ru/docs-api/methods/GET/subscriptions)."""
        found = await self._call(self._bot.get_subscriptions())
        return [subscription.url for subscription in found.subscriptions]

    async def unsubscribe(self, url: str) -> None:
        """DELETE /subscriptions?url=…: MAX stops posting there and long polling works again
        (https://dev.max.ru/docs-api/methods/DELETE/subscriptions)."""
        await self._call(self._bot.unsubscribe_webhook(url))

    async def close(self) -> None:
        await self._bot.close_session()

    @staticmethod
    async def _call(call: Any) -> Any:
        try:
            return await call
        except LibraryApiError as error:
            # Only MAX's error code ("chat.not.found"): its message could quote a user or chat.
            code = error.raw.get("code") if isinstance(error.raw, dict) else None
            raise MaxApiError(error.code, str(code or "")[:64]) from None
        except InvalidToken:
            raise MaxApiError(401, "MAX refused the token") from None
        except MaxConnection as error:
            # maxapi keeps aiohttp's error as the cause: only a connection never made proves
            # that nothing reached MAX.
            never = isinstance(error.__cause__, ClientConnectorError)
            raise MaxApiError(0, type(error).__name__, never_sent=never) from None
        except TimeoutError:
            raise MaxApiError(0, "timeout") from None
        except MaxUploadFileFailed:
            # The upload itself failed: no message was sent.
            raise MaxApiError(0, "upload failed", never_sent=True) from None
