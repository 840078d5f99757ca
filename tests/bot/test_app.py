"""The composition root: the start-up heap is frozen before the bot takes updates."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest

import bot.app
import bot.web
from bot.app import YOUNG_COLLECTION_THRESHOLD, freeze_startup_heap, serve
from bot.settings import Settings


def test_freeze_startup_heap_takes_live_objects_out_of_collections() -> None:
    survivor: list[Any] = []
    survivor.append(survivor)  # a cycle: only the collector could ever free it
    thresholds = gc.get_threshold()
    try:
        frozen = freeze_startup_heap()
        # Frozen objects that die later leave the count (a thread of an earlier test dropping
        # its last reference), so it can only have shrunk since.
        assert frozen > 0
        assert 0 < gc.get_freeze_count() <= frozen
        assert not any(obj is survivor for obj in gc.get_objects())  # not tracked any more
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert any(obj is survivor for obj in gc.get_objects())


def test_freeze_startup_heap_collects_the_young_generation_rarely() -> None:
    """Issue 15: at Python's default (700) the young generation was collected every few
    updates, 6-8 % of the answer pipeline's time; the older generations keep their ratios."""
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        freeze_startup_heap()
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
        assert YOUNG_COLLECTION_THRESHOLD >= 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def test_serve_freezes_the_heap_after_start_up_before_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[str] = []

    class FakeBot:
        async def set_my_commands(self, *_args: Any, **_kwargs: Any) -> None:
            steps.append("commands")

    class FakeDispatcher:
        def resolve_used_update_types(self) -> list[str]:
            return []

        async def start_polling(self, *_args: Any, **_kwargs: Any) -> None:
            steps.append("polling")

    @asynccontextmanager
    async def application(_settings: Settings) -> AsyncIterator[SimpleNamespace]:
        steps.append("built")
        yield SimpleNamespace(bot=FakeBot(), dispatcher=FakeDispatcher(), engine=None)

    monkeypatch.setattr(bot.app, "build_application", application)

    def freeze() -> int:
        steps.append("frozen")
        return 1

    monkeypatch.setattr(bot.app, "freeze_startup_heap", freeze)

    async def guarded_poll(bot_: Any, dispatcher: Any, *_args: Any) -> None:
        await dispatcher.start_polling(bot_)  # bot.operations.poll, without its guard

    monkeypatch.setattr(bot.app, "poll", guarded_poll)
    await serve(Settings(_env_file=None))
    assert steps.index("built") < steps.index("frozen") < steps.index("polling")


async def test_a_broken_triggers_file_stops_wiring_before_the_database_is_touched(
    tmp_path: Any,
) -> None:
    from aiogram import Bot

    from questionnaires.errors import DefinitionError

    broken = tmp_path / "triggers.yaml"
    broken.write_text("rules:\n  - id: x\n    unit: fortnight\n", encoding="utf-8")
    database = tmp_path / "otklik.db"
    settings = Settings(
        _env_file=None,
        db={"url": f"sqlite+aiosqlite:///{database}"},
        privacy={"pepper": "p" * 32},
        content={"triggers_path": broken},
    )
    bot_ = Bot("42:TEST")
    try:
        with pytest.raises(DefinitionError) as caught:
            await bot.app.wire(settings, bot_, "otklik_test_bot")
    finally:
        await bot_.session.close()
    messages = [str(defect) for defect in caught.value.defects]
    assert any(m.startswith(f"{broken}:3:") and "rules[0].unit" in m for m in messages)
    assert not database.exists()


async def test_wire_builds_the_signals_from_the_shipped_triggers(tmp_path: Any) -> None:
    from aiogram import Bot

    from scheduler.jobs import SIGNALS_JOB, create_scheduler

    settings = Settings(
        _env_file=None,
        db={"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"},
        privacy={"pepper": "p" * 32},
    )
    bot_ = Bot("42:TEST")
    try:
        wiring = await bot.app.wire(settings, bot_, "otklik_test_bot")
        try:
            assert [rule.id for rule in wiring.services.signals.triggers.rules] == [
                "negative_share"
            ]
            scheduler = create_scheduler(
                settings.body.zone,
                responses=wiring.services.responses,
                fsm=None,
                today=wiring.services.feedback.today,
                signals=wiring.services.signals,
            )
            assert scheduler.get_job(SIGNALS_JOB) is not None
        finally:
            await wiring.close()
    finally:
        await bot_.session.close()


async def test_the_max_front_answers_signal_buttons_with_the_composed_signal_service(
    tmp_path: Any,
) -> None:
    # Issue 13: signals and batches reach MAX officers; their buttons need the same service.
    from aiogram import Bot

    from bot.max import build_max_front
    from tests.max_front.conftest import RecordingApi

    settings = Settings(
        _env_file=None,
        db={"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"},
        privacy={"pepper": "p" * 32},
    )
    bot_ = Bot("42:TEST")
    try:
        wiring = await bot.app.wire(settings, bot_, "otklik_test_bot")
        try:
            front = build_max_front(settings, wiring, RecordingApi())
            assert front.signals is wiring.services.signals
            assert front.reporting is wiring.services.reporting
            # /report and /export in MAX: the same reporting and Appendix 2 services.
            assert front.reports is not None
            assert front.reports.reporting is wiring.services.reporting
            assert front.reports.appendix2 is wiring.services.appendix2
        finally:
            await wiring.close()
    finally:
        await bot_.session.close()


