"""The report benchmark keeps working: a covering floor (asserted), every section, cached data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report_bench
from bot.content import load_content
from reports.model import QuestionnaireRoles
from storage.database import create_engine, create_session_factory


async def test_the_report_bench_runs_on_a_small_cached_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_bench, "CACHE_DIR", tmp_path)
    roles = QuestionnaireRoles.from_questionnaires(
        dict(load_content(*report_bench.content_paths()).questionnaires)
    )
    medians = await report_bench.run_sqlite(3_000, roles, pairs=1, fresh=False)
    assert set(medians) >= {"report data, all services", "/report delivered (text + charts)"}
    assert all(value > 0 for value in medians.values())
    [cached] = tmp_path.glob("report_3000_*.db")  # noqa: ASYNC240
    # The second run reuses the database and still finds the floor covering.
    await report_bench.run_sqlite(3_000, roles, pairs=1, fresh=False)
    assert list(tmp_path.glob("report_3000_*.db")) == [cached]  # noqa: ASYNC240
    assert "cached" in capsys.readouterr().out


async def test_a_floor_that_reads_the_table_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'floor.db'}")
    try:
        async with engine.begin() as connection:
            # The floor's table with indexes of its names that do not cover the queries.
            await connection.exec_driver_sql(report_bench.FLOOR_DDL[0])
            for name in (
                "ix_bench_floor_cells",
                "ix_bench_floor_options",
                "ix_bench_floor_texts",
            ):
                await connection.exec_driver_sql(
                    f"CREATE INDEX {name} ON bench_floor (question_id)"
                )
        with pytest.raises(AssertionError, match="not a covering-index scan"):
            await report_bench.assert_covering(create_session_factory(engine), "sqlite")
    finally:
        await engine.dispose()
