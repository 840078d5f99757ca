"""Printable QR posters for feedback links, and the `links` and `qr` commands of `otklik`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape

from questionnaires.catalog import Catalog, load_catalog
from questionnaires.deeplinks import (
    SITE_CHANNEL,
    LinkTarget,
    all_targets,
    encode_payload,
    max_start_link,
    start_link,
    web_link,
)
from questionnaires.errors import DefinitionError
from questionnaires.fronts import Front, front_title
from questionnaires.i18n import tr
from questionnaires.schema import Language

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

EXIT_OK: Final = 0
EXIT_DEFECTS: Final = 1
EXIT_USAGE: Final = 2

DEFAULT_OUT_DIR: Final = Path("out/qr")

CALL_TO_ACTION: Final = {language: tr(language, "poster.call_to_action") for language in Language}
SCAN_HINT: Final = {language: tr(language, "poster.scan_hint") for language in Language}

# Geometry of the poster, A5 portrait (148 × 210 mm) at 300 dpi: 1748 × 2480 px, big enough
# for print, and the same drawing scales up to A4/A3 as SVG.
PAGE_WIDTH_IN: Final = 148 / 25.4
PAGE_HEIGHT_IN: Final = 210 / 25.4
PRINT_DPI: Final = 300
QR_SIZE_IN: Final = 4.3
QR_TOP_IN: Final = 0.35
#: Where the QR symbol (with its quiet zone) sits, as figure fractions (left, bottom, w, h).
QR_BOX: Final = (
    (PAGE_WIDTH_IN - QR_SIZE_IN) / 2 / PAGE_WIDTH_IN,
    1 - (QR_TOP_IN + QR_SIZE_IN) / PAGE_HEIGHT_IN,
    QR_SIZE_IN / PAGE_WIDTH_IN,
    QR_SIZE_IN / PAGE_HEIGHT_IN,
)
QR_ERROR: Final = "M"  # 15 % of the symbol may be dirty or torn; segno boosts it when free
QR_BORDER: Final = 4  # modules of quiet zone, as ISO/IEC 18004 requires
TEXT_WIDTH_IN: Final = PAGE_WIDTH_IN - 2 * 0.5
TITLE_SIZES: Final = (22.0, 20.0, 18.0, 16.0, 14.0)
TITLE_MAX_LINES: Final = 4
CALL_SIZES: Final = (18.0, 17.0, 16.0, 15.0)
TEXT_GAP_IN: Final = 0.3
LINE_SPACING: Final = 1.3
FOOTER_TOP_IN: Final = PAGE_HEIGHT_IN - 0.7
FOOTER_SIZE: Final = 8.5
INK: Final = "#111111"
MUTED: Final = "#555555"
ACCENT: Final = "#1f4e9c"


#: `--messenger both`: one poster with the Telegram and the MAX code side by side.
BOTH: Final = "both"
#: What `--messenger` accepts: a front, or both messengers on one poster (qr only).
MESSENGERS: Final = (*(front.value for front in Front), BOTH)
#: Two codes side by side, each this wide (inches), with this gap between them.
PAIR_QR_SIZE_IN: Final = 2.5
PAIR_GAP_IN: Final = 0.4
PAIR_LABEL_SIZE: Final = 13.0


@dataclass(frozen=True)
class PosterCode:
    """One QR code of a poster: the messenger it opens and its link."""

    label: str
    link: str


@dataclass(frozen=True)
class LinkSettings:
    """Where each front's links lead; None where it is not configured."""

    telegram: str | None = None  # the bot's username (BOT__USERNAME)
    max: str | None = None  # the MAX bot's name (MAX__BOT_NAME)
    web: str | None = None  # the web front's public address (WEB__PUBLIC_URL)


@dataclass(frozen=True)
class PosterText:
    """The words printed under the QR code(s) of one target."""

    service: str
    channel: str
    life_situation: str | None
    call_to_action: str
    hint: str
    link: str
    #: Two or more codes side by side (`--messenger both`); empty: one code for `link`.
    codes: tuple[PosterCode, ...] = ()


