"""In-process Telegram Bot API emulator (aiohttp) for end-to-end tests of aiogram bots."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, TypeVar

from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")
logger = logging.getLogger(__name__)

# aiogram sends str values verbatim and JSON-encodes everything else (ints, bools, objects), so
# free-text fields must skip json.loads: a message text "42" is not the number 42.
_TEXT_KEYS = frozenset({
    "text", "caption", "callback_query_id", "parse_mode", "action", "url", "secret_token",
    "language_code", "inline_message_id", "description", "short_description", "name", "emoji",
    "photo", "document", "sticker", "voice", "audio", "video", "animation", "file_id",
})  # fmt: skip
_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
})  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
# Methods that create or change messages: what Telegram's flood control counts.
_LIMITED = frozenset({
    "sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagecaption",
    "editmessagereplymarkup",
})  # fmt: skip


class ApiError(Exception):
    """A Bot API error answer (raised by method handlers and injected failures)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    """One multipart file part of a recorded call."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


Files = dict[str, UploadedFile]
Handler = Callable[[JSON, Files], Awaitable[Any]]


@dataclass
class Call:
    """One recorded request; status stays None while it is being answered (e.g. a long poll)."""

    seq: int
    method: str
    params: JSON
    files: Files
    at: float
    status: int | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class BotMessage:
    """Snapshot of a stored message (the Telegram JSON in `raw`)."""

    raw: JSON

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def text(self) -> str | None:
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def reply_markup(self) -> JSON | None:
        return self.raw.get("reply_markup")

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, rows flattened."""
        return [b for row in (self.reply_markup or {}).get("inline_keyboard", []) for b in row]


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    name: str
    data: bytes

    def ref(self) -> JSON:
        return {"file_id": self.file_id, "file_unique_id": self.unique_id,
                "file_size": len(self.data)}  # fmt: skip


class _Window:
    """Sliding-window limiter: `rate` events per second (one per 1/rate s when rate < 1)."""

    def __init__(self, rate: float) -> None:
        self.capacity, self.period = (int(rate), 1.0) if rate >= 1 else (1, 1 / rate)
        self.events: deque[float] = deque()

    def retry_after(self, now: float) -> int:
        while self.events and now - self.events[0] >= self.period:
            self.events.popleft()
        if len(self.events) < self.capacity:
            return 0
        return max(1, math.ceil(self.events[0] + self.period - now))


@dataclass
class _Chat:
    info: JSON
    window: _Window | None = None
    messages: dict[int, JSON] = field(default_factory=dict)
    sources: dict[int, Any] = field(default_factory=dict)  # what an edit is compared against
    next_id: int = 1
    last_bot_id: int | None = None
    reply_keyboard: JSON | None = None
    failure: ApiError | None = None

    def bot_messages(self) -> list[JSON]:
        return [m for m in self.messages.values() if m["from"]["is_bot"]]

    def keyboard_message(self) -> JSON | None:
        return next((m for m in reversed(self.bot_messages()) if m.get("reply_markup")), None)


@dataclass
class _Failure:
    method: str
    chat_id: int | None
    error: ApiError
    times: int


@dataclass
class _Hold:
    """Calls that hang until released (or the emulator closes), then fail unapplied."""

    method: str
    times: int


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> tuple[JSON, Files]:
    raw: JSON = dict(request.query)
    files: Files = {}
    if request.content_type == "application/json":
        return {**raw, **await request.json()}, files
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            raw[key] = value
    return {k: v if k in _TEXT_KEYS else _decode(v) for k, v in raw.items()}, files


def _html_to_text(source: str) -> str:
    """Plain text of Telegram-HTML, rejecting what Telegram rejects (unknown tags, bare '<')."""
    stack: list[str] = []
    parts: list[str] = []
    pos = 0
    for match in _TAG.finditer(source):
        parts.append(source[pos : match.start()])
        pos = match.end()
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in _HTML_TAGS:
            raise _bad(f'can\'t parse entities: Unsupported start tag "{tag}" '
                       f"at byte offset {len(source[: match.start()].encode())}")  # fmt: skip
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise _bad(f'can\'t parse entities: Unmatched end tag "{tag}"')
    parts.append(source[pos:])
    if stack:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag "
                   f'"{stack[-1]}"')  # fmt: skip
    text = "".join(parts)
    if "<" in text:
        raise _bad("can't parse entities: Unexpected end of name token")
    return html.unescape(text)


