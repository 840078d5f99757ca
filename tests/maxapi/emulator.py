"""A MAX Bot API emulator on loopback, written from MAX's documentation (https://dev.max.ru/docs-api):

- the token in the `Authorization` header (query tokens are no longer accepted): 401 otherwise;
- `GET /me`: the bot (`User`: user_id, first_name, username, is_bot);
- `GET /updates?marker&timeout&limit`: long polling; `{"updates": [...], "marker": n}`, the
  updates before `marker` are confirmed and not sent again;
- `POST /messages?user_id=` with a `NewMessageBody` (text, attachments: `inline_keyboard`
  with `callback` buttons): `{"message": Message}`;
- `PUT /messages?message_id=`: edits text and attachments, `{"success": true}`;
- `POST /answers?callback_id=` with `message` (replaces the pressed message) and/or
  `notification`: `{"success": true}`;
- `POST /uploads?type=file`: `{"url": …}`, where the file goes as multipart `data` and the
  answer is `{"token": …}` for a `file` attachment of `POST /messages`;
- webhooks (https://dev.max.ru/docs-api/methods/POST/subscriptions): `POST /subscriptions`
  with `url`, `update_types` and `secret` (5-256 of A-Z a-z 0-9 -, else 400), `GET
  /subscriptions`, `DELETE /subscriptions?url=`. While one is active long polling does not
  work (`GET /updates` answers no updates) and each new update is POSTed to every subscribed URL
  whose types include it, with the secret in `X-Max-Bot-Api-Secret`. Only a `200 OK` acknowledges
  it; anything else (another status, a refused connection, no answer in `webhook_timeout`) is
  delivered again after each of `retry_delays` (MAX documents the 200 and the redelivery, not
  its schedule: the tests choose short delays). Every attempt is noted in `deliveries`.

Failures, for the tests: `fail_next(method, path, status, code)` makes the next such calls
fail with MAX's error body (`{"code", "message"}`; 429 `too.many.requests`, MAX's documented
rate-limit answer), and `block(user_id)` makes messages to that user fail with 403
`chat.denied` (the emulator's stand-in for a person who blocked the bot: MAX documents no
code for it).

Updates are `bot_started` (user, chat_id, payload, user_locale), `message_created` (message
with sender, recipient `{chat_id, chat_type: "dialog"}`, body) and `message_callback` (callback
`{callback_id, payload, user}` and the message pressed).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_ID = 900_000_001
BODY = web.RequestKey("body", dict[str, Any])


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass
class MaxMessage:
    mid: str
    user_id: int  # the dialog's user
    from_bot: bool
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    format: str | None = None  # "html" for officers' messages and broadcasts

    @property
    def buttons(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for attachment in self.attachments:
            if attachment.get("type") == "inline_keyboard":
                for row in attachment["payload"]["buttons"]:
                    found += row
        return found


@dataclass
class Subscription:
    url: str
    update_types: list[str]
    secret: str | None
    time: int


@dataclass
class Delivery:
    """One webhook attempt: the update's type and index, and the answer's status (0: none)."""

    url: str
    update_type: str
    index: int
    attempt: int
    status: int


_SECRET = re.compile(r"[A-Za-z0-9-]{5,256}")


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


class MaxApiEmulator:
    def __init__(self, token: str, *, requests_per_second: int | None = None) -> None:
        """``requests_per_second``: MAX's limit enforced (30 on the platform, https://dev.max.ru/
        help): a request beyond it within any second is answered 429 `too.many.requests`."""
        self.token = token
        self.requests_per_second = requests_per_second
        self._recent: deque[float] = deque()
        self.rate_limited = 0
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # updates before this index were confirmed by a marker
        self.messages: dict[str, MaxMessage] = {}
        self.order: list[str] = []
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, int] = {}
        self.failures: list[tuple[str, str, int, str]] = []
        self.blocked: set[int] = set()
        self.uploads: dict[str, tuple[str, bytes]] = {}  # token -> (file name, bytes)
        #: Files people sent, served at GET /files/<name> (a `file` attachment's payload.url).
        self.files: dict[str, bytes] = {}
        self.token_leaked = False
        self._ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)
        self.webhook_timeout = 30.0
        self._session: aiohttp.ClientSession | None = None
        self._pushing: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> MaxApiEmulator:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/me", self._me)
        app.router.add_get("/updates", self._updates)
        app.router.add_post("/messages", self._send)
        app.router.add_put("/messages", self._edit)
        app.router.add_post("/answers", self._answer)
        app.router.add_post("/uploads", self._upload_url)
        app.router.add_post("/upload-target", self._upload)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/subscriptions", self._subscribe)
        app.router.add_get("/subscriptions", self._subscriptions)
        app.router.add_delete("/subscriptions", self._unsubscribe)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        for task in self._pushing:
            task.cancel()
        await asyncio.gather(*self._pushing, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self._runner.cleanup()

    # --- the API ------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/upload-target" or request.path.startswith("/files/"):
            # The upload server and the file storage: no token there (one sent is recorded).
            if request.headers.get("Authorization"):
                self.token_leaked = True
            upload: web.StreamResponse = await handler(request)
            return upload
        body = await request.json() if request.can_read_body else None
        self.calls.append(Call(request.method, request.path, dict(request.query), body))
        if request.headers.get("Authorization") != self.token or "access_token" in request.query:
            return web.json_response(
                {"code": "verify.token", "message": "Invalid access_token"}, status=401
            )
        if self.requests_per_second is not None and request.path != "/updates":
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.requests_per_second:
                self.rate_limited += 1
                return web.json_response(
                    {"code": "too.many.requests", "message": "rate"}, status=429
                )
            self._recent.append(now)
        for index, (method, path, status, code) in enumerate(self.failures):
            if (method, path) == (request.method, request.path):
                del self.failures[index]
                return web.json_response({"code": code, "message": code}, status=status)
        request[BODY] = body if isinstance(body, dict) else {}
        response: web.StreamResponse = await handler(request)
        return response

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response(self._bot_user())

    async def _updates(self, request: web.Request) -> web.Response:
        if self.subscriptions:  # "При активной подписке Long Polling не работает"
            return web.json_response({"updates": [], "marker": self.confirmed})
        marker = request.query.get("marker")
        if marker is not None:
            self.confirmed = max(self.confirmed, int(marker))
        timeout = min(int(request.query.get("timeout", "30")), 90)
        deadline = time.monotonic() + timeout
        while len(self.updates) <= self.confirmed and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        batch = self.updates[self.confirmed : self.confirmed + 100]
        return web.json_response({"updates": batch, "marker": self.confirmed + len(batch)})

    async def _send(self, request: web.Request) -> web.Response:
        user_id = int(request.query["user_id"])
        if user_id in self.blocked:
            return web.json_response({"code": "chat.denied", "message": "denied"}, status=403)
        body = request[BODY] or {}
        text = body.get("text") or ""
        if len(text) > 4000:
            return web.json_response({"code": "proto.payload", "message": "text"}, status=400)
        attachments = body.get("attachments") or []
        for attachment in attachments:
            token = (attachment.get("payload") or {}).get("token")
            if attachment.get("type") == "file" and token not in self.uploads:
                return web.json_response({"code": "attachment.invalid", "message": ""}, status=400)
        message = self._store(user_id, True, text, attachments)
        message.format = body.get("format")
        return web.json_response({"message": self._message_json(message)})

    async def _upload_url(self, request: web.Request) -> web.Response:
        return web.json_response({"url": f"{self.base_url}/upload-target"})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        data = form["data"]
        assert isinstance(data, web.FileField)
        token = f"tok.{next(self._ids)}"
        self.uploads[token] = (data.filename, data.file.read())
        return web.json_response({"token": token})

    async def _file(self, request: web.Request) -> web.Response:
        """A file attachment's `payload.url`, as MAX gives it to the bot: a file a test put in
        ``files`` by name, or one uploaded earlier by its token."""
        name = request.match_info["name"]
        data = self.files.get(name)
        if data is None and name in self.uploads:
            data = self.uploads[name][1]
        if data is None:
            return web.json_response({"code": "not.found", "message": "No file"}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def file_url(self, token: str) -> str:
        return f"{self.base_url}/files/{token}"

    # --- webhooks -----------------------------------------------------------------------

    async def _subscribe(self, request: web.Request) -> web.Response:
        body = request[BODY]
        url, secret = body.get("url"), body.get("secret")
        types = body.get("update_types") or []
        valid_secret = secret is None or (isinstance(secret, str) and _SECRET.fullmatch(secret))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return web.json_response({"code": "proto.payload", "message": "url"}, status=400)
        if not valid_secret or not isinstance(types, list):
            return web.json_response({"code": "proto.payload", "message": "body"}, status=400)
        self.subscriptions[url] = Subscription(url, [str(t) for t in types], secret, _ms())
        return web.json_response({"success": True})

    async def _subscriptions(self, request: web.Request) -> web.Response:
        return web.json_response({"subscriptions": [
            {"url": s.url, "time": s.time, "update_types": s.update_types}
            for s in self.subscriptions.values()
        ]})  # fmt: skip

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        self.subscriptions.pop(request.query.get("url", ""), None)
        return web.json_response({"success": True})

    def _post_to_webhooks(self, index: int, update: dict[str, Any]) -> None:
        for subscription in list(self.subscriptions.values()):
            types = subscription.update_types
            if types and update["update_type"] not in types:
                continue
            task = asyncio.get_running_loop().create_task(
                self._deliver(subscription, index, update)
            )
            self._pushing.add(task)
            task.add_done_callback(self._pushing.discard)

    async def _deliver(
        self, subscription: Subscription, index: int, update: dict[str, Any]
    ) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {} if subscription.secret is None else {
            "X-Max-Bot-Api-Secret": subscription.secret
        }  # fmt: skip
        for attempt, delay in enumerate((0.0, *self.retry_delays), 1):
            await asyncio.sleep(delay)
            status = 0
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session.post(
                    subscription.url,
                    json=update,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as answer:
                    status = answer.status
            self.deliveries.append(
                Delivery(subscription.url, update["update_type"], index, attempt, status)
            )
            if status == 200:
                return

    def delivered(self, index: int) -> bool:
        """The update at ``index`` was acknowledged (200) by a webhook."""
        return any(d.index == index and d.status == 200 for d in self.deliveries)

    # --- failures -----------------------------------------------------------------------

    def fail_next(
        self, method: str, path: str, status: int, code: str = "", *, times: int = 1
    ) -> None:
        """The next `times` calls of `method path` fail with `status` and MAX's error body."""
        code = code or {429: "too.many.requests", 503: "service.unavailable"}.get(status, "error")
        self.failures += [(method, path, status, code)] * times

    def block(self, user_id: int) -> None:
        self.blocked.add(user_id)

    async def _edit(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.query.get("message_id", ""))
        if message is None or not message.from_bot:
            return web.json_response({"code": "not.found", "message": "message"}, status=404)
        self._apply(message, request[BODY] or {})
        return web.json_response({"success": True})

    async def _answer(self, request: web.Request) -> web.Response:
        callback_id = request.query.get("callback_id", "")
        callback = self.callbacks.get(callback_id)
        if callback is None:
            return web.json_response({"code": "not.found", "message": "callback"}, status=404)
        body = request[BODY] or {}
        if not body.get("message") and not body.get("notification"):
            return web.json_response({"code": "proto.payload", "message": "empty"}, status=400)
        self.answers[callback_id] = self.answers.get(callback_id, 0) + 1
        if body.get("message"):
            self._apply(self.messages[callback["mid"]], body["message"])
        return web.json_response({"success": True})

    # --- people -------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str, *, username: str | None = None,
             locale: str = "ru") -> MaxUser:  # fmt: skip
        return MaxUser(self, user_id, first_name, username, locale)

    def history(self, user_id: int) -> list[MaxMessage]:
        return [self.messages[mid] for mid in self.order if self.messages[mid].user_id == user_id]

    def push(self, update: dict[str, Any]) -> None:
        stamped = {**update, "timestamp": _ms()}
        self.updates.append(stamped)
        if self.subscriptions:  # posted to the webhook, never offered to long polling
            self.confirmed = len(self.updates)
            self._post_to_webhooks(len(self.updates) - 1, stamped)
        self._new_update.set()

    # --- internals ----------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {"user_id": BOT_ID, "first_name": "Otklik", "username": "otklik_bot",
                "is_bot": True, "last_activity_time": _ms()}  # fmt: skip

    def _store(
        self, user_id: int, from_bot: bool, text: str, attachments: list[Any]
    ) -> MaxMessage:
        mid = f"mid.{next(self._ids):016x}"
        message = MaxMessage(mid, user_id, from_bot, text, list(attachments))
        self.messages[mid] = message
        self.order.append(mid)
        return message

    @staticmethod
    def _apply(message: MaxMessage, body: dict[str, Any]) -> None:
        if body.get("text") is not None:
            message.text = body["text"]
            message.format = body.get("format")  # a new body comes with its own format
        if body.get("attachments") is not None:
            message.attachments = list(body["attachments"])

    def _message_json(
        self, message: MaxMessage, sender: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "sender": sender or self._bot_user(),
            "recipient": {"chat_id": message.user_id + 1, "chat_type": "dialog",
                          "user_id": BOT_ID if sender else message.user_id},
            "timestamp": _ms(),
            "body": {"mid": message.mid, "seq": len(self.order), "text": message.text,
                     "attachments": message.attachments},
        }  # fmt: skip


