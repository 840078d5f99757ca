"""Tests for the QR posters and the `links` and `qr` commands."""

from __future__ import annotations

import argparse
import struct
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import pytest
import segno

from bot.posters import CALL_TO_ACTION, QR_BOX, add_commands, write_posters
from questionnaires.catalog import CATALOG_FILE, Catalog, load_catalog, parse_catalog
from questionnaires.deeplinks import LinkTarget, all_targets, encode_payload, start_link
from questionnaires.schema import Language

SVG = "{http://www.w3.org/2000/svg}"
DC = "{http://purl.org/dc/elements/1.1/}"
USERNAME = "otklik_test_bot"
# Markup characters, quotes and a '$' (mathtext in matplotlib) in a title longer than a poster.
TRICKY_TITLE = (
    'Справки «ЖКХ» & <выписки> из "реестра" за $5 — '
    + "очень длинное название услуги, которое не помещается " * 4
).strip()

CATALOG_TEXT = f"""\
services:
  - code: licensing
    group: state_service
    title:
      ru: Лицензирование деятельности по управлению многоквартирными домами
      en: Licensing of apartment building management
  - code: tricky
    group: appeals
    title:
      ru: '{TRICKY_TITLE}'
    life_situations: [buying]
channels:
  - code: mfc
    kind: in_person
    title: {{ru: МФЦ, en: MFC}}
  - code: site
    kind: online
    title: {{ru: Официальный сайт}}
life_situations:
  - code: buying
    title: {{ru: Покупка квартиры}}
"""