def messenger_codes(
    links: LinkSettings,
    target: LinkTarget,
    messenger: str,
    language: Language | str = "ru",
) -> tuple[PosterCode, ...]:
    """The codes of a target for ``messenger`` (a front, or ``both``); ValueError naming the
    setting when a front it needs is not configured."""
    payload = encode_payload(target)
    language = Language(language)
    fronts = [Front.TELEGRAM, Front.MAX] if messenger == BOTH else [Front(messenger)]
    codes: list[PosterCode] = []
    for front in fronts:
        if front == Front.TELEGRAM:
            if not links.telegram:
                raise ValueError(
                    "the bot username is not set: pass --username NAME, or set BOT__USERNAME "
                    "(the name from @BotFather, without @)"
                )
            link = start_link(links.telegram, payload)
        elif front == Front.MAX:
            if not links.max:
                raise ValueError(
                    "the MAX bot name is not set: pass --max-bot-name NAME, or set "
                    "MAX__BOT_NAME (links are https://max.ru/<name>?start=<payload>)"
                )
            link = max_start_link(links.max, payload)
        else:
            if not links.web:
                raise ValueError(
                    "the web front's public address is not set: set WEB__PUBLIC_URL "
                    "(links are <WEB__PUBLIC_URL>/r/<payload>)"
                )
            link = web_link(links.web, payload)
        codes.append(PosterCode(front_title(front, language), link))
    return tuple(codes)


def poster_text(
    catalog: Catalog,
    bot_username: str,
    target: LinkTarget,
    language: Language | str = "ru",
    *,
    web_url: str | None = None,
    codes: Sequence[PosterCode] = (),
) -> PosterText:
    """Titles and link of a target; ValueError if the catalog does not know its codes.

    With `web_url` (WEB__PUBLIC_URL) the site channel's link is the web form, not the bot.
    With `codes` (from :func:`messenger_codes`) the poster carries those links instead.
    """
    language = Language(language)
    service = catalog.service(target.service)
    channel = catalog.channel(target.channel)
    if service is None:
        raise ValueError(f"unknown service '{target.service}'")
    if service.internal:
        raise ValueError(f"'{target.service}' is an internal service: it has no public link")
    if channel is None:
        raise ValueError(f"unknown channel '{target.channel}'")
    situation = None
    if target.life_situation is not None:
        found = catalog.life_situation(target.life_situation)
        if found is None:
            raise ValueError(f"unknown life situation '{target.life_situation}'")
        situation = found.title.get(language)
    return PosterText(
        service=service.title.get(language),
        channel=channel.title.get(language),
        life_situation=situation,
        call_to_action=CALL_TO_ACTION[language],
        hint=SCAN_HINT[language],
        link=codes[0].link if codes else target_link(bot_username, target, web_url),
        codes=tuple(codes) if len(codes) > 1 else (),
    )


def target_link(bot_username: str, target: LinkTarget, web_url: str | None = None) -> str:
    """The bot's deep link, or the web form's address for the site channel when it is served."""
    payload = encode_payload(target)
    if web_url and target.channel == SITE_CHANNEL:
        return web_link(web_url, payload)
    return start_link(bot_username, payload)


def write_posters(
    catalog: Catalog,
    bot_username: str,
    out_dir: Path,
    targets: Iterable[LinkTarget],
    *,
    language: Language | str = "ru",
    web_url: str | None = None,
    messenger: str | None = None,
    links: LinkSettings | None = None,
) -> list[Path]:
    """Write `<payload>.png` and `<payload>.svg` for each target; returns the files written.

    With ``messenger`` (a front or ``both``) the posters carry that messenger's links from
    ``links`` and are named `<payload>.<messenger>.png`/`.svg`, so the sets do not overwrite
    each other.

    One matplotlib drawing is saved twice, so the PNG and the SVG cannot drift apart. The SVG
    keeps text as glyph outlines (svg.fonttype 'path') rather than <text>: a print shop or a
    browser without DejaVu Sans would otherwise substitute a font, re-flow the lines and
    possibly lose Cyrillic. The words stay available to screen readers and search in the SVG's
    <title> and <desc>, and the link also sits in the metadata of both files.
    """
    # Imported here: `otklik links` and the bot itself must not pay for matplotlib.
    import matplotlib

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    # A fixed hash salt keeps the SVG ids, and so the files, the same from run to run.
    with matplotlib.rc_context(
        {"svg.fonttype": "path", "svg.hashsalt": "otklik", "text.usetex": False}
    ):
        for target in targets:
            payload = encode_payload(target)
            codes: tuple[PosterCode, ...] = ()
            name = payload
            if messenger is not None:
                codes = messenger_codes(links or LinkSettings(), target, messenger, language)
                name = f"{payload}.{messenger}"
            text = poster_text(
                catalog, bot_username, target, language, web_url=web_url, codes=codes
            )
            figure = _draw(text)
            png = out_dir / f"{name}.png"
            svg = out_dir / f"{name}.svg"
            figure.savefig(
                png,
                format="png",
                dpi=PRINT_DPI,
                metadata={"Title": text.service, "Description": text.link, "Software": "otklik"},
            )
            figure.savefig(
                svg,
                format="svg",
                metadata={"Title": text.service, "Description": text.link, "Date": None},
            )
            _add_svg_title(svg, text)
            written += [png, svg]
    return written


