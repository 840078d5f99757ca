"""`otklik announce`: the preview shows the next «вы сказали — мы сделали» and sends nothing;
`--send` announces each measure once."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from bot.announce_command import _announce
from bot.cli import main
from bot.settings import Settings
from storage.announcements import AnnouncementStore
from storage.database import create_engine, create_session_factory
from storage.opt_ins import OptInStore
from storage.painmap import (
    Figures,
    FoundPain,
    NewMeasure,
    PainMapStore,
    ProcessKey,
    Satisfaction,
    Span,
)


async def _seed(url: str) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    store = PainMapStore(sessions)
    process = ProcessKey("service", "licensing")
    found = [FoundPain("rating_problem", "obstacles:queue", "Очередь", Figures(False, 8, 0.4))]
    await store.save_period(
        process,
        Span(date(2026, 9, 1), date(2026, 9, 30)),
        Satisfaction(False, 20, 55.0, 3.4),
        found,
        absent={},
        today=date(2026, 10, 1),
    )
    [pain] = await store.pains()
    await store.apply(
        [NewMeasure(pain.id, "Электронная очередь", "Отдел", date(2027, 1, 1), "done")],
        [],
        date(2026, 10, 15),
    )
    opt_ins = OptInStore(sessions, min_batch=1)
    await opt_ins.add(4242, "changes", date(2026, 10, 1))
    await opt_ins.flush(force=True)
    await engine.dispose()


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("DB__URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def test_the_preview_shows_the_message_and_sends_nothing(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["announce"]) == 0
    assert "no done measure to announce" in capsys.readouterr().out
    asyncio.run(_seed(database))
    assert main(["announce"]) == 0
    out = capsys.readouterr().out
    assert "Электронная очередь" in out and "до 55,0, после не публикуется" in out
    assert "1 measures, 1 chats" in out

    async def announced() -> set[str]:
        engine = create_engine(database)
        try:
            return await AnnouncementStore(create_session_factory(engine)).announced()
        finally:
            await engine.dispose()

    assert asyncio.run(announced()) == set()


def test_send_announces_each_measure_once(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed(database))
    sent: list[int] = []

    async def port(chat_id: int, text: str) -> None:
        sent.append(chat_id)

    async def send_twice() -> None:
        for _ in range(2):
            assert await _announce(True, Settings(), port) == 0

    asyncio.run(send_twice())
    assert sent == [4242]
    out = capsys.readouterr().out
    assert "announced 1 measures; 1 messages sent (complete)" in out
    assert "announced 0 measures; 0 messages sent" in out