TARGETS = (LinkTarget("licensing", "mfc"), LinkTarget("tricky", "site", "buying"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return parse_catalog(CATALOG_TEXT, "posters.yaml")


@pytest.fixture(scope="module")
def posters(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("posters") / "qr"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = write_posters(catalog, "@" + USERNAME, out, TARGETS)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing  # every Cyrillic glyph came from the bundled DejaVu Sans
    return files


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_png_and_an_svg_named_by_payload_per_target(posters: list[Path]) -> None:
    expected = []
    for target in TARGETS:
        payload = encode_payload(target)
        expected += [f"{payload}.png", f"{payload}.svg"]
    assert [path.name for path in posters] == expected
    assert all(path.is_file() and path.stat().st_size > 0 for path in posters)


def test_png_is_print_resolution_portrait(posters: list[Path]) -> None:
    for png in posters[::2]:
        width, height = png_size(png)
        assert width >= 1200
        assert height > width
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[:2] == (height, width)


@pytest.mark.parametrize("index", range(len(TARGETS)))
def test_png_shows_exactly_the_qr_code_of_the_start_link(posters: list[Path], index: int) -> None:
    link = start_link(USERNAME, encode_payload(TARGETS[index]))
    code = segno.make_qr(link, error="M", boost_error=True)
    assert code.error in ("M", "Q", "H")
    expected = [[bool(module) for module in row] for row in code.matrix_iter(border=4)]
    pixels = matplotlib.image.imread(posters[2 * index])
    height, width = pixels.shape[:2]
    left, bottom, box_width, _ = QR_BOX
    side = box_width * width
    top = (1 - bottom) * height - side
    module = side / len(expected)
    drawn = [
        [
            pixels[int(top + (row + 0.5) * module), int(left * width + (col + 0.5) * module), :3]
            .mean()
            .item()
            < 0.5
            for col in range(len(expected))
        ]
        for row in range(len(expected))
    ]
    assert drawn == expected
    assert not any(expected[0]) and not any(expected[-1])  # the quiet zone is white


def test_svg_parses_and_names_the_service_channel_and_link(
    catalog: Catalog, posters: list[Path]
) -> None:
    for target, svg in zip(TARGETS, posters[1::2], strict=True):
        root = ET.parse(svg).getroot()
        service = catalog.service(target.service)
        channel = catalog.channel(target.channel)
        assert service is not None and channel is not None
        link = start_link(USERNAME, encode_payload(target))
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title is not None and desc is not None
        assert title.text == service.title.ru
        assert desc.text is not None
        assert channel.title.ru in desc.text
        assert CALL_TO_ACTION[Language.RU] in desc.text
        assert link in desc.text
        assert link in [element.text for element in root.iter(f"{DC}description")]


def test_svg_is_pure_vector_with_text_as_outlines(posters: list[Path]) -> None:
    for svg in posters[1::2]:
        root = ET.parse(svg).getroot()
        assert root.find(f".//{SVG}image") is None  # the QR code is a path, not a bitmap
        assert root.find(f".//{SVG}text") is None  # glyphs drawn, no font needed to view it
        assert len(root.findall(f".//{SVG}path")) > 10


def test_tricky_title_survives_in_the_svg(posters: list[Path]) -> None:
    title = ET.parse(posters[3]).getroot().find(f"{SVG}title")
    assert title is not None
    assert title.text == TRICKY_TITLE


def test_english_posters_use_english_titles(catalog: Catalog, tmp_path: Path) -> None:
    [png, svg] = write_posters(catalog, USERNAME, tmp_path, TARGETS[:1], language="en")
    root = ET.parse(svg).getroot()
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and desc.text is not None
    assert title.text == "Licensing of apartment building management"
    assert CALL_TO_ACTION[Language.EN] in desc.text
    assert "MFC" in desc.text
    assert png_size(png)[0] >= 1200


def test_unknown_target_is_refused(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown service 'nosuch'"):
        write_posters(catalog, USERNAME, tmp_path, [LinkTarget("nosuch", "mfc")])


# --- commands ---------------------------------------------------------------------------------


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="otklik")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no developer's .env is read
    monkeypatch.setenv("BOT__USERNAME", USERNAME)
    return monkeypatch


@pytest.mark.parametrize("life_situations", [False, True])
def test_links_prints_one_line_per_target_with_its_link(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], life_situations: bool
) -> None:
    argv = ["links", "--life-situations"] if life_situations else ["links"]
    assert run(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    shipped = load_catalog(CATALOG_FILE)
    targets = [
        target
        for target in all_targets(shipped, with_life_situations=life_situations)
        if target.service not in ("hr", "document-flow")  # internal: no public links
    ]
    assert len(lines) == len(targets)
    for line, target in zip(lines, targets, strict=True):
        payload, service, channel, link = line.split("\t")
        assert payload == encode_payload(target)
        assert link == f"https://t.me/{USERNAME}?start={payload}"
        found, where = shipped.service(target.service), shipped.channel(target.channel)
        assert found is not None and where is not None
        assert service == found.title.ru
        situation = shipped.life_situation(target.life_situation or "")
        expected = where.title.ru + (f" · {situation.title.ru}" if situation else "")
        assert channel == expected


def test_links_username_option_wins_over_the_setting(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["links", "--username", "@other_bot"]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/other_bot?start=licensing_site" in out
    assert USERNAME not in out


def test_links_without_a_username_explains_where_to_set_it(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("BOT__USERNAME")
    assert run(["links"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "BOT__USERNAME" in captured.err
    assert "--username" in captured.err


def test_qr_writes_the_chosen_posters_and_prints_them(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "posters"
    argv = ["qr", "--out", str(out), "--service", "licensing", "--channel", "mfc"]
    assert run([*argv, "--life-situations"]) == 0
    printed = capsys.readouterr().out.split()
    names = ["licensing_mfc.png", "licensing_mfc.svg"]
    names += ["licensing_mfc_license.png", "licensing_mfc_license.svg"]
    assert printed == [str(out / name) for name in names]
    assert all((out / name).is_file() for name in names)


def test_qr_default_folder_is_out_qr(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["qr", "--service", "site-info", "--channel", "site", "--lang", "en"]
    assert run(argv) == 0
    assert (tmp_path / "out" / "qr" / "site-info_site.png").is_file()
    assert capsys.readouterr().out.split() == [
        "out/qr/site-info_site.png",
        "out/qr/site-info_site.svg",
    ]


def test_links_skip_internal_services_and_say_so(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["links", "--life-situations"]) == 0
    captured = capsys.readouterr()
    payloads = [line.split("\t")[0] for line in captured.out.splitlines()]
    assert payloads and not [p for p in payloads if p.split("_")[0] in ("hr", "document-flow")]
    assert "licensing_site" in payloads
    assert "skipped internal service(s) hr, document-flow" in captured.err


def test_qr_refuses_an_internal_service_explicitly(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "q"
    assert run(["qr", "--out", str(out), "--service", "hr", "--channel", "office"]) == 2
    err = capsys.readouterr().err
    assert "internal service(s): hr" in err
    assert not out.exists()


def test_qr_without_a_service_writes_no_internal_poster(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "q"
    assert run(["qr", "--out", str(out), "--channel", "post"]) == 0
    names = {path.name for path in out.iterdir()}
    assert "licensing_post.png" in names
    assert not [name for name in names if name.startswith(("hr_", "document-flow_"))]


def test_an_internal_target_gets_no_poster(tmp_path: Path) -> None:
    shipped = load_catalog(CATALOG_FILE)
    with pytest.raises(ValueError, match="internal service"):
        write_posters(shipped, USERNAME, tmp_path, [LinkTarget("hr", "office")])


@pytest.mark.parametrize(
    ("option", "valid"), [("--service", "licensing, license-register"), ("--channel", "site")]
)
def test_qr_unknown_code_lists_the_valid_ones(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    option: str,
    valid: str,
) -> None:
    assert run(["qr", "--out", str(tmp_path / "q"), option, "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "unknown" in err and "nosuch" in err and valid in err
    assert not (tmp_path / "q").exists()