@dataclass
class MaxUser:
    api: MaxApiEmulator
    id: int
    first_name: str
    username: str | None
    locale: str

    def json(self) -> dict[str, Any]:
        return {"user_id": self.id, "first_name": self.first_name, "username": self.username,
                "is_bot": False, "last_activity_time": _ms()}  # fmt: skip

    def start(self, payload: str | None = None) -> None:
        """Opens the bot by a start link (`https://max.ru/<bot>?start=<payload>`)."""
        self.api.push({"update_type": "bot_started", "chat_id": self.id + 1, "user": self.json(),
                       "payload": payload, "user_locale": self.locale})  # fmt: skip

    def send(self, text: str = "", attachments: list[dict[str, Any]] | None = None) -> None:
        message = self.api._store(self.id, False, text, attachments or [])
        self.api.push({"update_type": "message_created", "user_locale": self.locale,
                       "message": self.api._message_json(message, self.json())})  # fmt: skip

    def last(self) -> MaxMessage:
        return [m for m in self.api.history(self.id) if m.from_bot][-1]

    def click(self, label: str) -> str:
        """Presses the button labelled `label` on the bot's latest message with buttons."""
        for message in reversed(self.api.history(self.id)):
            if message.from_bot and message.buttons:
                button = next((b for b in message.buttons if b["text"] == label), None)
                if button is None:  # "Готово" for "Готово ✓": a unique label starting so
                    starting = [b for b in message.buttons if b["text"].startswith(label)]
                    button = starting[0] if len(starting) == 1 else None
                if button is None:
                    labels = [b["text"] for b in message.buttons]
                    raise AssertionError(f"no button {label!r}; shown {labels}")
                return self.press(message, button["payload"])
        raise AssertionError("no message with buttons")

    def press(self, message: MaxMessage, payload: str) -> str:
        callback_id = f"cb.{next(self.api._ids)}"
        self.api.callbacks[callback_id] = {"mid": message.mid, "user": self.id}
        self.api.push({
            "update_type": "message_callback", "user_locale": self.locale,
            "callback": {"timestamp": _ms(), "callback_id": callback_id, "payload": payload,
                         "user": self.json()},
            "message": self.api._message_json(message),
        })  # fmt: skip
        return callback_id
