"""Fixtures for end-to-end tests: the real `python -m bot run` process against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from tests.botapi.emulator import BotApiEmulator, BotMessage, EmulatedUser

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
# The project's own interpreter, so the process sees exactly the installed dependencies.
PYTHON: Final = next(
    (p for p in (REPO_ROOT / ".venv" / "bin" / "python",) if p.exists()), Path(sys.executable)
)
TOKEN: Final = "123456:E2E-TEST-TOKEN"
PEPPER: Final = "e2e-pepper-0123456789-abcdefghijklmnop"
#: Importing aiogram alone takes 5-10 s on a busy two-core machine; the rest is quick.
READY_TIMEOUT_S: Final = 20.0
STOP_GRACE_S: Final = 5.0
STEP_TIMEOUT_S: Final = 5.0
#: Every e2e test, setup and teardown included, must end within this (see e2e_budget).
TEST_BUDGET_S: Final = 30.0

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Remember each phase's outcome so teardown can print the bot logs of a failed test.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@dataclass
class BotProcess:
    """One running (or finished) bot process and the file holding its stdout and stderr."""

    process: asyncio.subprocess.Process
    log_path: Path
    #: Index into the emulator's request list when the process was started.
    first_request: int

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def kill(self) -> None:
        """SIGKILL: a crash, nothing gets a chance to flush or close."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM (what systemd sends) and wait for a graceful exit; SIGKILL if it hangs."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_GRACE_S):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()
        return await self.process.wait()


@dataclass
class BotLauncher:
    """Starts bot processes in one scratch directory on one database and one emulator."""

    api: BotApiEmulator
    workdir: Path
    processes: list[BotProcess] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.workdir / "db" / "otklik.db"

    def env(self, *, log_level: str = "INFO", **settings: str) -> dict[str, str]:
        """The process environment, built from scratch: nothing leaks in from the test run."""
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            # The home folder (.env, data/): the scratch cwd, never the project's own .env.
            "OTKLIK_HOME": str(self.workdir / "cwd"),
            "BOT__TOKEN": self.api.token,
            "BOT__API_BASE_URL": self.api.base_url,
            "DB__URL": f"sqlite+aiosqlite:///{self.db_path}",
            "PRIVACY__PEPPER": PEPPER,
            "LOG_LEVEL": log_level,
            # One font cache for every process of the run: building it takes seconds per start.
            "MPLCONFIGDIR": str(Path(tempfile.gettempdir()) / "otklik-e2e-matplotlib"),
            **settings,
        }

    async def spawn(self, env: dict[str, str]) -> BotProcess:
        """Start `python -m bot run` with `env`; cwd is the scratch dir (it writes data/ there)."""
        cwd = self.workdir / "cwd"
        cwd.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / f"bot-{len(self.processes) + 1}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                str(PYTHON), "-m", "bot", "run",
                cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        bot = BotProcess(process, log_path, len(self.api.requests))
        self.processes.append(bot)
        return bot

    async def start(self, *, log_level: str = "INFO", **settings: str) -> BotProcess:
        """Start the bot and return once it long-polls (its first getUpdates reached the API)."""
        bot = await self.spawn(self.env(log_level=log_level, **settings))
        await self.wait_ready(bot)
        return bot

    async def wait_ready(self, bot: BotProcess, timeout: float = READY_TIMEOUT_S) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not any(
            call.method == "getUpdates" for call in self.api.requests[bot.first_request :]
        ):
            if bot.returncode is not None:
                pytest.fail(f"bot exited with {bot.returncode} before polling:\n{bot.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"bot did not poll within {timeout}s:\n{bot.log_text()}")
            await asyncio.sleep(0.05)

    async def run_to_exit(
        self,
        env: dict[str, str],
        timeout: float = READY_TIMEOUT_S,  # noqa: ASYNC109
    ) -> tuple[int, str]:
        """Run a process that is expected to end by itself; its exit code and output."""
        bot = await self.spawn(env)
        try:
            async with asyncio.timeout(timeout):
                code = await bot.process.wait()
        except TimeoutError:
            pytest.fail(f"bot still running after {timeout}s:\n{bot.log_text()}")
        return code, bot.log_text()

    def kill_all_now(self) -> None:
        """Synchronous SIGKILL of every live process: works even if the event loop is gone."""
        for bot in self.processes:
            if bot.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(bot.pid, signal.SIGKILL)


@pytest.fixture(autouse=True)
def e2e_budget() -> Iterator[None]:
    """Fail an e2e test (setup and teardown included) that takes longer than the budget."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < TEST_BUDGET_S, f"e2e test took {elapsed:.1f}s, budget {TEST_BUDGET_S}s"


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def launcher(
    api: BotApiEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[BotLauncher]:
    launcher = BotLauncher(api, tmp_path)
    try:
        yield launcher
    finally:
        launcher.kill_all_now()  # no matter how the test ended
        for bot in launcher.processes:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE_S):
                    await bot.process.wait()
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            for bot in launcher.processes:
                print(f"----- {bot.log_path.name} (pid {bot.pid}, exit {bot.returncode}) -----")
                print(bot.log_text()[-20_000:])


# ---- dialog and database helpers used by the tests -------------------------------------------


async def wait_for_message(
    user: EmulatedUser,
    fragment: str,
    timeout: float = STEP_TIMEOUT_S,  # noqa: ASYNC109
) -> BotMessage:
    """The bot's latest message in the chat, once its text contains `fragment`."""
    deadline = time.monotonic() + timeout
    while True:
        message = await user.last_bot_message(timeout=timeout)
        if fragment in (message.text or ""):
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no bot message with {fragment!r}; last: {message.text!r}")
        await asyncio.sleep(0.02)


async def wait_for_button(
    user: EmulatedUser,
    text: str,
    timeout: float = STEP_TIMEOUT_S,  # noqa: ASYNC109
) -> None:
    """Wait until the bot's latest keyboard shows a button labelled exactly `text`."""
    deadline = time.monotonic() + timeout
    while True:
        message = await user.last_bot_message(timeout=timeout)
        labels = [button["text"] for button in message.buttons]
        if text in labels:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no button {text!r}; shown: {labels}")
        await asyncio.sleep(0.02)


async def press(user: EmulatedUser, button: str, then: str) -> BotMessage:
    """Press a button, then wait for the bot's reply containing `then`.

    Waiting matters: the next press must not hit a button of the keyboard before the edit.
    """
    await user.click(button)
    return await wait_for_message(user, then)


def read_rows(db_path: Path, table: str) -> list[dict[str, object]]:
    """All rows of `table`, read with the stdlib driver (no project code involved)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(f'SELECT * FROM "{table}"')]
