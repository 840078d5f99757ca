"""The pain map in MAX (issue 13): a MAX officer lists the pains, opens a card, adds a measure
by typed steps (with /cancel) and changes its status, through services.painmap as in Telegram;
stale, forged and someone else's presses are answered once and change nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from openpyxl import load_workbook

from bot.max import MAX_BOT_ID, PAINMAP_DESTINY, max_dialog_states, max_measure_drafts
from max_front.api import View
from max_front.front import MaxFront
from max_front.painmap import MaxPainMap
from max_front.persons import max_key, person_of
from services.painmap import PainMapService
from storage.painmap import Figures, FoundPain, PainMapStore, ProcessKey, Satisfaction, Span
from tests.dialog.conftest import PEPPER, Desk
from tests.max_front.conftest import Chat, RecordingApi
from tests.max_front.test_officers import OFFICER, officer_front

LINK = "licensing_office"  # a service link of the dialog tests' catalog
OCTOBER = Span(date(2026, 10, 1), date(2026, 10, 31))


@dataclass
class PainDesk:
    front: MaxFront
    api: RecordingApi
    service: PainMapService
    storage: MemoryStorage
    ids: dict[str, str]

    async def measures(self) -> list[tuple[str, str]]:
        stored = await self.service.store.measures(list(self.ids.values()))
        return [(m.text, m.status) for m in stored]

    def last(self) -> View:
        return self.api.timeline[-1]


async def pain_desk(desk: Desk, api: RecordingApi) -> PainDesk:
    front = officer_front(desk, api)
    assert front.reporting is not None
    service = PainMapService(
        store=PainMapStore(desk.sessions),
        reporting=front.reporting,
        zone=ZoneInfo("Asia/Yakutsk"),
        clock=lambda: desk.clock_now[0],
    )
    front.reporting.use_pain_map(service.sheet_lines)  # as bot.composition: /export carries it
    storage = MemoryStorage()  # one FSM storage for the poll dialog and the measure, as bot.max
    front.state_for = max_dialog_states(storage)
    front.pains = MaxPainMap(
        api=api,
        painmap=service,
        person=front.person,
        drafts=max_measure_drafts(storage),
        dialogs=front.state_for,
    )
    for code, pains in (
        ("licensing", [("queue", "Очередь", 0.4, 1.2), ("rude", "Грубость", 0.1, 0.2)]),
        ("inspections", [("slow", "Долго", 0.3, 0.6)]),
    ):
        found = [
            FoundPain("rating_problem", f"obstacles:{o}", t, Figures(False, 8, p, 2.0, q))
            for o, t, p, q in pains
        ]
        await service.store.save_period(
            ProcessKey("service", code),
            OCTOBER,
            Satisfaction(False, 20, 60.0, 3.5),
            found,
            absent={},
            today=date(2026, 11, 1),
        )
    ids = {pain.title: pain.id for pain in await service.store.pains()}
    return PainDesk(front, api, service, storage, ids)


def _buttons(view: View) -> list[str]:
    return [button.text for row in view.keyboard for button in row]


async def test_a_max_officer_adds_a_measure_and_marks_it_done(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    handle = pains.front.handle
    await handle(officer.text("/pains"))
    listed = pains.last()
    assert listed.text.startswith("Карта болей") and not listed.html and "<b>" not in listed.text
    assert _buttons(listed)[0].startswith("Очередь") and "высокий" in _buttons(listed)[0]
    assert len(_buttons(listed)) == 3
    await handle(officer.press(api.payload("Очередь"), shown=listed))
    card = pains.last()
    assert card.text.startswith("Очередь\n") and "Лицензирование" in card.text
    assert "распространённость 40,0%" in card.text and "Мер пока нет" in card.text
    assert "<b>" not in card.text  # plain text in MAX
    await handle(officer.press(api.payload("➕ Добавить меру"), shown=card))
    assert "Опишите меру" in pains.last().text
    await handle(officer.text("", attachments=[{"type": "sticker"}]))
    assert "Нужен текст" in pains.last().text
    await handle(officer.text("x" * 1001))
    assert "не больше 1000 знаков" in pains.last().text
    await handle(officer.text("Электронная очередь <для всех>"))
    assert "Кто ответственный" in pains.last().text
    await handle(officer.text("Начальник отдела"))
    assert "ДД.ММ.ГГГГ" in pains.last().text
    await handle(officer.text("31.13.2026"))
    assert "Не удалось прочитать дату" in pains.last().text
    await handle(officer.text("01.11.2026"))
    assert "уже прошёл" in pains.last().text
    await handle(officer.text("31.03.2027"))
    saved, card = (view for _, view in api.sent[-2:])
    assert saved.text == "Мера сохранена."
    assert (
        "Электронная очередь <для всех> — Начальник отдела, срок 31.03.2027, запланирована"
        in card.text
    )
    assert await pains.measures() == [("Электронная очередь <для всех>", "planned")]
    await handle(officer.press(api.payload("Статус: Электронная очередь"), shown=card))
    assert "Новый статус" in pains.last().text
    await handle(officer.press(api.payload("выполнена"), shown=pains.last()))
    card = pains.last()
    assert "выполнена" in card.text and "до/после (23.11.2026)" in card.text
    assert api.answers[-1][2] == "Статус изменён"
    assert await pains.measures() == [("Электронная очередь <для всех>", "done")]
    # Four presses, four answers, each once.
    assert [callback for callback, _, _ in api.answers] == [f"cb.{n}" for n in range(1, 5)]


async def test_the_measure_being_typed_is_kept_under_a_hashed_person_key(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    await pains.front.handle(officer.text("/pains"))
    await pains.front.handle(officer.press(api.payload("Очередь"), shown=pains.last()))
    await pains.front.handle(officer.press(api.payload("➕ Добавить меру"), shown=pains.last()))
    await pains.front.handle(officer.text("Электронная очередь"))
    person = person_of(max_key(PEPPER), OFFICER)
    key = StorageKey(MAX_BOT_ID, person, person, destiny=PAINMAP_DESTINY)
    data = await pains.storage.get_data(key)
    assert data["text"] == "Электронная очередь" and data["step"] == "responsible"
    assert OFFICER not in (key.chat_id, key.user_id)  # the MAX id itself names no key


async def test_a_kill_between_the_measures_commit_and_the_clear_stores_it_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review: a process killed after the measure was stored and before the draft was cleared
    # left the draft, and the deadline sent again (MAX's redelivery) stored it twice.
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    handle = pains.front.handle
    await handle(officer.text("/pains"))
    await handle(officer.press(api.payload("Очередь"), shown=pains.last()))
    await handle(officer.press(api.payload("➕ Добавить меру"), shown=pains.last()))
    await handle(officer.text("Электронная очередь"))
    await handle(officer.text("Начальник отдела"))
    stored = pains.service.add_measure

    async def killed(*args: Any, **kwargs: Any) -> None:
        await stored(*args, **kwargs)  # committed; the process dies before the clear
        raise OSError("killed")

    monkeypatch.setattr(pains.service, "add_measure", killed)
    await handle(officer.text("31.03.2027"))  # the front answers "try later"
    monkeypatch.setattr(pains.service, "add_measure", stored)
    await handle(officer.text("31.03.2027"))
    assert pains.last().text.startswith("Очередь\n")
    assert await pains.measures() == [("Электронная очередь", "planned")]
    await handle(officer.press(api.payload("➕ Добавить меру"), shown=pains.last()))
    await handle(officer.text("Второе окно"))
    await handle(officer.text("Начальник отдела"))
    await handle(officer.text("31.03.2027"))
    assert len(await pains.measures()) == 2


async def test_cancel_drops_the_measure_and_later_text_is_not_taken(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    await pains.front.handle(officer.text("/pains"))
    await pains.front.handle(officer.press(api.payload("Очередь"), shown=pains.last()))
    await pains.front.handle(officer.press(api.payload("➕ Добавить меру"), shown=pains.last()))
    await pains.front.handle(officer.text("Электронная очередь"))
    await pains.front.handle(officer.text("/whoami"))  # another command: the measure waits
    assert str(OFFICER) in pains.last().text
    await pains.front.handle(officer.text("Начальник отдела"))
    assert "ДД.ММ.ГГГГ" in pains.last().text
    await pains.front.handle(officer.text("/cancel"))
    assert pains.last().text == "Добавление меры отменено, ничего не сохранено."
    await pains.front.handle(officer.text("31.03.2027"))
    assert "Мера" not in pains.last().text and "Электронная" not in pains.last().text
    assert await pains.measures() == []


async def test_stale_forged_and_someone_elses_presses_are_answered_once(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    presses = iter(range(1, 100))
    officer = Chat(OFFICER, callbacks=presses)
    for forged in ("pn:" + "0" * 32, "pms:" + "1" * 32 + ":d", "pn:not-a-key", "pms:x:z"):
        await pains.front.handle(officer.press(forged))
        assert api.answers[-1][2] == "Кнопка устарела"
    # MAX user 7 is not Telegram officer 7: no list, and a pain button is inactive.
    citizen = Chat(7, callbacks=presses)
    await pains.front.handle(citizen.text("/pains"))
    assert all("Карта болей" not in view.text for _, view in api.sent)
    await pains.front.handle(citizen.press("pma:" + pains.ids["Очередь"]))
    assert api.answers[-1][2] == "Эта кнопка больше не активна"
    await pains.front.handle(citizen.text("Моя мера"))
    assert await pains.measures() == []
    assert len(api.answers) == 5 and len({c for c, _, _ in api.answers}) == 5
    assert all(view is None for _, view, _ in api.answers)  # nothing was redrawn


async def test_a_poll_the_officer_is_answering_keeps_its_place(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    await pains.front.handle(officer.text("/pains"))
    await pains.front.handle(officer.press(api.payload("Очередь"), shown=pains.last()))
    card, add = pains.last(), api.payload("➕ Добавить меру")
    await pains.front.handle(officer.started(LINK))  # rates a service as a citizen would
    question = pains.last()
    assert question.keyboard  # the poll's first question
    await pains.front.handle(officer.press(add, shown=card))
    assert api.answers[-1][2] is not None
    assert api.answers[-1][2].startswith("Сначала завершите начатый опрос")
    assert pains.last() == question


async def test_an_english_officer_reads_english_and_a_refused_edit_comes_as_new(
    desk: Desk,
) -> None:
    api = RecordingApi(refuse_replacements=1)
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER, locale="en")
    await pains.front.handle(officer.text("/pains"))
    assert pains.last().text.startswith("Pain map")
    sent = len(api.sent)
    await pains.front.handle(officer.press(api.payload("Очередь"), shown=pains.last()))
    # MAX refused to edit the list: the press is answered, the card comes as a new message.
    assert [(c, v) for c, v, _ in api.answers] == [("cb.1", None)]
    [(user, card)] = api.sent[sent:]
    assert user == OFFICER and "Measures" in card.text and "➕ Add a measure" in _buttons(card)


def _fill(data: bytes, title: str, values: list[str]) -> bytes:
    book = load_workbook(io.BytesIO(data))
    sheet = book["Проблемы"]
    for row in sheet.iter_rows(min_row=2):
        if row[2].value == title:
            for cell, value in zip(row[5:9], values, strict=True):
                cell.value = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _file(name: str, url: str, size: int) -> list[dict[str, object]]:
    return [{"type": "file", "payload": {"url": url, "token": "t"}, "filename": name,
             "size": size}]  # fmt: skip


async def test_a_max_officer_exports_the_map_and_sends_it_back_edited(desk: Desk) -> None:
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    await pains.front.handle(officer.text("/export"))
    for label in ("Прошлый месяц", "Все услуги"):  # October, every service
        await pains.front.handle(officer.press(api.payload(label), shown=pains.last()))
    [(_, name, workbook, _)] = api.files
    assert name.endswith(".xlsx")
    data = _fill(
        workbook,
        "Очередь",
        ["Электронная очередь", "Начальник отдела", "31.03.2027", "запланирована"],
    )
    api.downloads["https://files.max.example/1"] = data
    await pains.front.handle(
        officer.text(
            "", attachments=_file("otklik.xlsx", "https://files.max.example/1", len(data))
        )
    )
    assert pains.last().text == (
        "Карта болей принята: мер добавлено 1, изменено 0, без изменений 0."
    )
    assert await pains.measures() == [("Электронная очередь", "planned")]
    bad = _fill(data, "Грубость", ["Обучение", "Кадры", "32.01.2027", "скоро"])
    api.downloads["https://files.max.example/2"] = bad
    await pains.front.handle(
        officer.text("", attachments=_file("otklik.xlsx", "https://files.max.example/2", len(bad)))
    )
    reply = pains.last().text
    assert "ничего не записано. Ошибки (2)" in reply and "неизвестный статус" in reply
    assert len(await pains.measures()) == 1
    # Someone else's workbook, or another file, is no pain map of theirs: not even fetched.
    api.downloads.clear()
    await pains.front.handle(
        Chat(7).text("", attachments=_file("otklik.xlsx", "https://files.max.example/2", 9))
    )
    await pains.front.handle(
        officer.text("", attachments=_file("photo.png", "https://files.max.example/3", 9))
    )
    unsupported = "Я понимаю только текст и нажатия кнопок. Стикеры, фото, голосовые и файлы"
    assert all(view.text.startswith(unsupported) for _, view in api.sent[-2:])


async def test_a_sheet_that_cannot_be_fetched_is_answered_and_stores_nothing(desk: Desk) -> None:
    # MAX's file storage refuses (a link expired, the file over the limit): the officer is told
    # to send it again, nothing is stored, and the front goes on answering.
    api = RecordingApi()
    pains = await pain_desk(desk, api)
    officer = Chat(OFFICER)
    await pains.front.handle(
        officer.text("", attachments=_file("otklik.xlsx", "https://files.max.example/gone", 9))
    )
    assert pains.last().text.startswith("Не удалось получить файл из MAX.")
    assert await pains.measures() == []
    await pains.front.handle(officer.text("/pains"))
    assert not pains.last().text.startswith("Не удалось")