def qr_matrix(link: str) -> list[list[bool]]:
    """Dark modules of the QR code drawn for a link, quiet zone included (True = dark)."""
    import segno

    code = segno.make_qr(link, error=QR_ERROR, boost_error=True)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=QR_BORDER)]


def _fonts() -> tuple[FontProperties, FontProperties]:
    # matplotlib's own copy of DejaVu Sans, by file: no system font lookup, Cyrillic included.
    import matplotlib
    from matplotlib.font_manager import FontProperties

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return (
        FontProperties(fname=folder / "DejaVuSans.ttf"),
        FontProperties(fname=folder / "DejaVuSans-Bold.ttf"),
    )


def _draw(text: PosterText) -> Figure:
    from matplotlib.figure import Figure

    regular, bold = _fonts()
    figure = Figure(figsize=(PAGE_WIDTH_IN, PAGE_HEIGHT_IN), facecolor="white")
    if text.codes:
        _draw_pair(figure, text.codes, regular)
    else:
        _draw_code(figure, text.link, QR_BOX)

    # Text flows down from under the QR code; positions are in inches from the top.
    y = QR_TOP_IN + QR_SIZE_IN + TEXT_GAP_IN
    for block in _layout(text, regular, bold):
        y += block.space_before
        for words in block.lines:
            y += block.points / 72
            _put(figure, words, block, y)
            y += block.points / 72 * (LINE_SPACING - 1)
    # The fallback for a phone that cannot scan: the link(s) itself, at the foot of the page.
    footer = [text.hint, *(f"{code.label}: {code.link}" for code in text.codes)]
    if not text.codes:
        footer.append(text.link)
    y = FOOTER_TOP_IN - FOOTER_SIZE / 72 * LINE_SPACING * (len(footer) - 2)
    for words in footer:
        y += FOOTER_SIZE / 72
        _put(figure, words, _Block([words], regular, FOOTER_SIZE, MUTED), y)
        y += FOOTER_SIZE / 72 * (LINE_SPACING - 1)
    return figure


def _draw_pair(figure: Figure, codes: Sequence[PosterCode], font: FontProperties) -> None:
    """Two codes side by side in the space of one, each with its messenger's name under it."""
    total = len(codes) * PAIR_QR_SIZE_IN + (len(codes) - 1) * PAIR_GAP_IN
    left = (PAGE_WIDTH_IN - total) / 2
    top = QR_TOP_IN + (QR_SIZE_IN - PAIR_QR_SIZE_IN - PAIR_LABEL_SIZE / 72 * 2) / 2
    for index, code in enumerate(codes):
        x = left + index * (PAIR_QR_SIZE_IN + PAIR_GAP_IN)
        box = (
            x / PAGE_WIDTH_IN,
            1 - (top + PAIR_QR_SIZE_IN) / PAGE_HEIGHT_IN,
            PAIR_QR_SIZE_IN / PAGE_WIDTH_IN,
            PAIR_QR_SIZE_IN / PAGE_HEIGHT_IN,
        )
        _draw_code(figure, code.link, box)
        figure.text(
            (x + PAIR_QR_SIZE_IN / 2) / PAGE_WIDTH_IN,
            1 - (top + PAIR_QR_SIZE_IN + PAIR_LABEL_SIZE / 72 * 1.5) / PAGE_HEIGHT_IN,
            code.label,
            fontproperties=font,
            fontsize=PAIR_LABEL_SIZE,
            color=INK,
            ha="center",
            va="baseline",
            parse_math=False,
        )


