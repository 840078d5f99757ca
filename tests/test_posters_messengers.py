"""Issue 13, item 2: links and posters per messenger (`--messenger telegram|max|web|both`)."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import segno

from bot.posters import (
    PAGE_HEIGHT_IN,
    PAGE_WIDTH_IN,
    PAIR_GAP_IN,
    PAIR_LABEL_SIZE,
    PAIR_QR_SIZE_IN,
    QR_BOX,
    QR_SIZE_IN,
    QR_TOP_IN,
    add_commands,
)
from questionnaires.deeplinks import max_start_link, start_link

SVG = "{http://www.w3.org/2000/svg}"
USERNAME = "otklik_test_bot"
MAX_NAME = "otklik_max_bot"
PUBLIC = "https://otklik.example.gov.ru"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no developer's .env is read
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("BOT__USERNAME", USERNAME)
    monkeypatch.setenv("MAX__BOT_NAME", MAX_NAME)
    return monkeypatch


def _links(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    return {payload: link for payload, _, _, link in lines}


def test_a_max_link_is_max_ru_with_the_start_payload() -> None:
    # dev.max.ru/help/deeplinks: https://max.ru/<botName>?start=<payload>, up to 128 chars.
    assert max_start_link(MAX_NAME, "licensing_site") == (
        f"https://max.ru/{MAX_NAME}?start=licensing_site"
    )
    for name, payload in (("@bot", "x"), ("my bot", "x"), ("https://max.ru/b", "x")):
        with pytest.raises(ValueError):
            max_start_link(name, payload)
    with pytest.raises(ValueError):
        max_start_link(MAX_NAME, "../admin")


def test_links_for_max_lead_to_the_max_bot_and_need_no_telegram_username(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("BOT__USERNAME")
    assert run(["links", "--messenger", "max"]) == 0
    links = _links(capsys)
    assert links and all(
        link == f"https://max.ru/{MAX_NAME}?start={payload}" for payload, link in links.items()
    )


def test_links_for_max_without_a_bot_name_are_refused_with_where_to_set_it(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("MAX__BOT_NAME")
    assert run(["links", "--messenger", "max"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "MAX__BOT_NAME" in captured.err and "--max-bot-name" in captured.err
    # The option names it as well.
    assert run(["links", "--messenger", "max", "--max-bot-name", "other_bot"]) == 0
    assert "https://max.ru/other_bot?start=" in capsys.readouterr().out


def test_links_for_the_web_lead_every_channel_to_the_web_form_or_are_refused(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["links", "--messenger", "web"]) == 2
    assert "WEB__PUBLIC_URL" in capsys.readouterr().err
    env.setenv("WEB__PUBLIC_URL", PUBLIC)
    assert run(["links", "--messenger", "web"]) == 0
    links = _links(capsys)
    assert "licensing_office" in links
    assert all(link == f"{PUBLIC}/r/{payload}" for payload, link in links.items())


def test_links_for_telegram_keep_the_site_channel_in_telegram(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEB__PUBLIC_URL", PUBLIC)
    assert run(["links", "--messenger", "telegram"]) == 0
    links = _links(capsys)
    assert links["licensing_site"] == start_link(USERNAME, "licensing_site")
    assert all(link.startswith(f"https://t.me/{USERNAME}?start=") for link in links.values())


def _drawn(
    pixels: np.ndarray, left_in: float, top_in: float, side_in: float, size: int
) -> list[list[bool]]:
    height, width = pixels.shape[:2]
    scale_x, scale_y = width / PAGE_WIDTH_IN, height / PAGE_HEIGHT_IN
    module = side_in / size
    return [
        [
            pixels[
                int((top_in + (row + 0.5) * module) * scale_y),
                int((left_in + (col + 0.5) * module) * scale_x),
                :3,
            ]
            .mean()
            .item()
            < 0.5
            for col in range(size)
        ]
        for row in range(size)
    ]


def _matrix(link: str) -> list[list[bool]]:
    code = segno.make_qr(link, error="M", boost_error=True)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=4)]


def test_qr_for_max_writes_posters_of_the_max_link_named_by_messenger(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "posters"
    argv = ["qr", "--out", str(out), "--service", "licensing", "--channel", "office"]
    assert run([*argv, "--messenger", "max"]) == 0
    names = ["licensing_office.max.png", "licensing_office.max.svg"]
    assert capsys.readouterr().out.split() == [str(out / name) for name in names]
    expected = _matrix(max_start_link(MAX_NAME, "licensing_office"))
    pixels = matplotlib.image.imread(out / names[0])
    left = QR_BOX[0] * PAGE_WIDTH_IN
    assert _drawn(pixels, left, QR_TOP_IN, QR_SIZE_IN, len(expected)) == expected


def test_qr_both_puts_the_telegram_and_max_codes_side_by_side(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "posters"
    argv = ["qr", "--out", str(out), "--service", "licensing", "--channel", "office"]
    assert run([*argv, "--messenger", "both"]) == 0
    png, svg = out / "licensing_office.both.png", out / "licensing_office.both.svg"
    assert capsys.readouterr().out.split() == [str(png), str(svg)]
    links = [
        start_link(USERNAME, "licensing_office"),
        max_start_link(MAX_NAME, "licensing_office"),
    ]
    pixels = matplotlib.image.imread(png)
    total = 2 * PAIR_QR_SIZE_IN + PAIR_GAP_IN
    top = QR_TOP_IN + (QR_SIZE_IN - PAIR_QR_SIZE_IN - PAIR_LABEL_SIZE / 72 * 2) / 2
    for index, link in enumerate(links):
        expected = _matrix(link)
        left = (PAGE_WIDTH_IN - total) / 2 + index * (PAIR_QR_SIZE_IN + PAIR_GAP_IN)
        assert _drawn(pixels, left, top, PAIR_QR_SIZE_IN, len(expected)) == expected, link
    # Both links, named, for those who cannot scan and for screen readers.
    desc = ET.parse(svg).getroot().find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert f"Telegram: {links[0]}" in desc.text and f"MAX: {links[1]}" in desc.text


def test_qr_both_without_a_max_bot_name_is_refused(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env.delenv("MAX__BOT_NAME")
    assert run(["qr", "--out", str(tmp_path / "p"), "--messenger", "both"]) == 2
    assert "MAX__BOT_NAME" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
