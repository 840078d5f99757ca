"""How many router levels an update crosses (issue 15): each level costs aiogram a middleware
chain, a filter pass and a few frames on every update, so the hot paths are kept short."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Router
from aiogram.client.session.middlewares.manager import RequestMiddlewareManager
from aiogram.methods import AnswerCallbackQuery, EditMessageText

from handlers.common import PRIVATE_ONLY, private_only
from handlers.dialog import setup as dialog_setup
from questionnaires.schema import Language
from tests.bot.conftest import World

LINK = "/start licensing_office"


@pytest.fixture
def visits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """(event type, router name) for every router an event is propagated to."""
    seen: list[tuple[str, str | None]] = []
    propagate = Router.propagate_event

    async def recording(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        seen.append((update_type, self.name))
        return await propagate(self, update_type, event, **kwargs)

    monkeypatch.setattr(Router, "propagate_event", recording)
    return seen


async def test_a_dialog_press_reaches_its_handler_through_one_router(
    world: World, visits: list[tuple[str, str | None]]
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    visits.clear()
    await anna.click("5")
    assert "Вопрос 2 из" in anna.live_message()[1]
    routers = [name for kind, name in visits if kind == "callback_query"]
    # The dispatcher, then the dialog router, which is the private-chat gate itself; the
    # errors router (error events only) is not crossed.
    assert routers[1:] == ["dialog"]


async def test_start_skips_the_gate_and_the_errors_router(
    world: World, visits: list[tuple[str, str | None]]
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    routers = [name for kind, name in visits if kind == "message"]
    assert routers[-1] == "citizen"
    assert "errors" not in routers
    assert "private" not in routers
    assert routers.index("citizen") <= 8


async def test_a_press_in_a_group_still_meets_the_gate(world: World) -> None:
    # The dialog router is the gate: its handlers must not answer outside private chats.
    harness = world.harness
    anna = harness.person(1001)
    await anna.send(LINK)
    message_id, _, markup = anna.live_message()
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None
    await harness.feed(
        callback_query={
            "id": "g1",
            "from": {"id": 1001, "is_bot": False, "first_name": "A"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": -100, "type": "group", "title": "G"},
                "text": "…",
            },
        }
    )
    [answer] = [a for a in harness.sent(AnswerCallbackQuery) if a.callback_query_id == "g1"]
    assert answer.text == PRIVATE_ONLY[Language.RU]
    assert answer.show_alert
    assert not [e for e in harness.sent(EditMessageText) if int(e.chat_id) == -100]


def test_the_gate_router_must_have_no_root_filters() -> None:
    async def anything(event: object) -> bool:
        return True

    first = dialog_setup()
    first.message.filter(anything)
    with pytest.raises(ValueError, match="root filters"):
        private_only(first, Router())


async def test_the_session_is_checked_for_the_answer_record_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    recorders = [
        m for m in world.harness.session.middleware if type(m).__name__ == "RecordCallbackAnswers"
    ]
    assert len(recorders) == 1
    looked: list[object] = []
    iterate = RequestMiddlewareManager.__iter__

    def counting(self: RequestMiddlewareManager) -> Any:
        looked.append(self)
        return iterate(self)

    monkeypatch.setattr(RequestMiddlewareManager, "__iter__", counting)
    await anna.click("5")
    await anna.click("Да")
    assert "Вопрос 3 из" in anna.live_message()[1]
    assert looked == []  # not scanned again on every update