def _draw_code(figure: Figure, link: str, box: tuple[float, float, float, float]) -> None:
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    matrix = qr_matrix(link)
    size = len(matrix)
    axes = figure.add_axes(box)
    axes.set_axis_off()
    axes.set_xlim(0, size)
    axes.set_ylim(size, 0)  # row 0 on top
    # Runs of dark modules as one path: a single fill leaves no hairline seams between
    # modules, and the SVG gets one compact vector shape instead of an embedded bitmap.
    rectangle = [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO]
    rectangle.append(MplPath.CLOSEPOLY)
    vertices: list[tuple[int, int]] = []
    codes = []
    for top, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            vertices += [(start, top), (x, top), (x, top + 1), (start, top + 1), (start, top)]
            codes += rectangle
    axes.add_patch(PathPatch(MplPath(vertices, codes), facecolor="black", edgecolor="none", lw=0))


@dataclass(frozen=True)
class _Block:
    lines: list[str]
    font: FontProperties
    points: float
    color: str
    space_before: float = 0.0  # inches

    @property
    def height(self) -> float:
        return self.space_before + len(self.lines) * self.points / 72 * LINE_SPACING


def _put(figure: Figure, words: str, block: _Block, top: float) -> None:
    figure.text(
        0.5,
        1 - top / PAGE_HEIGHT_IN,
        words,
        fontproperties=block.font,
        fontsize=block.points,
        color=block.color,
        ha="center",
        va="baseline",
        parse_math=False,  # a '$' in a title is a dollar, not mathtext
    )


def _layout(text: PosterText, regular: FontProperties, bold: FontProperties) -> list[_Block]:
    """The blocks under the QR code, the title as large as the space allows."""
    width = TEXT_WIDTH_IN * 72
    below = [_Block(_wrap(text.channel, regular, 14, width), regular, 14, MUTED, 0.1)]
    if text.life_situation:
        below.append(_Block(_wrap(text.life_situation, regular, 13, width), regular, 13, MUTED))
    below.append(_call_to_action(text.call_to_action, bold))
    budget = FOOTER_TOP_IN - (QR_TOP_IN + QR_SIZE_IN + TEXT_GAP_IN) - 0.15
    # Each link beyond the first takes one more footer line.
    budget -= FOOTER_SIZE / 72 * LINE_SPACING * max(0, len(text.codes) - 1)
    budget -= sum(block.height for block in below)
    title = _Block([], bold, TITLE_SIZES[-1], INK)
    for points in TITLE_SIZES:
        title = _Block(_wrap(text.service, bold, points, width), bold, points, INK)
        if len(title.lines) <= TITLE_MAX_LINES and title.height <= budget:
            return [title, *below]
    # Even the smallest size does not fit: keep the lines that do and end with an ellipsis.
    lines = title.lines
    while len(lines) > 1 and _Block(lines, bold, title.points, INK).height > budget:
        lines = lines[:-1]
    if lines != title.lines:
        last = lines[-1]
        while last and not _fits(f"{last}…", bold, title.points, width):
            last = last[:-1]
        lines = [*lines[:-1], f"{last.rstrip()}…"]
    return [_Block(lines, bold, title.points, INK), *below]


def _call_to_action(words: str, bold: FontProperties) -> _Block:
    """One line if it fits large; else two large lines broken at the dash, the way one says it."""
    width = TEXT_WIDTH_IN * 72
    head, dash, tail = words.partition(" — ")
    points = CALL_SIZES[0]
    if not _fits(words, bold, points, width) and dash:
        lines = [f"{head} —", tail]
        if all(_fits(line, bold, points, width) for line in lines):
            return _Block(lines, bold, points, ACCENT, 0.2)
    points, lines = _fit(words, bold, CALL_SIZES, 1)
    return _Block(lines, bold, points, ACCENT, 0.2)


def _fit(
    words: str, font: FontProperties, sizes: Sequence[float], max_lines: int
) -> tuple[float, list[str]]:
    """The largest size at which the words wrap into at most max_lines lines (else the least)."""
    lines: list[str] = []
    for points in sizes:
        lines = _wrap(words, font, points, TEXT_WIDTH_IN * 72)
        if len(lines) <= max_lines:
            return points, lines
    return sizes[-1], lines