def _render(source: str, parse_mode: str | None, limit: int, what: str) -> str:
    text = _html_to_text(source) if (parse_mode or "").lower() == "html" else source
    if len(text) > limit:
        raise _bad(f"{what} is too long")
    return text


def _inline_markup(markup: Any) -> JSON | None:
    """Only inline keyboards are echoed back in a Message; reply keyboards stay client-side."""
    if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
        return None
    for button in (b for row in markup["inline_keyboard"] for b in row):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
    return markup


def _matches(call: Call, method: str | None, match: JSON) -> bool:
    if method is not None and call.method.lower() != method.lower():
        return False
    return all(call.params.get(key) == value for key, value in match.items())


class EmulatedUser:
    """A user in a private chat with the bot; each action queues an update for getUpdates."""

    def __init__(self, api: BotApiEmulator, info: JSON) -> None:
        self.api, self.info, self.id = api, info, int(info["id"])

    async def send_text(self, text: str) -> int:
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._send(content)

    async def send_sticker(self, emoji: str = "👍") -> int:
        ref = self.api._register_file(b"RIFF fake webp", "sticker.webp").ref()
        return await self._send({"sticker": {**ref, "type": "regular", "width": 512,
                                             "height": 512, "is_animated": False,
                                             "is_video": False, "emoji": emoji}})  # fmt: skip

    async def send_photo(self, data: bytes = b"\xff\xd8 fake jpeg", caption: str = "") -> int:
        ref = self.api._register_file(data, "photo.jpg").ref()
        photo = {"photo": [{**ref, "width": 640, "height": 480}]}
        return await self._send({**photo, "caption": caption} if caption else photo)

    async def send_voice(self, data: bytes = b"OggS fake opus", duration: int = 3) -> int:
        ref = self.api._register_file(data, "voice.oga").ref()
        return await self._send({"voice": {**ref, "duration": duration, "mime_type": "audio/ogg"}})

    async def send_document(
        self, data: bytes = b"%PDF-1.4 fake", file_name: str = "document.pdf", caption: str = ""
    ) -> int:
        ref = self.api._register_file(data, file_name).ref()
        document = {"document": {**ref, "file_name": file_name}}
        return await self._send({**document, "caption": caption} if caption else document)

    @property
    def reply_keyboard(self) -> list[str]:
        """Texts of the reply keyboard the bot last showed in this chat (press via send_text)."""
        keyboard = (self.api._chat(self.id).reply_keyboard or {}).get("keyboard", [])
        return [b if isinstance(b, str) else b["text"] for row in keyboard for b in row]

    async def last_bot_message(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """The message the bot last sent or edited here (its newest one if that was deleted)."""
        chat = self.api._chat(self.id)

        def latest() -> JSON | None:
            message = chat.messages.get(chat.last_bot_id or 0)
            return message or next(reversed(chat.bot_messages()), None)

        return BotMessage(copy.deepcopy(await self.api._wait_until(latest, timeout, "message")))

    async def click(self, text: str, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """Press the inline button whose text equals (or uniquely contains) `text`."""
        chat = self.api._chat(self.id)

        def find() -> tuple[int, str] | None:
            message = chat.keyboard_message()
            buttons = BotMessage(message).buttons if message else []
            hits = [b for b in buttons if b["text"] == text] or [
                b for b in buttons if text in b["text"]
            ]
            if len(hits) > 1:
                raise LookupError(f"{text!r} matches several buttons: {hits}")
            if not hits or message is None:
                return None  # the bot may not have answered yet: keep waiting
            if "callback_data" not in hits[0]:
                raise LookupError(f"button {hits[0]} has no callback_data")
            return int(message["message_id"]), str(hits[0]["callback_data"])

        try:
            message_id, data = await self.api._wait_until(find, timeout, f"button {text!r}")
        except TimeoutError:
            message = chat.keyboard_message()
            shown = [b["text"] for b in BotMessage(message).buttons] if message else []
            raise LookupError(f"no button {text!r} in chat {self.id}; shown: {shown}") from None
        return await self.click_data(data, message_id=message_id)

    async def click_data(self, data: str, message_id: int | None = None) -> str:
        """Queue a callback_query with `data` from any message (stale or forged clicks too)."""
        chat = self.api._chat(self.id)
        message = chat.keyboard_message() if message_id is None else chat.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} with a keyboard in chat {self.id}")
        query_id = str(next(self.api._ids) + 10**15)
        self.api._open_callbacks.add(query_id)
        await self.api._push_update("callback_query", {
            "id": query_id, "from": self.info, "chat_instance": f"ci{self.id}",
            "message": message, "data": data,
        })  # fmt: skip
        return query_id

    async def _send(self, content: JSON) -> int:
        message = self.api._store(self.api._chat(self.id), self.info, content)
        await self.api._push_update("message", message)
        return int(message["message_id"])


class BotApiEmulator:
    """Bot API server on 127.0.0.1 for aiogram's AiohttpSession (TelegramAPIServer.from_base)."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "otklik_test_bot",
        bot_name: str = "Otklik Test",
        rate_limit_per_chat: float | None = None,
        rate_limit_global: float | None = None,
    ) -> None:
        self.token = token
        self.bot_user: JSON = {"id": int(token.split(":")[0]), "is_bot": True,
                               "first_name": bot_name, "username": bot_username}  # fmt: skip
        self.requests: list[Call] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope type, language) → list
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook_url = ""
        self.base_url = ""
        self._chat_rate = rate_limit_per_chat
        self._global = _Window(rate_limit_global) if rate_limit_global else None
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _StoredFile] = {}
        self._updates: list[JSON] = []
        self._allowed: set[str] | None = None
        self._failures: list[_Failure] = []
        self._holds: list[_Hold] = []
        self._open_callbacks: set[str] = set()
        self._hanging: set[int] = set()
        self._release = asyncio.Event()
        self._consumed: set[int] = set()
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._closing = False
        self._changed = asyncio.Condition()  # notified on every state change; all waits use it
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._offline = False
        handlers: dict[str, Handler] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info, "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands, "getMyCommands": self._get_my_commands,
            "setChatMenuButton": self._set_chat_menu_button, "sendMessage": self._send_message,
            "editMessageText": lambda p, f: self._edit(p, "text"),
            "editMessageCaption": lambda p, f: self._edit(p, "caption"),
            "editMessageReplyMarkup": lambda p, f: self._edit(p, None),
            "deleteMessage": self._delete_message, "sendPhoto": self._send_photo,
            "sendDocument": self._send_document, "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query, "getFile": self._get_file,
            "close": self._true, "logOut": self._true,
        }  # fmt: skip
        # Telegram method names are case-insensitive; records use the canonical spelling.
        self._methods = {name.lower(): (name, fn) for name, fn in handlers.items()}

    async def __aenter__(self) -> BotApiEmulator:
        app = web.Application(client_max_size=64 * 2**20)  # room for Telegram's 50 MB uploads
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation ends a server-side long poll when aiogram drops the connection.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await self._site.start()
        host, port = self._runner.addresses[0][:2]
        self.host, self.port = str(host), int(port)
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self.release_held()
        await self._notify()  # release pending long polls so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- test-facing API -------------------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str = "User",
        *,
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> EmulatedUser:
        extra = {"last_name": last_name, "username": username}
        extra = {k: v for k, v in extra.items() if v is not None}
        chat = self._chat(id)
        chat.info = {"id": id, "type": "private", "first_name": first_name, **extra}
        info = {"id": id, "is_bot": False, "first_name": first_name, **extra}
        if language_code:
            info["language_code"] = language_code
        return EmulatedUser(self, info)

    def calls(self, method: str | None = None, **match: Any) -> list[Call]:
        return [call for call in self.requests if _matches(call, method, match)]

    async def wait_for_request(
        self,
        method: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        ok: bool | None = True,
        **match: Any,
    ) -> Call:
        """Oldest matching call no earlier wait returned; ok=None also takes failed/in-flight."""

        def find() -> Call | None:
            for call in self.requests:
                outcome_fits = ok is None or (call.status is not None and call.ok == ok)
                if (
                    call.seq not in self._consumed
                    and outcome_fits
                    and _matches(call, method, match)
                ):
                    self._consumed.add(call.seq)
                    return call
            return None

        return await self._wait_until(find, timeout, f"{method} call matching {match}")

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (optionally to one chat) with an error."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        default = {429: f"Too Many Requests: retry after {retry_after}", 400: "Bad Request",
                   403: "Forbidden", 500: "Internal Server Error"}  # fmt: skip
        error = ApiError(error_code, description or default.get(error_code, "Error"), retry_after)
        self._failures.append(_Failure(method.lower(), chat_id, error, times))

    async def go_offline(self) -> None:
        """Telegram unreachable: new connections are refused, and a call arriving or finishing
        on a connection already open is cut without an answer (no HTTP status at all)."""
        self._offline = True
        if self._site is not None:
            await self._site.stop()
            self._site = None
        await self._notify()  # long polls waiting for updates end now, and are cut

    async def go_online(self) -> None:
        """Telegram reachable again, on the same address."""
        self._offline = False
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()

    def clear_failures(self) -> None:
        """Forget every failure injected with `fail_next` that has not happened yet."""
        self._failures.clear()

    def hold_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` hang, unapplied, until `release_held()`; then
        they fail with 500. A process killed meanwhile never learns what became of them."""
        self._holds.append(_Hold(method.lower(), times))

    def release_held(self) -> None:
        """Let every hanging call fail now; later holds wait for the next release."""
        self._release.set()
        self._release = asyncio.Event()

    def held(self, method: str) -> list[Call]:
        """Calls of `method` still hanging (sent, never answered)."""
        return [c for c in self.calls(method) if c.status is None and c.seq in self._hanging]

    def fail_for_chat(
        self,
        chat_id: int,
        error_code: int = 403,
        description: str = "Forbidden: bot was blocked by the user",
    ) -> None:
        """Every call addressed to `chat_id` fails from now on (until `unblock`)."""
        self._chat(chat_id).failure = ApiError(error_code, description)

    def unblock(self, chat_id: int) -> None:
        self._chat(chat_id).failure = None

    def history(self, chat_id: int) -> list[BotMessage]:
        return [BotMessage(copy.deepcopy(m)) for m in self._chat(chat_id).messages.values()]

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    @property
    def open_callbacks(self) -> frozenset[str]:
        """Callback queries delivered to the bot and not answered yet."""
        return frozenset(self._open_callbacks)

    def take_updates(self) -> list[JSON]:
        """Remove and return the queued updates: a test delivers them to a webhook itself."""
        taken, self._updates = self._updates, []
        return taken

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ---- state helpers ---------------------------------------------------------------------

    def _chat(self, chat_id: int) -> _Chat:
        # Unknown private chats appear on first use, so broadcasts to bare ids need no setup.
        if chat_id not in self._chats:
            info = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            window = _Window(self._chat_rate) if self._chat_rate else None
            self._chats[chat_id] = _Chat(info, window)
        return self._chats[chat_id]

    def _target(self, params: JSON) -> _Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        return self._chat(chat_id)

    def _store(self, chat: _Chat, sender: JSON, content: JSON) -> JSON:
        message = {"message_id": chat.next_id, "date": int(time.time()),
                   "chat": dict(chat.info), "from": sender, **content}  # fmt: skip
        chat.messages[chat.next_id] = message
        chat.next_id += 1
        return message

    def _register_file(self, data: bytes, name: str) -> _StoredFile:
        n = next(self._ids)
        path = f"files/file_{n}{PurePosixPath(name).suffix}"
        self._files[f"file{n}"] = _StoredFile(f"file{n}", f"u{n}", path, name, data)
        return self._files[f"file{n}"]

    async def _push_update(self, kind: str, payload: JSON) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: copy.deepcopy(payload)})
        await self._notify()

    def _deliverable(self) -> list[JSON]:
        allowed = self._allowed
        return [u for u in self._updates if allowed is None or allowed & u.keys()]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(self, probe: Callable[[], T | None], seconds: float, what: str) -> T:
        try:
            async with self._changed, asyncio.timeout(seconds):
                result = await self._changed.wait_for(probe)
        except TimeoutError:
            raise TimeoutError(f"no {what} within {seconds}s") from None
        assert result is not None
        return result

    # ---- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        if self._offline:
            return self._cut(request)
        name = request.match_info["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        params, files = await _read_params(request)
        call = Call(len(self.requests), canonical, params, files, time.monotonic())
        self.requests.append(call)
        await self._notify()
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            await self._hold(call)
            self._check_failures(call)
            call.result = await handler(params, files)
            call.status, body = 200, {"ok": True, "result": call.result}
        except ApiError as error:
            call.status, body = error.code, error.body()
        except Exception as error:  # an emulator bug: answer JSON so the bot side stays sane
            logger.exception("emulator failed on %s", canonical)
            call.status, body = 500, ApiError(500, f"Internal Server Error: {error!r}").body()
        await self._notify()
        if self._offline:  # e.g. a long poll that was waiting when Telegram went away
            call.status = None
            return self._cut(request)
        return web.json_response(body, status=call.status)

    @staticmethod
    def _cut(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)  # never reaches the client: the connection is gone

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.data)

    async def _hold(self, call: Call) -> None:
        hold = next((h for h in self._holds if h.method == call.method.lower()), None)
        if hold is None:
            return
        hold.times -= 1
        if hold.times <= 0:
            self._holds.remove(hold)
        self._hanging.add(call.seq)
        released = self._release
        await self._notify()
        try:
            await released.wait()
        finally:
            self._hanging.discard(call.seq)
        raise ApiError(500, "Internal Server Error")

    def _check_failures(self, call: Call) -> None:
        chat_id = call.params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None and chat.failure is not None:
            raise chat.failure
        for failure in self._failures:
            if failure.method == call.method.lower() and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                raise failure.error
        if call.method.lower() not in _LIMITED:
            return
        now = time.monotonic()
        per_chat = self._chat(chat_id).window if isinstance(chat_id, int) else None
        windows = [w for w in (self._global, per_chat) if w is not None]
        if wait := max((w.retry_after(now) for w in windows), default=0):
            raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)
        for window in windows:  # only accepted calls use up the quota
            window.events.append(now)

    # ---- Bot API methods -------------------------------------------------------------------

    async def _true(self, p: JSON, files: Files) -> bool:
        return True

    async def _get_me(self, p: JSON, files: Files) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}  # fmt: skip

    async def _get_updates(self, p: JSON, files: Files) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        self._poll_generation += 1
        generation = self._poll_generation
        if (offset := int(p.get("offset", 0))) > 0:  # confirms every update below offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if "allowed_updates" in p:  # Telegram remembers the last list; [] means "all"
            self._allowed = set(p["allowed_updates"]) or None
        await self._notify()  # an older poll still waiting now ends with 409, as on Telegram

        def ready() -> bool:
            stale = generation != self._poll_generation
            return self._closing or self._offline or stale or bool(self._deliverable())

        with contextlib.suppress(TimeoutError):
            await self._wait_until(ready, float(p.get("timeout", 0)), "update")
        if self._offline:
            return []  # cut by _handle: the poller never learns of it
        if generation != self._poll_generation:
            raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                "make sure that only one bot instance is running")  # fmt: skip
        return self._deliverable()[: max(1, min(100, int(p.get("limit", 100))))]

    async def _set_webhook(self, p: JSON, files: Files) -> bool:
        self.webhook_url = str(p.get("url", ""))
        return True

    async def _delete_webhook(self, p: JSON, files: Files) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: JSON, files: Files) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip

    @staticmethod
    def _scope(p: JSON) -> tuple[str, str]:
        return (p.get("scope") or {}).get("type", "default"), str(p.get("language_code", ""))

    async def _set_my_commands(self, p: JSON, files: Files) -> bool:
        self.commands[self._scope(p)] = list(p.get("commands", []))
        return True

    async def _delete_my_commands(self, p: JSON, files: Files) -> bool:
        self.commands.pop(self._scope(p), None)
        return True

    async def _get_my_commands(self, p: JSON, files: Files) -> list[JSON]:
        return self.commands.get(self._scope(p), [])

    async def _set_chat_menu_button(self, p: JSON, files: Files) -> bool:
        self.menu_buttons[p.get("chat_id")] = p.get("menu_button", {"type": "default"})
        return True

    async def _send_chat_action(self, p: JSON, files: Files) -> bool:
        self._target(p)
        return True

    def _bot_send(self, chat: _Chat, p: JSON, content: JSON, source: Any) -> JSON:
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and ("keyboard" in markup or "remove_keyboard" in markup):
            chat.reply_keyboard = markup if "keyboard" in markup else None
        if inline := _inline_markup(markup):
            content["reply_markup"] = inline
        message = self._store(chat, self.bot_user, content)
        chat.sources[message["message_id"]] = source
        chat.last_bot_id = message["message_id"]
        return copy.deepcopy(message)

    def _text(self, p: JSON, key: str) -> tuple[JSON, Any]:
        """Rendered text/caption content and the source an edit is compared with."""
        source = (p.get(key), p.get("entities" if key == "text" else "caption_entities"))
        if key == "text" and not str(p.get("text", "")).strip():
            raise _bad("message text is empty")
        if not p.get(key):
            return {}, source
        limit, what = (4096, "message") if key == "text" else (1024, "message caption")
        return {key: _render(str(p[key]), p.get("parse_mode"), limit, what)}, source

    async def _send_message(self, p: JSON, files: Files) -> JSON:
        chat = self._target(p)
        return self._bot_send(chat, p, *self._text(p, "text"))

    def _media(self, value: Any, files: Files, default_name: str) -> _StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is not None:
                return self._register_file(upload.data, upload.filename or default_name)
        elif isinstance(value, str) and value in self._files:
            return self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._register_file(b"", value.rsplit("/", 1)[-1] or default_name)
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _send_photo(self, p: JSON, files: Files) -> JSON:
        chat = self._target(p)
        ref = self._media(p.get("photo"), files, "photo.jpg").ref()
        caption, source = self._text(p, "caption")
        content = {"photo": [{**ref, "width": 640, "height": 480}], **caption}
        return self._bot_send(chat, p, content, source)

    async def _send_document(self, p: JSON, files: Files) -> JSON:
        chat = self._target(p)
        stored = self._media(p.get("document"), files, "document")
        caption, source = self._text(p, "caption")
        content = {"document": {**stored.ref(), "file_name": stored.name}, **caption}
        return self._bot_send(chat, p, content, source)

    async def _edit(self, p: JSON, key: str | None) -> JSON:
        if "inline_message_id" in p:
            raise _bad("inline messages are not emulated")
        chat = self._target(p)
        message_id = int(p.get("message_id", 0))
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if not message["from"]["is_bot"]:
            raise _bad("message can't be edited")
        if key == "text" and "text" not in message:
            raise _bad("there is no text in the message to edit")
        content, source = self._text(p, key) if key else ({}, chat.sources.get(message_id))
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = _inline_markup(p.get("reply_markup"))
        if source == chat.sources.get(message_id) and markup == message.get("reply_markup"):
            raise _bad("message is not modified: specified new message content and reply "
                       "markup are exactly the same as a current content and reply markup "
                       "of the message")  # fmt: skip
        if key == "caption":
            message.pop("caption", None)
        message.update(content, edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        chat.sources[message_id] = source
        chat.last_bot_id = message_id
        return copy.deepcopy(message)

    async def _delete_message(self, p: JSON, files: Files) -> bool:
        if self._target(p).messages.pop(int(p.get("message_id", 0)), None) is None:
            raise _bad("message to delete not found")
        return True

    async def _answer_callback_query(self, p: JSON, files: Files) -> bool:
        query_id = p.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        return True

    async def _get_file(self, p: JSON, files: Files) -> JSON:
        stored = self._files.get(str(p.get("file_id")))
        if stored is None:
            raise _bad("invalid file_id")
        return {**stored.ref(), "file_path": stored.path}
