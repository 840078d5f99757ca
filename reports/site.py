"""The public site: static pages (Jinja2, autoescape) and SVG charts from the public model.

:func:`render_site` turns a :class:`reports.public.SiteContent` into files (path → bytes):
``index.html`` (choice of language), ``style.css``, and for each language a tree ``ru/`` and
``en/`` with the overview, the pages by service (one per service), life situation and
touchpoint, the poll windows, "you said — we did" and the methodology. No script, no external
resource: the folder can be uploaded as it is. :func:`results_text` is the bot's /results
message from the same model.

Figures come from protected reports only; a hidden group shows its name and "too few answers",
never its n or any figure. English comes from the catalog where it has it, else Russian.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from questionnaires.i18n import N_, messages, tr
from questionnaires.schema import Language, Text
from reports.disclosure import PeriodKind
from reports.model import Dimension, GroupRow, Report, Score
from reports.public import DoneMeasure, PublicWindow, SiteContent
from reports.site_charts import csat_bars_svg, distribution_svg
from reports.telegram import band_text, csat_change, is_hidden

LANGUAGES: Final = (Language.RU, Language.EN)
#: Files of a generated site are recognised by these suffixes when stale ones are removed.
_SITE_SUFFIXES: Final = (".html", ".svg", ".css")


_BANDLESS: Final = "—"
_PLACEHOLDER: Final = re.compile(r"\{[a-z_]+\}")


def template_texts(language: Language) -> dict[str, str]:
    """The site's texts for the templates, as `t.name` for the key `site.name`."""
    return {
        key.removeprefix("site."): text
        for key, text in messages(language).items()
        if key.startswith("site.")
    }


def _number(value: float, digits: int, language: Language) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == Language.RU else text


def _signed(value: float, language: Language) -> str:
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + _number(abs(value), 1, language)


# --- view models -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One row of a figures table, formatted; `hidden` rows carry no figure at all."""

    title: str
    href: str | None
    hidden: bool
    n: str = ""
    csat: str = ""
    mean: str = ""
    band: str = ""
    change: str = ""
    value: float | None = None  # CSAT unformatted, for the chart


@dataclass(frozen=True, slots=True)
class Chart:
    path: str  # relative to the language folder
    alt: str
    svg: bytes


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    head: str  # the first column's heading
    rows: tuple[ScoreRow, ...]
    note: str = ""


def score_row(
    title: str,
    current: Score,
    previous: Score | None,
    min_group: int,
    language: Language,
    href: str | None = None,
) -> ScoreRow:
    if is_hidden(current, min_group) or current.csat is None or current.mean is None:
        return ScoreRow(title, href, hidden=True)
    change = csat_change(current, previous, min_group) if previous is not None else None
    band = current.band
    return ScoreRow(
        title,
        href,
        hidden=False,
        n=str(current.n),
        csat=_number(current.csat, 1, language),
        mean=_number(current.mean, 2, language),
        band=band_text(band, language) if band is not None else _BANDLESS,
        change=_signed(change, language) if change is not None else tr(language, "site.no_change"),
        value=current.csat,
    )


def group_title(content: SiteContent, row: GroupRow, language: Language) -> str:
    """The catalog's title in `language` when it has one; a group with no code (the answers
    that named none) is «not given»; else the report's title (a code the catalog dropped)."""
    if row.key is None:
        return tr(language, "report.unspecified")
    lookup: dict[Dimension, Callable[[str], object]] = {
        Dimension.SERVICE: content.catalog.service,
        Dimension.CHANNEL: content.catalog.channel,
        Dimension.LIFE_SITUATION: content.catalog.life_situation,
    }
    entry = lookup[row.dimension](row.key) if row.key else None
    title = getattr(entry, "title", None)
    return title.get(language) if isinstance(title, Text) else row.title


def service_href(code: str) -> str:
    return f"services/{code}.html"


def window_href(window_id: int) -> str:
    """A published poll window's row on the site's polls page."""
    return f"polls.html#window-{window_id}"


def _rows(
    content: SiteContent,
    report: Report,
    dimension: Dimension,
    language: Language,
    link: Callable[[GroupRow], str | None] = lambda row: None,
) -> tuple[ScoreRow, ...]:
    return tuple(
        score_row(
            group_title(content, row, language),
            row.current,
            row.previous,
            report.min_group,
            language,
            link(row),
        )
        for row in report.by(dimension)
    )


