"""The MAX front in the composition root: the first contact with MAX, the state adapter."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.max import MAX_BOT_ID, first_contact, max_dialog_states
from bot.problems import Problem
from max_front.api import MaxApiError, Update
from services.dialog import DialogData


class Answering:
    def __init__(self, error: MaxApiError | None) -> None:
        self.error = error

    async def me(self) -> Update:
        if self.error is not None:
            raise self.error
        return {"user_id": 1, "first_name": "Otklik", "username": "otklik_bot"}


async def test_a_refused_token_stops_the_start_with_an_explained_problem() -> None:
    with pytest.raises(Problem) as problem:
        await first_contact(Answering(MaxApiError(401)))  # type: ignore[arg-type]
    assert "MAX__TOKEN" in str(problem.value)


async def test_an_unreachable_max_does_not_stop_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await first_contact(Answering(MaxApiError(0, "ClientConnectorError")))  # type: ignore[arg-type]
    await first_contact(Answering(MaxApiError(503)))  # type: ignore[arg-type]
    assert "polling will retry" in caplog.text


async def test_the_state_keeps_the_step_message_within_one_dialog_only() -> None:
    storage = MemoryStorage()
    state = max_dialog_states(storage)(2**64 + 5)
    first: DialogData = {"p": {"turn": 0}, "n": "aaaaaa"}  # type: ignore[typeddict-item]
    await state.set_message_id("mid.0")  # no dialog yet: nothing shows a step
    assert await state.message_id() is None
    await state.save(first)
    await state.set_message_id("mid.1")
    await state.save({**first, "p": {"turn": 1}})  # type: ignore[typeddict-item]
    assert await state.message_id() == "mid.1"
    await state.save({"p": {"turn": 0}, "n": "bbbbbb"})  # type: ignore[typeddict-item]
    assert await state.message_id() is None  # a new dialog starts without a message
    key = StorageKey(MAX_BOT_ID, 2**64 + 5, 2**64 + 5)
    assert (await storage.get_data(key))["n"] == "bbbbbb"
    await state.clear()
    assert await state.load() is None
