"""Start-up and the command line speak like a tool: deployer mistakes give one explained line
and exit code 2 (3 for an unreachable Telegram), never a traceback; start-up is quiet; paths
follow OTKLIK_HOME, not the current folder."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.cli import main
from bot.problems import EXIT_UNAVAILABLE, Problem
from bot.startup import first_contact
from questionnaires.errors import Defect, DefinitionError
from tests.botapi.emulator import BotApiEmulator
from tests.storage.conftest import pg_url

REPO: Final = Path(__file__).resolve().parent.parent
_VENV_PYTHON: Final = REPO / ".venv" / "bin" / "python"
#: The project's own interpreter, so the process sees exactly the installed dependencies.
PYTHON: Final = _VENV_PYTHON if _VENV_PYTHON.exists() else Path(sys.executable)
TOKEN: Final = "123456:STARTUP-TEST-TOKEN"
PEPPER: Final = "startup-pepper-0123456789-abcdef"
#: Importing aiogram alone takes 5-10 s on a busy two-core machine.
PROCESS_TIMEOUT_S: Final = 90.0
BROKEN: Final = REPO / "tests" / "fixtures" / "broken"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _env(home: Path, **settings: str) -> dict[str, str]:
    """A process environment from scratch: nothing leaks in from the test run."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "OTKLIK_HOME": str(home),
        "PRIVACY__PEPPER": PEPPER,
        **settings,
    }


def _otklik(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = PROCESS_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _assert_explained(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    for word in words:
        assert word in result.stderr, result.stderr


# ---- settings and database mistakes: one line, exit 2 -------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("BOT__OFFICER_IDS", "123,abc", "setting BOT__OFFICER_IDS: item 2"),
        ("BODY__TIMEZONE", "Moscow", "did you mean Europe/Moscow?"),
        ("PRIVACY__PEPPER", "short", "PRIVACY__PEPPER: is 5 bytes long, at least 16"),
    ],
)
def test_a_settings_mistake_is_one_line_and_exit_code_2(
    variable: str,
    value: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    home: Path,
) -> None:
    monkeypatch.setenv("OTKLIK_HOME", str(home))
    monkeypatch.setenv(variable, value)
    for command in (["db", "upgrade"], ["run"], ["links"]):
        assert main(command) == 2
        captured = capsys.readouterr()
        (line,) = captured.err.splitlines()
        assert words in line and "; example: " in line
        assert "Traceback" not in captured.err
    assert not (home / "data" / "otklik.db").exists()


