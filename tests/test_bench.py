"""The answer-pipeline benchmark keeps working against the production application."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession

import bot.app
from bench.answer_pipeline import (
    bench_settings,
    find_floor,
    load_floor,
    measure,
    pipeline_on,
    tracking_session,
)
from bot.settings import Settings


def test_a_missing_floor_is_explained(tmp_path: Path) -> None:
    missing = tmp_path / "realistic_floor.py"
    with pytest.raises(SystemExit) as stopped:
        load_floor(missing)
    message = str(stopped.value)
    assert str(missing) in message and "--floor" in message


async def test_whole_dialogs_run_through_the_wiring_and_the_floor_in_pairs() -> None:
    floor_path = find_floor()
    if not floor_path.is_file():
        pytest.skip(f"the shared reference floor is not at {floor_path}")
    floor = load_floor(floor_path)
    [row] = await measure(floor, "sqlite", [2], pairs=2, updates=10)
    assert len(row.floor) == len(row.runs) == 2
    assert all(rate > 0 for rate in row.floor)
    # A press that found no keyboard (a failed step, a lost state) would have raised.
    assert all(run.presses_per_second > 0 and run.updates_per_second > 0 for run in row.runs)


@pytest.mark.postgres
@pytest.mark.redis
async def test_the_workers_bench_drives_real_webhook_workers_on_both_backends() -> None:
    """bench/workers_bench.py at a tiny size: one SQLite process and one PostgreSQL + Redis
    worker, two dialogs each, every update acknowledged and timed, the table printed."""
    from bench.workers_bench import measure, report

    baseline = await measure("sqlite", 1, 2)
    [worker] = [await measure("postgresql", 1, 2)]
    for result in (baseline, worker):
        assert result.updates == 2 * 7 and len(result.latencies) == 14
        assert result.per_second > 0 and result.p95_ms > 0
        assert set(result.cpu) == {"workers", "postgres", "redis", "feeder"}
    table = report(baseline, [worker])
    assert "SQLite (webhook)" in table and "PostgreSQL + Redis" in table


def _name(thing: object) -> str:
    """A middleware, filter or handler by what it is: a function's qualified name, an
    instance's class (a bound method: its instance's class and the method)."""
    owner = getattr(thing, "__self__", None)
    if owner is not None:
        return f"{type(owner).__qualname__}.{getattr(thing, '__name__', '?')}"
    qualname = getattr(thing, "__qualname__", None)
    return qualname if isinstance(qualname, str) else type(thing).__qualname__


def dispatcher_shape(router: Router) -> list[object]:
    """Every router in order, each observer's middlewares (outer and inner) and handlers with
    their filters: what decides the work an update costs."""
    # An unnamed router is named by its id: the class stands for it here.
    shape: list[object] = [
        type(router).__name__ if router.name == hex(id(router)) else router.name
    ]
    for event, observer in router.observers.items():
        shape.append(
            (
                event,
                [_name(m) for m in observer.outer_middleware],
                [_name(m) for m in observer.middleware],
                [
                    (_name(h.callback), [_name(f.callback) for f in h.filters or ()])
                    for h in observer.handlers
                ],
            )
        )
    shape += [dispatcher_shape(sub) for sub in router.sub_routers]
    return shape


async def test_the_bench_measures_the_dispatcher_the_bot_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review (issue 15): the bench once built its own dispatcher and missed the metrics
    # middleware the bot process adds. What `serve` polls with and what the bench feeds must
    # have the same middlewares, routers and handlers.
    floor_path = find_floor()
    if not floor_path.is_file():
        pytest.skip(f"the shared reference floor is not at {floor_path}")
    floor = load_floor(floor_path)
    real_create_bot = bot.app.create_bot

    def offline_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
        return real_create_bot(settings, tracking_session(floor))

    served: list[list[object]] = []

    async def capture(_bot: Bot, dispatcher: Dispatcher, *_args: object) -> None:
        served.append(dispatcher_shape(dispatcher))

    monkeypatch.setattr(bot.app, "create_bot", offline_bot)
    monkeypatch.setattr(bot.app, "poll", capture)
    monkeypatch.setattr(bot.app, "freeze_startup_heap", lambda: 0)
    await bot.app.serve(bench_settings(f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"))
    [polled] = served
    monkeypatch.undo()

    async with pipeline_on(floor, f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}") as pipeline:
        measured = dispatcher_shape(pipeline.dispatcher)
    assert measured == polled
    update_outer = next(o for o in measured[1:] if isinstance(o, tuple) and o[0] == "update")
    assert "UpdateMetrics" in update_outer[1]