def _bars(
    rows: Sequence[ScoreRow], report: Report, what: str, language: Language, path: str
) -> Chart | None:
    visible = [(row.title, row.value) for row in rows if row.value is not None]
    if not visible:
        return None
    period = str(report.period)
    title = tr(language, "site.by", what=what, period=period)
    alt = tr(language, "site.bars_alt", what=what, period=period)
    description = "; ".join(f"{label}: {value:.1f}%" for label, value in visible)
    return Chart(path, alt, csat_bars_svg(visible, title=title, description=description))


def _distribution(report: Report, language: Language, path: str) -> Chart | None:
    score = report.overall
    if is_hidden(score, report.min_group) or not score.distribution:
        return None
    period = str(report.period)
    title = tr(language, "site.distribution_caption", period=period)
    description = "; ".join(f"{k}: {score.distribution.get(k, 0)}" for k in range(1, 6))
    svg = distribution_svg(
        score.distribution,
        title=title,
        description=description,
        axis_label=tr(language, "site.score"),
    )
    return Chart(path, tr(language, "site.distribution_alt", period=period), svg)


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # relative to the language folder
    template: str
    title: str
    nav: str  # which navigation entry it belongs to
    values: dict[str, object]


#: The sections' headings by navigation id, and the name of one row of each table section.
_SECTIONS: Final = {
    "overview": N_("site.overview"),
    "services": N_("site.services"),
    "life_situations": N_("site.life_situations"),
    "channels": N_("site.channels"),
    "polls": N_("site.polls"),
    "done": N_("site.done"),
    "methodology": N_("site.methodology"),
}
_ONE: Final = {
    "services": N_("site.service"),
    "life_situations": N_("site.life_situation"),
    "channels": N_("site.channel"),
}
_KINDS: Final = {
    PeriodKind.WEEK: N_("site.kind_week"),
    PeriodKind.MONTH: N_("site.kind_month"),
    PeriodKind.QUARTER: N_("site.kind_quarter"),
    PeriodKind.HALF: N_("site.kind_half"),
    PeriodKind.YEAR: N_("site.kind_year"),
}
_NAV: Final = (
    ("overview", "index.html"),
    ("services", "services.html"),
    ("life_situations", "life-situations.html"),
    ("channels", "channels.html"),
    ("polls", "polls.html"),
    ("done", "done.html"),
    ("methodology", "methodology.html"),
)