def _fits(words: str, font: FontProperties, points: float, width: float) -> bool:
    """Whether the words set in this font and size fit the width (points), by glyph advances."""
    from matplotlib.textpath import text_to_path

    sized = font.copy()
    sized.set_size(points)
    measured, _, _ = text_to_path.get_text_width_height_descent(words, sized, ismath=False)
    return float(measured) <= width


def _wrap(words: str, font: FontProperties, points: float, width: float) -> list[str]:
    """Greedy word wrap measured with the real glyph widths (in points)."""

    def fits(candidate: str) -> bool:
        return _fits(candidate, font, points, width)

    lines: list[str] = []
    current = ""
    for word in words.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        # A single word wider than the page is cut where it stops fitting.
        while not fits(word) and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _add_svg_title(svg: Path, text: PosterText) -> None:
    """Put the words, drawn as outlines, back as <title>/<desc> for screen readers and search."""
    document = svg.read_text(encoding="utf-8")
    start = document.index("<svg")
    at = document.index(">", start) + 1
    # Recent matplotlib already writes <title> from the Title metadata; older ones do not.
    title = re.compile(r"\s*<title>.*?</title>", re.DOTALL).match(document, at)
    if title:
        at = title.end()
        added = ""
    else:
        added = f"\n <title>{escape(text.service)}</title>"
    links = [f"{code.label}: {code.link}" for code in text.codes] or [text.link]
    parts = [text.channel, text.life_situation, text.call_to_action, *links]
    added += f"\n <desc>{escape(' · '.join(part for part in parts if part))}</desc>"
    svg.write_text(document[:at] + added + document[at:], encoding="utf-8")