def test_verbose_adds_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    monkeypatch.setenv("OTKLIK_HOME", str(home))
    monkeypatch.setenv("BODY__TIMEZONE", "Moscow")
    assert main(["--verbose", "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("example: BODY__TIMEZONE=Europe/Moscow")
    assert main(["db", "upgrade", "--verbose"]) == 2  # after the command too
    assert "Traceback" in capsys.readouterr().err


def test_officer_ids_with_commas_no_longer_break_db_upgrade(home: Path, elsewhere: Path) -> None:
    result = _otklik("db", "upgrade", env=_env(home, BOT__OFFICER_IDS="123,456"), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "database at revision head" in result.stdout


def test_a_settings_mistake_in_a_real_process_has_no_traceback(
    home: Path, elsewhere: Path
) -> None:
    result = _otklik("db", "upgrade", env=_env(home, BOT__OFFICER_IDS="12a"), cwd=elsewhere)
    _assert_explained(result, 2, "setting BOT__OFFICER_IDS", "example: BOT__OFFICER_IDS=")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_downgrade_revision_lists_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    monkeypatch.setenv("OTKLIK_HOME", str(home))
    assert main(["db", "downgrade", "0042"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "unknown revision '0042'" in line and "0001" in line and "'base'" in line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting is refused


def test_a_database_server_that_is_not_running_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    monkeypatch.setenv("OTKLIK_HOME", str(home))
    port = _free_port()
    monkeypatch.setenv("DB__URL", f"postgres://otklik:secret@127.0.0.1:{port}/otklik")
    assert main(["db", "upgrade"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"nothing listens at 127.0.0.1:{port}" in line
    assert "postgresql+asyncpg://otklik:***@" in line and "secret" not in line


@pytest.mark.postgres
def test_a_missing_postgres_database_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("OTKLIK_HOME", str(home))
    missing = make_url(pg_url()).set(drivername="postgres", database="otklik_no_such_db")
    monkeypatch.setenv("DB__URL", missing.render_as_string(hide_password=False))
    assert main(["db", "upgrade"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "has no database 'otklik_no_such_db'" in line and "createdb" in line


# ---- Telegram unreachable or stalled at start ---------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback socket that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused", "stalled"])
def test_unreachable_telegram_is_retried_then_explained(
    kind: str, request: pytest.FixtureRequest, home: Path, elsewhere: Path
) -> None:
    port = request.getfixturevalue("silent_server") if kind == "stalled" else _free_port()
    env = _env(
        home,
        BOT__TOKEN=TOKEN,
        BOT__API_BASE_URL=f"http://127.0.0.1:{port}",
        BOT__CONNECT_TIMEOUT="1",
        BOT__CONNECT_RETRY_SECONDS="2.5",
    )
    started = time.monotonic()
    result = _otklik("run", env=env, cwd=elsewhere)
    elapsed = time.monotonic() - started
    what = "is unreachable" if kind == "refused" else "did not answer within 1 s"
    _assert_explained(result, EXIT_UNAVAILABLE, f"Telegram {what} (http://127.0.0.1:{port}/bot")
    assert "retrying in 1 s" in result.stderr  # at least one retry with backoff
    assert "gave up after" in result.stderr and "BOT__PROXY" in result.stderr
    assert "BOT__API_BASE_URL" in result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr
    assert elapsed < PROCESS_TIMEOUT_S
    problems = [line for line in result.stderr.splitlines() if "Telegram" in line]
    assert all(len(line) < 400 for line in problems)


async def test_first_contact_backs_off_exponentially_until_the_deadline() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{_free_port()}"))
    bot = Bot(TOKEN, session=session)
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 5:
            raise asyncio.CancelledError

    try:
        with pytest.raises(asyncio.CancelledError):
            await first_contact(bot, base_url="http://x", timeout=1, retry_for=3600, sleep=sleep)
        assert delays == [1, 2, 4, 8, 16]
        with pytest.raises(Problem) as caught:
            await first_contact(bot, base_url="http://x", timeout=1, retry_for=0, sleep=sleep)
        assert caught.value.exit_code == EXIT_UNAVAILABLE
        assert "gave up after 1 attempt(s)" in str(caught.value)
    finally:
        await bot.session.close()


# ---- a quiet start, with a broken questionnaire -------------------------------------------------


@pytest.mark.e2e
async def test_start_up_is_quiet_and_survives_a_yaml_bomb(home: Path, elsewhere: Path) -> None:
    folder = home / "questionnaires"
    shutil.copytree(REPO / "questionnaires" / "definitions", folder)
    shutil.copy(BROKEN / "25_billion_laughs.yaml", folder / "zz_bomb.yaml")
    shutil.copy(BROKEN / "26_self_reference.yaml", folder / "zz_loop.yaml")
    async with BotApiEmulator(token=TOKEN) as api:
        env = _env(
            home,
            BOT__TOKEN=api.token,
            BOT__API_BASE_URL=api.base_url,
            CONTENT__QUESTIONNAIRES_DIR="questionnaires",  # relative: inside the home
        )
        process = await asyncio.create_subprocess_exec(
            str(PYTHON), "-m", "bot", "run",
            cwd=elsewhere, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(PROCESS_TIMEOUT_S):
                while not any(call.method == "getUpdates" for call in api.requests):
                    assert process.returncode is None
                    await asyncio.sleep(0.1)
        finally:
            process.terminate()
            output, _ = await process.communicate()
    log = output.decode()
    lines = log.strip().splitlines()
    assert "Traceback" not in log, log
    assert not [line for line in lines if "alembic" in line or "font" in line.lower()], log
    assert all(len(line) < 400 for line in lines), log
    assert "Otklik 0.1.0 starting: home" in log and "database sqlite+aiosqlite:///" in log
    assert f"{home}/data/otklik.db" in log  # the home's data folder, not the current one
    assert "Questionnaires: 4 loaded" in log and "2 file(s) disabled" in log
    disabled = [line for line in lines if "ERROR" in line]
    assert len(disabled) == 2 and all("Questionnaire disabled: " in d for d in disabled), log
    assert len(lines) <= 14, log
    assert not (elsewhere / "data").exists()
    assert (home / "data" / "matplotlib").is_dir()  # the font cache, built once, kept there


# ---- the home folder, pipes, validate and preview -----------------------------------------------


def test_the_home_folder_holds_env_and_data_whatever_the_current_folder(
    home: Path, elsewhere: Path
) -> None:
    (home / ".env").write_text("BOT__USERNAME=home_env_bot\n", encoding="utf-8")
    env = _env(home)
    del env["PRIVACY__PEPPER"]
    links = _otklik("links", env=env, cwd=elsewhere)
    assert links.returncode == 0, links.stderr
    assert "https://t.me/home_env_bot?start=" in links.stdout
    upgraded = _otklik("db", "upgrade", env=env, cwd=elsewhere)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (home / "data" / "otklik.db").is_file()
    assert not (elsewhere / "data").exists()


def test_a_closed_pipe_ends_output_quietly(home: Path, elsewhere: Path) -> None:
    # `otklik links | head`: the reader is gone before the first line is written.
    process = subprocess.Popen(
        [str(PYTHON), "-m", "bot", "links", "--username", "pipe_bot", "--life-situations"],
        env=_env(home),
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=PROCESS_TIMEOUT_S)
    assert "BrokenPipeError" not in err and "Traceback" not in err, err
    assert "Exception ignored" not in err, err


def test_validate_says_the_bot_starts_without_a_broken_questionnaire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "questionnaires" / "definitions", tmp_path / "q")
    (tmp_path / "q" / "deep_external.yaml").write_text("id: [\n", encoding="utf-8")
    assert main(["validate", "--questionnaires", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err
    assert "1 questionnaire file(s) broken: the bot starts without them" in err
    # The shipped campaigns poll with deep_external: disabled, not reported as unknown.
    assert "campaigns: checked without the broken questionnaires" in err
    assert "(deep_external)" in err and "unknown questionnaire" not in err


def test_preview_refuses_an_unknown_service_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("5\n"))
    assert main(["preview", "post_service", "--service", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--service nope: no such code" in err and "licensing" in err


async def test_the_proxy_setting_reaches_the_telegram_session(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    from bot.app import create_bot
    from bot.settings import Settings

    monkeypatch.setenv("OTKLIK_HOME", str(home))
    monkeypatch.setenv("BOT__TOKEN", TOKEN)
    monkeypatch.setenv("BOT__PROXY", "socks5://user:pw@127.0.0.1:1080")
    bot = create_bot(Settings())
    try:
        assert isinstance(bot.session, AiohttpSession)
        assert bot.session.proxy == "socks5://user:pw@127.0.0.1:1080"
        assert "Proxy" in bot.session._connector_type.__name__
    finally:
        await bot.session.close()


def test_a_broken_questionnaire_disables_only_itself_and_its_campaigns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.content import load_content
    from bot.settings import ContentSettings

    shutil.copytree(REPO / "questionnaires" / "definitions", tmp_path / "q")
    shutil.copy(BROKEN / "26_self_reference.yaml", tmp_path / "q" / "deep_external.yaml")
    defaults = ContentSettings()
    with caplog.at_level("INFO"):
        content = load_content(tmp_path / "q", defaults.catalog_path, defaults.campaigns_path)
    assert set(content.questionnaires) == {"initiative", "post_service", "staff"}
    assert content.campaigns.campaigns  # the staff poll still runs
    assert all(c.questionnaire != "deep_external" for c in content.campaigns.campaigns)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("Campaign" in e and "deep_external is broken" in e for e in errors)
    assert any(e.startswith("Questionnaire disabled: ") for e in errors)


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), "nothing listens at 127.0.0.1:"),
        (
            DefinitionError([Defect("catalog.yaml", (), "boom", 3)]),
            "catalog.yaml:3: (document): boom",
        ),
    ],
    ids=["database down", "broken catalog"],
)
def test_run_explains_what_stops_the_start(
    failure: Exception,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    home: Path,
) -> None:
    async def serve(settings: object) -> None:
        raise failure

    monkeypatch.setenv("OTKLIK_HOME", str(home))
    monkeypatch.setenv("BOT__TOKEN", TOKEN)
    monkeypatch.setenv("DB__URL", f"postgresql+asyncpg://otklik@127.0.0.1:{_free_port()}/x")
    monkeypatch.setattr("bot.app.serve", serve)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