def _pages(content: SiteContent, language: Language) -> tuple[list[Page], list[Chart]]:
    main = content.main
    k = content.min_group
    period = str(main.period)
    charts: list[Chart] = []

    def chart(made: Chart | None) -> Chart | None:
        if made is not None:
            charts.append(made)
        return made

    def compared(report: Report) -> str:
        return tr(language, "site.compared", period=str(report.compared_with))

    overall = Table(
        tr(language, "site.by", what=tr(language, "site.overall"), period=period),
        tr(language, "site.group"),
        (
            score_row(
                tr(language, "site.all_services"), main.overall, main.overall_previous, k, language
            ),
        ),
        compared(main),
    )
    periods = Table(
        tr(language, "site.periods_caption"),
        tr(language, "site.period"),
        tuple(
            score_row(
                f"{tr(language, _KINDS[kind])}: {report.period}",
                report.overall,
                report.overall_previous,
                k,
                language,
            )
            for kind, report in content.periods
        ),
    )
    pages = [
        Page(
            "index.html",
            "overview.html.j2",
            tr(language, "site.overview"),
            "overview",
            {
                "lead": tr(language, "site.main_lead", period=period),
                "overall": overall,
                "periods": periods,
                "distribution": chart(_distribution(main, language, "charts/distribution.svg")),
                "distribution_table": _distribution_rows(main),
                "distribution_caption": tr(language, "site.distribution_caption", period=period),
            },
        )
    ]
    with_page = {report.scope.service for report in content.services}
    for key, dimension, path in (
        ("services", Dimension.SERVICE, "services.html"),
        ("life_situations", Dimension.LIFE_SITUATION, "life-situations.html"),
        ("channels", Dimension.CHANNEL, "channels.html"),
    ):
        what = tr(language, _SECTIONS[key])
        rows = _rows(
            content,
            main,
            dimension,
            language,
            (lambda row: service_href(row.key) if row.key and row.key in with_page else None)
            if dimension == Dimension.SERVICE
            else (lambda row: None),
        )
        table = Table(
            tr(language, "site.by", what=what, period=period),
            tr(language, _ONE[key]),
            rows,
            compared(main),
        )
        pages.append(
            Page(
                path,
                "groups.html.j2",
                what,
                key,
                {
                    "table": table,
                    "chart": chart(_bars(rows, main, what, language, f"charts/{key}.svg")),
                    "no_chart": tr(language, "site.no_chart", k=k),
                },
            )
        )
    for report in content.services:
        code = report.scope.service or ""
        entry = content.catalog.service(code)
        name = entry.title.get(language) if entry is not None else code
        tables = [
            Table(
                tr(
                    language,
                    "site.by",
                    what=tr(language, "site.overall"),
                    period=str(report.period),
                ),
                tr(language, "site.service"),
                (score_row(name, report.overall, report.overall_previous, k, language),),
                compared(report),
            )
        ]
        for key, dimension in (
            ("channels", Dimension.CHANNEL),
            ("life_situations", Dimension.LIFE_SITUATION),
        ):
            rows = _rows(content, report, dimension, language)
            if rows:
                tables.append(
                    Table(
                        tr(
                            language,
                            "site.by",
                            what=tr(language, _SECTIONS[key]),
                            period=str(report.period),
                        ),
                        tr(language, _ONE[key]),
                        rows,
                    )
                )
        pages.append(
            Page(
                service_href(code),
                "service.html.j2",
                tr(language, "site.service_page", title=name),
                "services",
                {
                    "tables": tables,
                    "distribution": chart(
                        _distribution(report, language, f"charts/service-{code}.svg")
                    ),
                    "distribution_table": _distribution_rows(report),
                    "distribution_caption": tr(
                        language, "site.distribution_caption", period=str(report.period)
                    ),
                },
            )
        )
    pages.append(
        Page(
            "polls.html",
            "polls.html.j2",
            tr(language, "site.polls"),
            "polls",
            {"windows": [_window_row(w, language) for w in content.windows]},
        )
    )
    pages.append(
        Page(
            "done.html",
            "done.html.j2",
            tr(language, "site.done"),
            "done",
            {"measures": [measure_row(m, language) for m in content.measures]},
        )
    )
    pages.append(
        Page(
            "methodology.html",
            "methodology.html.j2",
            tr(language, "site.methodology"),
            "methodology",
            {
                "asked": [
                    (a.questionnaire.get(language), _unfilled(a.overall_question.get(language)))
                    for a in content.asked
                ]
            },
        )
    )
    return pages, charts


def _unfilled(text: str) -> str:
    """A question as a template: «{service}» and the like become «…»."""
    return _PLACEHOLDER.sub("…", text)


def _distribution_rows(report: Report) -> list[tuple[int, int]]:
    if is_hidden(report.overall, report.min_group) or not report.overall.distribution:
        return []
    return [(k, report.overall.distribution.get(k, 0)) for k in range(5, 0, -1)]


def _window_row(window: PublicWindow, language: Language) -> dict[str, str | bool]:
    row: dict[str, str | bool] = {
        "id": f"window-{window.window_id}",
        "title": window.title.get(language),
        "dates": f"{window.opens_on:%d.%m.%Y}–{window.closes_on:%d.%m.%Y}",
        "hidden": window.hidden,
    }
    if window.csat is not None and window.mean is not None:
        row |= {
            "n": str(window.n),
            "respondents": str(window.respondents),
            "csat": _number(window.csat, 1, language),
            "mean": _number(window.mean, 2, language),
        }
    return row


def measure_row(measure: DoneMeasure, language: Language) -> dict[str, str]:
    """A done measure's cells as the «вы сказали — мы сделали» page prints them (the bot's
    announcement reuses them, so both show the same figures)."""

    def figure(value: float | None) -> str:
        return _number(value, 1, language) if value is not None else tr(language, "site.not_shown")

    return {
        "problem": measure.problem_in(language),
        "process": measure.process_in(language),
        "measure": measure.measure,
        "done_on": f"{measure.done_on:%d.%m.%Y}",
        "metric": measure.metric,
        "before": figure(measure.before),
        "after": figure(measure.after),
    }


