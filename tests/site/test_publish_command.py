"""`otklik publish --out DIR` and the job that regenerates the site when PUBLISH__DIR is set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.cli import main
from bot.settings import Settings
from scheduler.jobs import PUBLISH_JOB, add_publish_job, publish_site
from tests.seeding import seed_ratings
from tests.site.pages import number, page, tables


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("DB__URL", url)
    monkeypatch.setenv("PRIVACY__MIN_GROUP_SIZE", "5")
    monkeypatch.setenv("BODY__NAME", "Комитет по тестам")
    assert main(["db", "upgrade"]) == 0
    seed_ratings(url, [5, 5, 4, 2, 1, 4], date(2025, 8, 15), "licensing")
    seed_ratings(url, [5, 4, 5, 3, 5], date(2025, 8, 20), "appeals")
    return url


def test_publish_writes_the_site_with_the_reports_figures(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    assert main(["publish", "--out", str(out), "--today", "2025-11-03"]) == 0
    assert f"to {out}" in capsys.readouterr().out
    overview = page(out / "ru" / "index.html")
    assert "Комитет по тестам" in overview.get_text()
    overall = next(iter(tables(overview).values()))[0]
    # Q3 2025: 11 ratings, 8 of them 4 or 5; mean 43/11.
    assert int(overall["Оценок (n)"]) == 11
    assert number(overall["Довольны (CSAT), %"]) == round(100 * 8 / 11, 1)
    assert number(overall["Средняя оценка из 5"]) == round(43 / 11, 2)
    assert (out / "en" / "services" / "licensing.html").is_file()
    assert (out / "style.css").is_file() and (out / "index.html").is_file()


def test_publish_needs_a_folder(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish"]) == 2
    assert "give --out DIR (or set PUBLISH__DIR)" in capsys.readouterr().err
    occupied = tmp_path / "a-file"
    occupied.write_text("x")
    assert main(["publish", "--out", str(occupied)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_publish_dir_setting_is_where_the_command_writes_by_default(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISH__DIR", "public")  # relative: in the home folder
    assert Settings().publish.dir == tmp_path / "public"
    assert main(["publish", "--today", "2025-11-03"]) == 0
    assert (tmp_path / "public" / "ru" / "index.html").is_file()


class Publisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[Path] = []

    async def refresh(self, out: Path) -> bool:
        self.calls.append(out)
        if self.fail:
            raise OSError("disk full")
        return True


async def test_the_publish_job_runs_at_start_and_every_quarter_hour(tmp_path: Path) -> None:
    scheduler = AsyncIOScheduler()
    publisher = Publisher()
    add_publish_job(scheduler, publisher, tmp_path)
    job = scheduler.get_job(PUBLISH_JOB)
    assert job is not None
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval.total_seconds() == 15 * 60
    assert job.kwargs == {"publisher": publisher, "out": tmp_path}
    assert job.next_run_time is not None  # the first run is right away, at start


async def test_a_failed_regeneration_is_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = Publisher(fail=True)
    assert await publish_site(publisher, tmp_path) is False
    assert "Public site not regenerated: OSError" in caplog.text
    publisher.fail = False
    assert await publish_site(publisher, tmp_path) is True
