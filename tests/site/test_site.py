"""The public site (issue 11, item 2): every figure is the report model's, nothing else leaks."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

from questionnaires.schema import Text
from reports.disclosure import PeriodKind, last_closed
from reports.model import Dimension, Report, Scope, Score
from reports.site import window_href
from reports.telegram import is_hidden, protect
from reports.window_results import WindowResult
from reports.windows import GroupCounts
from services.publication import DoneMeasure
from tests.site.conftest import (
    CITIZEN_COMMENT,
    MEASURES,
    STAFF_COMMENT,
    TODAY,
    WINDOWS,
    Seeded,
)
from tests.site.pages import number, page, snapshot, tables

Q3 = last_closed(PeriodKind.QUARTER, TODAY)
TOO_FEW = "Меньше 5 оценок: цифры не публикуются"
HEADINGS = ("Оценок (n)", "Довольны (CSAT), %", "Средняя оценка из 5")


async def model(seeded: Seeded, period_kind: PeriodKind, scope: Scope | None = None) -> Report:
    period = last_closed(period_kind, TODAY)
    return protect(await seeded.reporting.report(period, scope or Scope()))


def assert_row_is(row: dict[str, str], score: Score) -> None:
    """A row shows exactly the model's figures, or none at all when the model hides them."""
    if is_hidden(score, 5) or score.csat is None or score.mean is None:
        assert list(row.values())[1:] == [TOO_FEW], row
        return
    assert int(row["Оценок (n)"]) == score.n
    assert number(row["Довольны (CSAT), %"]) == round(score.csat, 1)
    assert number(row["Средняя оценка из 5"]) == round(score.mean, 2)


def one(found: dict[str, list[dict[str, str]]], prefix: str) -> list[dict[str, str]]:
    matching = [rows for caption, rows in found.items() if caption.startswith(prefix)]
    assert len(matching) == 1, (prefix, list(found))
    return matching[0]


async def test_every_figure_on_the_site_equals_the_report_model(
    seeded: Seeded, tmp_path: Path
) -> None:
    await seeded.publication.publish(tmp_path)
    main = await model(seeded, PeriodKind.QUARTER)
    overview = tables(page(tmp_path / "ru" / "index.html"))
    assert_row_is(one(overview, "Общая оценка")[0], main.overall)
    periods = one(overview, "Общая удовлетворённость")
    kinds = [PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.YEAR]
    assert len(periods) == len(kinds)
    for row, kind in zip(periods, kinds, strict=True):
        report = await model(seeded, kind)
        assert row["Период"].endswith(str(report.period))
        assert_row_is(row, report.overall)
    distribution = one(overview, "Распределение оценок")
    assert {int(r["Оценка"]): int(r["Ответов"]) for r in distribution} == {
        k: main.overall.distribution.get(k, 0) for k in range(1, 6)
    }
    shown = 0
    for file, dimension in (
        ("services.html", Dimension.SERVICE),
        ("life-situations.html", Dimension.LIFE_SITUATION),
        ("channels.html", Dimension.CHANNEL),
    ):
        rows = next(iter(tables(page(tmp_path / "ru" / file)).values()))
        expected = main.by(dimension)
        assert [r[next(iter(r))] for r in rows] == [g.title for g in expected]
        for row, group in zip(rows, expected, strict=True):
            assert_row_is(row, group.current)
            shown += not is_hidden(group.current, 5)
    assert shown >= 3, "the seeded data shows figures on every breakdown page"
    for code in ("licensing", "appeals", "inspections"):
        report = await model(seeded, PeriodKind.QUARTER, Scope(service=code))
        found = tables(page(tmp_path / "ru" / "services" / f"{code}.html"))
        assert_row_is(one(found, "Общая оценка")[0], report.overall)
        for prefix, dimension in (
            ("Каналы", Dimension.CHANNEL),
            ("Жизненные", Dimension.LIFE_SITUATION),
        ):
            for row, group in zip(one(found, prefix), report.by(dimension), strict=True):
                assert_row_is(row, group.current)