# --- rendering -----------------------------------------------------------------------------


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports", "site_templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_site(content: SiteContent) -> dict[str, bytes]:
    """Every file of the site, path (with `/`) → content."""
    environment = _environment()
    files: dict[str, bytes] = {
        "style.css": environment.loader.get_source(environment, "style.css")[0].encode()  # type: ignore[union-attr]
    }
    files["index.html"] = (
        environment.get_template("choose.html.j2")
        .render(
            languages=[
                (lang.value, tr(lang, "site.site"), tr(lang, "site.choose_language"))
                for lang in LANGUAGES
            ],
            body_name=content.body_name,
        )
        .encode()
    )
    for language in LANGUAGES:
        pages, charts = _pages(content, language)
        for chart in charts:
            files[f"{language.value}/{chart.path}"] = chart.svg
        for page in pages:
            depth = page.path.count("/")
            root = "../" * depth
            nav = [
                {
                    "label": tr(language, _SECTIONS[key]),
                    "href": root + href,
                    "current": key == page.nav,
                }
                for key, href in _NAV
            ]
            other = Language.EN if language == Language.RU else Language.RU
            html = environment.get_template(page.template).render(
                lang=language.value,
                t=template_texts(language),
                title=page.title,
                site_title=tr(language, "site.site"),
                body_name=content.body_name,
                nav=nav,
                root=root,
                css="../" + root + "style.css",
                other_lang=other.value,
                other_label=tr(language, "site.other_language"),
                other_href="../" + root + other.value + "/" + page.path,
                too_few=tr(language, "site.too_few", k=content.min_group),
                footer=tr(
                    language,
                    "site.generated",
                    date=f"{content.generated_on:%d.%m.%Y}",
                    k=content.min_group,
                ),
                min_group=content.min_group,
                **page.values,
            )
            files[f"{language.value}/{page.path}"] = html.encode()
    return files


def write_site(content: SiteContent, out: Path) -> list[Path]:
    """Render and write the site into `out`: each file replaced atomically, files of an older
    site that are no longer part of it (a service left the catalog) removed."""
    files = render_site(content)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, data in sorted(files.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.read_bytes() == data:
            written.append(target)
            continue
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target)
    _remove_stale(out, {out / relative for relative in files})
    return written


def _remove_stale(out: Path, keep: set[Path]) -> None:
    for language in LANGUAGES:
        folder = out / language.value
        for path in _files(folder):
            if path.suffix in _SITE_SUFFIXES and path not in keep:
                path.unlink()


def _files(folder: Path) -> Iterable[Path]:
    return (path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else ()


# --- the bot's /results ------------------------------------------------------------------------


def results_text(content: SiteContent, language: Language, url: str | None = None) -> str:
    """The /results message (Telegram HTML): the site's figures by service and life situation."""
    main = content.main
    k = content.min_group
    lines = [
        f"<b>{escape(tr(language, 'site.site'))}</b>",
        escape(tr(language, "site.main_lead", period=str(main.period))),
    ]
    total = score_row(
        tr(language, "site.all_services"), main.overall, main.overall_previous, k, language
    )
    lines.append(_line(total, language, k))
    for key, dimension in (
        ("services", Dimension.SERVICE),
        ("life_situations", Dimension.LIFE_SITUATION),
    ):
        rows = _rows(content, main, dimension, language)
        if rows:
            lines += ["", f"<b>{escape(tr(language, _SECTIONS[key]))}</b>"]
            lines += [_line(row, language, k) for row in rows]
    if url:
        lines += ["", f'<a href="{escape(url, quote=True)}">{escape(url)}</a>']
    return "\n".join(lines)


def _line(row: ScoreRow, language: Language, k: int) -> str:
    if row.hidden:
        return f"• {escape(row.title)} — {escape(tr(language, 'site.too_few', k=k))}"
    return f"• {escape(row.title)} — CSAT {row.csat}%, {row.mean} / 5, n = {row.n}"
