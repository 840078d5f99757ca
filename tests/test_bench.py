"""The answer-pipeline benchmark keeps working against the production wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.answer_pipeline import find_floor, load_floor, measure


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
