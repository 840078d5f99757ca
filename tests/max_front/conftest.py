"""The MAX front over the real dialog service and stores (tests/dialog's desk), a recording
MAX API, and the composition root's state adapter on an in-memory FSM storage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.fsm.storage.memory import MemoryStorage

from bot.max import max_dialog_states
from max_front.api import Batch, MaxApiError, Update, View
from max_front.front import MaxFront
from max_front.persons import max_key
from tests.dialog.conftest import PEPPER, Desk, desk, dialog_template

__all__ = ["desk", "dialog_template"]


@dataclass
class RecordingApi:
    """What the front asked of MAX; `timeline` is every view drawn, in order.
    `refuse_replacements` makes that many POST /answers with a message fail (an edit MAX
    refuses)."""

    sent: list[tuple[int, View]] = field(default_factory=list)
    edits: list[tuple[str, View]] = field(default_factory=list)
    answers: list[tuple[str, View | None, str | None]] = field(default_factory=list)
    timeline: list[View] = field(default_factory=list)
    refuse_replacements: int = 0
    files: list[tuple[int, str, bytes, str]] = field(default_factory=list)
    #: Files people sent, by their attachment's URL.
    downloads: dict[str, bytes] = field(default_factory=dict)

    async def me(self) -> Update:
        return {"user_id": 1, "first_name": "Otklik", "is_bot": True}

    async def updates(self, marker: int | None, wait_seconds: int) -> Batch:
        return Batch([], marker)

    async def send(self, user_id: int, view: View) -> str:
        self.sent.append((user_id, view))
        self.timeline.append(view)
        return f"mid.{len(self.sent)}"

    async def send_file(self, user_id: int, name: str, data: bytes, caption: str) -> str:
        self.files.append((user_id, name, data, caption))
        return f"mid.f{len(self.files)}"

    async def remove_keyboard(self, message_id: str) -> None:
        self.edits.append((message_id, View("")))

    async def answer(
        self, callback_id: str, *, view: View | None = None, notification: str | None = None
    ) -> None:
        if view is not None and self.refuse_replacements:
            self.refuse_replacements -= 1
            raise MaxApiError(400, "message is too old")
        self.answers.append((callback_id, view, notification))
        if view is not None:
            self.timeline.append(view)

    async def download(self, url: str, limit: int) -> bytes:
        data = self.downloads.get(url)
        if data is None:
            raise MaxApiError(404, "not.found")
        if len(data) > limit:
            raise MaxApiError(413, "too big")
        return data

    async def close(self) -> None:
        return None

    def payload(self, label: str) -> str:
        """The payload of the button labelled `label` (or starting so) on the latest view."""
        buttons = [b for row in self.timeline[-1].keyboard for b in row]
        for button in buttons:
            if button.text == label or button.text.startswith(label):
                return button.payload
        raise AssertionError(f"no {label!r} in {[b.text for b in buttons]}")


@dataclass
class Chat:
    """Builds MAX updates for one user, as the documented update objects."""

    user_id: int
    locale: str = "ru"
    callbacks: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    def _user(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "first_name": "Probe", "is_bot": False}

    def started(self, payload: str | None) -> Update:
        return {"update_type": "bot_started", "user": self._user(), "chat_id": 5,
                "payload": payload, "user_locale": self.locale}  # fmt: skip

    def text(self, text: str, attachments: list[Any] | None = None) -> Update:
        return {"update_type": "message_created", "user_locale": self.locale,
                "message": {"sender": self._user(),
                            "recipient": {"chat_id": 5, "chat_type": "dialog"},
                            "body": {"mid": "mid.u", "seq": 1, "text": text,
                                     "attachments": attachments or []}}}  # fmt: skip

    def press(self, payload: str, mid: str = "mid.1", shown: View | None = None) -> Update:
        """A press on message `mid`, which shows `shown` (its text and buttons, as MAX
        sends the pressed message along)."""
        body: dict[str, Any] = {"mid": mid, "seq": 1, "text": shown.text if shown else ""}
        if shown is not None and shown.keyboard:
            rows = [
                [{"type": "callback", "text": b.text, "payload": b.payload} for b in row]
                for row in shown.keyboard
            ]
            body["attachments"] = [{"type": "inline_keyboard", "payload": {"buttons": rows}}]
        return {"update_type": "message_callback", "user_locale": self.locale,
                "callback": {"callback_id": f"cb.{next(self.callbacks)}", "payload": payload,
                             "user": self._user()},
                "message": {"recipient": {"chat_id": 5, "chat_type": "dialog"},
                            "body": body}}  # fmt: skip


@dataclass
class Setup:
    front: MaxFront
    api: RecordingApi
    desk: Desk
    storage: MemoryStorage


@pytest.fixture
def max_setup(desk: Desk) -> Setup:
    api = RecordingApi()
    storage = MemoryStorage()
    front = MaxFront(
        api=api,
        dialog=desk.service,
        feedback=desk.feedback,
        windows=desk.campaigns,
        state_for=max_dialog_states(storage),
        person_key=max_key(PEPPER),
    )
    return Setup(front, api, desk, storage)
