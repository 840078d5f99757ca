"""QR posters and links of the site channel lead to the web form when WEB__PUBLIC_URL is set."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.posters import add_commands, poster_text, write_posters
from questionnaires.catalog import CATALOG_FILE, load_catalog
from questionnaires.deeplinks import LinkTarget, web_link

USERNAME = "otklik_test_bot"
PUBLIC = "https://otklik.example.gov.ru"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("BOT__USERNAME", USERNAME)
    return monkeypatch


def test_web_link_is_the_public_url_with_the_payload() -> None:
    assert web_link(PUBLIC + "/", "licensing_site") == f"{PUBLIC}/r/licensing_site"
    with pytest.raises(ValueError):
        web_link("otklik.example", "licensing_site")
    with pytest.raises(ValueError):
        web_link(PUBLIC, "../admin")


def test_links_point_the_site_channel_to_the_web_form_and_the_rest_to_the_bot(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEB__PUBLIC_URL", PUBLIC)
    assert run(["links"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    site = [link for payload, _, _, link in lines if payload.endswith("_site")]
    others = [link for payload, _, _, link in lines if not payload.endswith("_site")]
    assert site and all(link.startswith(f"{PUBLIC}/r/") for link in site)
    assert others and all(link.startswith(f"https://t.me/{USERNAME}?start=") for link in others)


def test_without_a_public_url_every_link_is_the_bot(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["links"]) == 0
    assert all("https://t.me/" in line for line in capsys.readouterr().out.splitlines())


def test_the_site_poster_carries_the_web_link(tmp_path: Path) -> None:
    catalog = load_catalog(CATALOG_FILE)
    target = LinkTarget("licensing", "site")
    text = poster_text(catalog, USERNAME, target, web_url=PUBLIC)
    assert text.link == f"{PUBLIC}/r/licensing_site"
    written = write_posters(catalog, USERNAME, tmp_path, [target], web_url=PUBLIC)
    svg = next(path for path in written if path.suffix == ".svg")
    assert f"{PUBLIC}/r/licensing_site" in svg.read_text(encoding="utf-8")