async def test_suppressed_groups_are_named_without_any_figure(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    main = await model(seeded_sqlite, PeriodKind.QUARTER)
    inspections = next(g for g in main.by(Dimension.SERVICE) if g.key == "inspections")
    assert inspections.current.suppressed  # 3 ratings
    soup = page(tmp_path / "ru" / "services.html")
    row = next(
        tr
        for tr in soup.select("tbody tr")
        if "Контроль" in tr.get_text() or inspections.title in tr.get_text()
    )
    assert row.find_all("td")[0].get_text(strip=True) == TOO_FEW
    assert len(row.find_all("td")) == 1
    service_page = (tmp_path / "ru" / "services" / "inspections.html").read_text()
    assert TOO_FEW in service_page
    assert not (tmp_path / "ru" / "charts" / "service-inspections.svg").exists()
    # November is still running: its six 1s are in no figure anywhere.
    november = await seeded_sqlite.reporting.report(
        last_closed(PeriodKind.MONTH, date(2026, 12, 1)), Scope()
    )
    assert november.overall.n == 6
    for path, data in snapshot(tmp_path).items():
        if path.suffix == ".html":
            assert "11.2026" not in data.decode() or "30.11.2026" in data.decode()


async def test_nothing_internal_is_published(seeded_sqlite: Seeded, tmp_path: Path) -> None:
    files = await seeded_sqlite.publication.publish(tmp_path)
    names = {path.relative_to(tmp_path).as_posix() for path in files}
    # No appeals monitoring (§3.6): no such page, no such section (the service "appeals",
    # приём обращений, is rated by citizens like any other and has its page).
    assert not any(
        name.split("/")[-1].startswith("appeal")
        for name in names
        if "/services/" not in name and "/charts/" not in name
    )
    for text in (data.decode() for data in snapshot(tmp_path).values()):
        assert STAFF_COMMENT not in text and CITIZEN_COMMENT not in text
        assert "hr" not in re.findall(r'href="services/([^".]+)', text)
        # Self-contained: no script, no external resource, no request anywhere.
        assert not re.search(r"<script\b|<iframe\b|https?://(?!www\.w3\.org/)", text)
    staff_service = seeded_sqlite.reporting.catalog.service("hr")
    assert staff_service is not None and staff_service.internal
    assert not (tmp_path / "ru" / "services" / "hr.html").exists()
    navigation = [a.get_text() for a in page(tmp_path / "ru" / "index.html").select("nav a")]
    assert navigation == [
        "Обзор",
        "Услуги",
        "Жизненные ситуации",
        "Каналы обращения",
        "Опросы",
        "Вы сказали — мы сделали",
        "Методика",
        "English",
    ]
    monitoring = "Мониторинг обращений".encode()
    assert not any(monitoring in data for data in snapshot(tmp_path).values())


async def test_poll_windows_show_their_published_figures_only(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    rows = one(tables(page(tmp_path / "ru" / "polls.html")), "Итоги завершённых опросов")
    shown, hidden = rows
    counts = WINDOWS[0].counts
    assert counts is not None and counts.csat is not None and counts.mean is not None
    assert shown["Опрос"] == "Качество лицензирования"
    assert shown["Даты"] == "05.10.2026–16.10.2026"
    assert int(shown["Ответов"]) == counts.respondents == 23
    assert int(shown["Оценок (n)"]) == counts.n == 22
    assert number(shown["Довольны (CSAT), %"]) == round(counts.csat, 1)
    assert number(shown["Средняя оценка из 5"]) == round(counts.mean, 2)
    assert list(hidden.values())[2:] == [TOO_FEW]
    english = one(tables(page(tmp_path / "en" / "polls.html")), "Results of closed polls")
    assert english[0]["Poll"] == "Licensing quality"
    assert english[1]["Poll"] == "Малый опрос"  # no English in the catalog: Russian
    # Issue 11 item 3: the news of a published window links to its own row.
    rows_ids = [row.get("id") for row in page(tmp_path / "ru" / "polls.html").select("tbody tr")]
    assert rows_ids == [f"window-{window.window_id}" for window in WINDOWS]
    assert window_href(WINDOWS[0].window_id) == f"polls.html#window-{WINDOWS[0].window_id}"


async def test_you_said_we_did_renders_whatever_the_provider_gives(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    rows = one(tables(page(tmp_path / "ru" / "done.html")), "Меры, принятые")
    assert [r["Проблема"] for r in rows] == [m.problem for m in MEASURES]  # newest first
    first = rows[0]
    assert first["Что сделано"] == MEASURES[0].measure
    assert first["Процесс"] == "Выдача лицензий" and first["Когда"] == "20.10.2026"
    assert (number(first["До"]), number(first["После"])) == (61.5, 78.2)
    assert (rows[1]["До"], rows[1]["После"]) == ("не публикуется", "не публикуется")
    # An escaped measure: the provider's text is text, never markup.
    seeded_sqlite.measures.measures = [
        DoneMeasure("<b>x</b>", "<script>alert(1)</script>", "m", date(2026, 11, 1))
    ]
    await seeded_sqlite.publication.publish(tmp_path)
    text = (tmp_path / "ru" / "done.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    seeded_sqlite.measures.measures = []
    await seeded_sqlite.publication.publish(tmp_path)
    assert "Здесь появятся меры" in (tmp_path / "ru" / "done.html").read_text()


async def test_english_tree_uses_the_catalogs_english_and_declares_its_language(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    for path in snapshot(tmp_path):
        language = path.relative_to(tmp_path).parts[0]
        if path.suffix == ".html" and language in ("ru", "en"):
            soup = page(path)
            assert soup.html is not None and soup.html.get("lang") == language
            assert soup.select_one("a.skip[href='#main']") is not None
            assert soup.find("main", id="main") is not None
            levels = [int(h.name[1]) for h in soup.find_all(re.compile("^h[1-6]$"))]
            assert levels[0] == 1 and levels.count(1) == 1
            assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), path
    licensing = seeded_sqlite.reporting.catalog.service("licensing")
    assert licensing is not None and licensing.title.en
    english = (tmp_path / "en" / "services.html").read_text()
    assert licensing.title.en in english
    assert page(tmp_path / "index.html").select("a[hreflang]")


async def test_rewriting_an_unchanged_site_changes_no_file_and_drops_stale_ones(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    before = snapshot(tmp_path)
    stale = tmp_path / "ru" / "services" / "gone.html"
    stale.write_text("old")
    foreign = tmp_path / "ru" / "notes.txt"
    foreign.write_text("the webmaster's file")
    await seeded_sqlite.publication.publish(tmp_path)
    after = snapshot(tmp_path)
    assert not stale.exists() and foreign.exists()
    del after[foreign]
    assert after == before


async def test_refresh_rewrites_only_when_the_content_changed(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    publication = seeded_sqlite.publication
    assert await publication.refresh(tmp_path)
    assert not await publication.refresh(tmp_path)
    seeded_sqlite.windows.results.insert(
        0,
        WindowResult(
            9,
            Text(ru="Новый опрос"),
            date(2026, 11, 2),
            date(2026, 11, 13),
            GroupCounts(respondents=6, by_score=(0, 0, 1, 2, 3)),
        ),
    )
    assert await publication.refresh(tmp_path)
    assert "Новый опрос" in (tmp_path / "ru" / "polls.html").read_text()


async def test_results_text_shows_the_sites_figures_by_service_and_life_situation(
    seeded_sqlite: Seeded,
) -> None:
    from questionnaires.schema import Language
    from reports.site import results_text

    content = await seeded_sqlite.publication.content()
    text = results_text(content, Language.RU, seeded_sqlite.publication.url)
    main = await model(seeded_sqlite, PeriodKind.QUARTER)
    for group in (*main.by(Dimension.SERVICE), *main.by(Dimension.LIFE_SITUATION)):
        line = next(line for line in text.splitlines() if line.startswith(f"• {group.title} —"))
        if is_hidden(group.current, 5):
            assert TOO_FEW in line and "CSAT" not in line
        else:
            assert group.current.csat is not None
            assert f"CSAT {group.current.csat:.1f}%".replace(".", ",") in line
            assert f"n = {group.current.n}" in line
    assert "https://example.gov.ru/otklik/" in text
    assert STAFF_COMMENT not in text and CITIZEN_COMMENT not in text


async def test_issue13_the_site_has_no_messenger_breakdown(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    """A decision (docs/anonymity.md, "The messenger"): the officers' reports break results
    down by messenger, the public site reports services and touchpoints only."""
    main = await model(seeded_sqlite, PeriodKind.QUARTER)
    assert main.by(Dimension.FRONT)  # the model has the rows; the site leaves them out
    await seeded_sqlite.publication.publish(tmp_path)
    for text in (data.decode() for data in snapshot(tmp_path).values()):
        for word in ("Мессенджеры", "Messengers", "Веб-форма", "Web form"):
            assert word not in text