async def test_the_max_front_has_the_composed_pain_map_and_polls_have_the_max_link(
    tmp_path: Any,
) -> None:
    # Issue 13: /pains in MAX through the very pain map service the Telegram routers use
    # (its /export carries the map, above); MAX chats are invited by MAX__BOT_NAME's link.
    from aiogram import Bot

    from bot.max import build_max_front
    from tests.max_front.conftest import RecordingApi

    settings = Settings(
        _env_file=None,
        db={"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"},
        privacy={"pepper": "p" * 32},
        max={"bot_name": "otklik_max_bot"},
    )
    bot_ = Bot("42:TEST")
    try:
        wiring = await bot.app.wire(settings, bot_, "otklik_test_bot")
        try:
            front = build_max_front(settings, wiring, RecordingApi())
            assert front.pains is not None and front.pains.painmap is wiring.services.painmap
            campaigns = wiring.services.campaigns
            assert campaigns.start_url(3, "max") == "https://max.ru/otklik_max_bot?start=w3"
            assert campaigns.start_url(3) == "https://t.me/otklik_test_bot?start=w3"
        finally:
            await wiring.close()
    finally:
        await bot_.session.close()


async def test_wire_gives_every_workbook_the_persisted_pain_map(tmp_path: Any) -> None:
    # Review: ReportingService.use_pain_map was called only by tests, so /export and the
    # semiannual workbooks carried no pain key or measures and the round trip could not work.
    from aiogram import Bot

    settings = Settings(
        _env_file=None,
        db={"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"},
        privacy={"pepper": "p" * 32},
    )
    bot_ = Bot("42:TEST")
    try:
        wiring = await bot.app.wire(settings, bot_, "otklik_test_bot")
        try:
            assert wiring.services.painmap is not None
            assert wiring.services.reporting._pain_map == wiring.services.painmap.sheet_lines
        finally:
            await wiring.close()
    finally:
        await bot_.session.close()


async def test_wire_scores_the_report_copies_stored_before_revision_0031(tmp_path: Any) -> None:
    # Issue 15 item 3: a migration cannot read the questionnaire files; the start-up gives the
    # copies stored unscored their overall score from the roles of the files served.
    from datetime import date

    from aiogram import Bot
    from sqlalchemy import select

    from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
    from storage.database import create_engine, create_session_factory
    from storage.migrate import upgrade_async
    from storage.models_reporting import ReportAnswer
    from storage.responses import ResponseStore

    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        # As stored before 0031: no roles, unscored. "initiative" is served without an overall
        # question (scored, no score); "retired" is not in the folder this start: it stays
        # unscored for a start whose folder has it, not scored without a score for good.
        for questionnaire in ("post_service", "initiative", "retired"):
            await ResponseStore(sessions).save(
                CompletedResponse(
                    questionnaire_id=questionnaire,
                    questionnaire_version=1,
                    kind="rating",
                    audience="external",
                    context=ResponseContext(service="passport"),
                    submitted_on=date(2026, 3, 2),
                    answers=(AnswerRow("overall", number=4), AnswerRow("obstacles", "queue")),
                )
            )
    finally:
        await engine.dispose()

    settings = Settings(_env_file=None, db={"url": url}, privacy={"pepper": "p" * 32})
    bot_ = Bot("42:TEST")
    try:
        wiring = await bot.app.wire(settings, bot_, "otklik_test_bot")
        await wiring.close()
    finally:
        await bot_.session.close()

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            copies = (await session.execute(select(ReportAnswer))).scalars().all()
    finally:
        await engine.dispose()
    assert {(copy.questionnaire_id, copy.overall_score, copy.scored) for copy in copies} == {
        ("post_service", 4, True),
        ("initiative", None, True),
        ("retired", None, False),
    }


async def test_otklik_web_freezes_the_heap_once_its_front_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15: `otklik web` alone left its start-up heap (and the young generation's default
    threshold) to the collector, unlike the bot process the web bench stands for."""
    steps: list[str] = []

    async def fake_wire(*_args: Any, **_kwargs: Any) -> Any:
        steps.append("wired")

        async def close() -> None:
            steps.append("closed")

        return SimpleNamespace(
            services=SimpleNamespace(
                responses=None,
                feedback=SimpleNamespace(today=None),
                funnel=None,
                opt_ins=None,
                activity=None,
                campaigns=None,
            ),
            engine=SimpleNamespace(dialect=SimpleNamespace(name="postgresql")),
            sql_storage=None,
            close=close,
        )

    class FakeScheduler:
        running = False

        def get_jobs(self) -> list[Any]:
            return []

        def start(self) -> None:
            self.running = True

        def shutdown(self, wait: bool) -> None:
            self.running = False

    @asynccontextmanager
    async def front(_wiring: Any) -> AsyncIterator[None]:
        steps.append("front")
        yield

    def freeze() -> int:
        steps.append("frozen")
        return 1

    async def serve_until_stopped() -> None:
        steps.append("serving")

    monkeypatch.setattr(bot.web, "wire", fake_wire)
    monkeypatch.setattr(bot.web, "create_scheduler", lambda *_a, **_k: FakeScheduler())
    monkeypatch.setattr(bot.web, "freeze_startup_heap", freeze)
    monkeypatch.setattr(bot.web, "serve_until_stopped", serve_until_stopped)
    await bot.web.serve_without_telegram(Settings(_env_file=None), front)
    assert steps == ["wired", "front", "frozen", "serving", "closed"]
