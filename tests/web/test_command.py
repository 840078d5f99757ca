"""`otklik web` serves the front alone; `otklik run` starts it beside polling when enabled."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from tests.web.harness import PEPPER, TOKEN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT__", "WEB__", "DB__"))}
    env.update(
        OTKLIK_HOME=str(home),
        DB__URL=f"sqlite+aiosqlite:///{home / 'otklik.db'}",
        PRIVACY__PEPPER=PEPPER,
        WEB__PORT=str(port),
        PUBLISH__DIR=str(home / "site"),
    )
    return env


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_otklik_web_serves_forms_and_health_without_a_bot_token(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "web"],
        env=environment(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/readyz")
                break
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.3)
        assert status == 200, process.stdout.read() if process.stdout else status
        code, page = get(f"http://127.0.0.1:{port}/r/licensing_site")
        assert code == 200 and "удовлетворены услугой" in page
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    # SIGTERM (systemd, docker) ends it cleanly, after writing what waited in memory (review).
    assert process.returncode == 0, output
    assert "what waited in memory is written" in output
    assert "127.0.0.1 [" not in output  # aiohttp's default access line names the address
    # The quiet access log writes nothing per request at INFO, least of all a link's payload.
    assert "licensing_site" not in output and "/readyz" not in output


def test_otklik_web_on_a_taken_port_is_one_explained_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "bot", "web"],
            env=environment(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert f"WEB__PORT={port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_otklik_run_starts_the_web_front_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, enabled: bool
) -> None:
    seen: list[Any] = []

    async def fake_serve(settings: Settings, fronts: Any = None) -> None:
        seen.append(fronts)

    monkeypatch.setattr("bot.app.serve", fake_serve)
    from bot.main import run_bot

    settings = Settings(
        _env_file=None,
        bot={"token": TOKEN},
        db={"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"},
        web={"enabled": enabled},
    )
    assert run_bot(settings) == 0
    assert (seen[0] is not None) is enabled
    asyncio.set_event_loop(asyncio.new_event_loop())  # asyncio.run closed its own
