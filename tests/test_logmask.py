"""The bot token never reaches a log line (issue 8, item 6)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logmask import MASK, TokenMaskFilter, install_token_filter

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ab"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.logmask")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    install_token_filter([TOKEN], logger)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_token_in_a_bot_api_url_is_masked(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.error("request failed: %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    output = stream.getvalue()
    assert TOKEN not in output and "AAEhBOweik6ad9r" not in output
    assert f"https://api.telegram.org/bot{MASK}/getMe" in output


def test_token_in_an_exception_traceback_is_masked(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    try:
        raise ConnectionError(f"Cannot connect to host api.telegram.org/bot{TOKEN}/getUpdates")
    except ConnectionError:
        logger.exception("polling failed")
    output = stream.getvalue()
    assert "Traceback" in output and "ConnectionError" in output
    assert TOKEN not in output and "AAEhBOweik6ad9r" not in output


def test_short_configured_token_and_unknown_token_shapes_are_masked() -> None:
    mask = TokenMaskFilter(["123:ABC-short"])
    assert "ABC-short" not in mask.mask("GET https://api.telegram.org/bot123:ABC-short/getMe")
    assert "ABC-short" not in mask.mask("token=123:ABC-short")
    other = "987654321:ZZZhBOweik6ad9r_QXMENQjcrGbqCr4K-zz"
    assert "ZZZhBOweik6ad9r" not in TokenMaskFilter().mask(f"oops {other} leaked")
    assert TokenMaskFilter().mask("at 2026-11-30 04:49:19, 12 items") == (
        "at 2026-11-30 04:49:19, 12 items"
    )


def test_the_bot_process_masks_the_token_in_every_log_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.app
    from bot.main import run_bot
    from bot.settings import BotSettings, Settings

    async def fake_serve(settings: Settings) -> None:
        logging.getLogger("aiogram.dispatcher").error(
            "Failed to fetch updates - ClientConnectorError: https://api.telegram.org/bot%s/getMe",
            TOKEN,
        )

    monkeypatch.setattr(bot.app, "serve", fake_serve)
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        settings = Settings(bot=BotSettings.model_validate({"token": TOKEN}))
        assert run_bot(settings) == 0
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved
    err = capsys.readouterr().err
    assert "Failed to fetch updates" in err and TOKEN not in err