# --- the `links` and `qr` commands --------------------------------------------------------------


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add `links` and `qr` to the `otklik` command."""
    links = subparsers.add_parser("links", help="print the deep link of every service × channel")
    _common_arguments(links)
    links.add_argument(
        "--messenger",
        choices=[front.value for front in Front],
        help="links of this front only: telegram (t.me), max (max.ru), web (WEB__PUBLIC_URL); "
        "default: Telegram, the site channel to the web form when WEB__PUBLIC_URL is set",
    )
    links.set_defaults(handler=cmd_links)

    qr = subparsers.add_parser("qr", help="write printable QR posters (PNG and SVG)")
    _common_arguments(qr)
    qr.add_argument(
        "--messenger",
        choices=MESSENGERS,
        help="posters of this front (files <payload>.<messenger>.png), or 'both': the "
        "Telegram and MAX codes side by side on one poster",
    )
    qr.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="folder for the posters")
    qr.add_argument(
        "--service", action="append", metavar="CODE", help="only this service (repeatable)"
    )
    qr.add_argument(
        "--channel", action="append", metavar="CODE", help="only this channel (repeatable)"
    )
    qr.set_defaults(handler=cmd_qr)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--life-situations",
        action="store_true",
        help="also one link per life situation each service lists",
    )
    parser.add_argument("--username", help="bot username; default: BOT__USERNAME")
    parser.add_argument("--max-bot-name", help="MAX bot name; default: MAX__BOT_NAME")
    parser.add_argument("--lang", choices=[lang.value for lang in Language], default="ru")
    parser.add_argument("--catalog", type=Path, help="catalog YAML file")


def cmd_links(args: argparse.Namespace) -> int:
    """Print payload, service, channel and link of every target, tab-separated."""
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    catalog, links = loaded
    username = links.telegram or ""
    language = Language(args.lang)
    _note_internal(catalog)
    web_url = _web_url()
    messenger: str | None = args.messenger
    for target in _public_targets(catalog, args.life_situations):
        codes = () if messenger is None else messenger_codes(links, target, messenger, language)
        text = poster_text(catalog, username, target, language, web_url=web_url, codes=codes)
        channel = text.channel
        if text.life_situation:
            channel += f" · {text.life_situation}"
        print("\t".join((encode_payload(target), text.service, channel, text.link)))
    return EXIT_OK


def cmd_qr(args: argparse.Namespace) -> int:
    """Write the posters of the chosen targets and print the files."""
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    catalog, links = loaded
    username = links.telegram or ""
    services: list[str] = args.service or []
    channels: list[str] = args.channel or []
    for kind, asked, known in (
        ("service", services, [service.code for service in catalog.services]),
        ("channel", channels, [channel.code for channel in catalog.channels]),
    ):
        unknown = [code for code in asked if code not in known]
        if unknown:
            print(
                f"unknown {kind} code(s): {', '.join(unknown)}; valid: {', '.join(known)}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    internal = [code for code in services if _is_internal(catalog, code)]
    if internal:
        print(
            f"no posters for internal service(s): {', '.join(internal)}: staff rate them in "
            "staff polls, and a public QR code would let anyone rate them",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not services:
        _note_internal(catalog)
    targets = [
        target
        for target in _public_targets(catalog, args.life_situations)
        if (not services or target.service in services)
        and (not channels or target.channel in channels)
    ]
    written = write_posters(
        catalog,
        username,
        args.out,
        targets,
        language=args.lang,
        web_url=_web_url(),
        messenger=args.messenger,
        links=links,
    )
    for path in written:
        print(path)
    return EXIT_OK


def _public_targets(catalog: Catalog, life_situations: bool) -> list[LinkTarget]:
    """Every target of a service citizens rate: internal services get no public link."""
    return [
        target
        for target in all_targets(catalog, with_life_situations=life_situations)
        if not _is_internal(catalog, target.service)
    ]


def _is_internal(catalog: Catalog, code: str) -> bool:
    service = catalog.service(code)
    return service is not None and service.internal


def _note_internal(catalog: Catalog) -> None:
    skipped = [service.code for service in catalog.services if service.internal]
    if skipped:
        print(
            f"skipped internal service(s) {', '.join(skipped)}: no public links for them",
            file=sys.stderr,
        )


def _web_url() -> str | None:
    """WEB__PUBLIC_URL when the web front is public; the settings were checked by `_load`."""
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings().web.public_url
    except ValidationError:
        return None


def _load(args: argparse.Namespace) -> tuple[Catalog, LinkSettings] | int:
    """The catalog and where links lead, or the exit code after explaining what is missing:
    the bot username (Telegram, the default), the MAX bot name, the web front's address."""
    from pydantic import ValidationError

    from bot.settings import ContentSettings, Settings

    messenger: str | None = getattr(args, "messenger", None)
    username: str | None = args.username
    max_name: str | None = getattr(args, "max_bot_name", None)
    needs = {
        "telegram": messenger in (None, Front.TELEGRAM, BOTH) and not username,
        "max": messenger in (Front.MAX, BOTH) and not max_name,
        "web": messenger == Front.WEB,
    }
    web_url: str | None = None
    if any(needs.values()):
        try:
            settings = Settings()
        except ValidationError as error:
            from bot.problems import settings_problem

            raise settings_problem(error) from error  # one line per variable, exit code 2
        username = username or settings.bot.username
        max_name = max_name or settings.max.bot_name
        web_url = settings.web.public_url
    else:
        web_url = _web_url()
    if messenger in (None, Front.TELEGRAM, BOTH) and not username:
        print(
            "the bot username is not set: pass --username NAME, or set BOT__USERNAME in the "
            "environment or in .env (the name from @BotFather, without @)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if messenger in (Front.MAX, BOTH) and not max_name:
        print(
            "the MAX bot name is not set: pass --max-bot-name NAME, or set MAX__BOT_NAME in "
            "the environment or in .env (links are https://max.ru/<name>?start=<payload>)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if messenger == Front.WEB and not web_url:
        print(
            "the web front's public address is not set: set WEB__PUBLIC_URL in the "
            "environment or in .env (links are <WEB__PUBLIC_URL>/r/<payload>)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        if username:
            start_link(username, "check")
        if max_name:
            max_start_link(max_name, "check")
    except ValueError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    links = LinkSettings(username or None, max_name, web_url)
    catalog_path: Path = args.catalog or ContentSettings().catalog_path
    try:
        catalog = load_catalog(catalog_path)
    except DefinitionError as error:
        for defect in error.defects:
            print(defect, file=sys.stderr)
        return EXIT_DEFECTS
    return catalog, links


def _main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - manual runs only
    parser = argparse.ArgumentParser(prog="otklik")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
