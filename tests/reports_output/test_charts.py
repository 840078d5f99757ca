"""Charts: valid PNGs of a phone-readable size; hidden buckets are gaps, never plotted."""

from __future__ import annotations

import itertools
import struct
from datetime import date, timedelta

from questionnaires.schema import Language
from reports.charts import (
    csat_trend_png,
    distribution_bars,
    distribution_png,
    trend_figure,
    trend_series,
)
from reports.model import Score, TrendPoint
from tests.reports_output.factories import hidden, score

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEEK_1 = date(2024, 9, 2)
WEEKS = [WEEK_1 + timedelta(weeks=i) for i in range(4)]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def point(service: str | None, week: int, value: Score) -> TrendPoint:
    return TrendPoint(service, WEEKS[week], value)


def test_hidden_and_small_buckets_are_gaps() -> None:
    points = [
        point("a", 0, score(40, 80.0, 4.2)),
        point("a", 1, hidden()),
        # Flagged, with figures leaked into it: still a gap.
        point("a", 2, Score(n=3, csat=33.3, mean=2.0, suppressed=True)),
        # Not flagged but below the threshold: a gap too.
        point("a", 3, Score(n=4, csat=25.0, mean=2.5)),
    ]
    series = trend_series(points, {"a": "Лицензирование"}, min_group=5)
    assert series.buckets == tuple(WEEKS)
    assert series.lines == (("Лицензирование", (80.0, None, None, None)),)
    assert series.omitted == 0


def test_missing_bucket_of_one_service_is_a_gap() -> None:
    points = [point("a", 0, score(10, 70.0, 4.0)), point("b", 1, score(10, 60.0, 3.0))]
    series = trend_series(points, {"a": "A", "b": "B"}, min_group=5)
    assert dict(series.lines) == {"A": (70.0, None), "B": (None, 60.0)}


def test_top_six_services_by_visible_answers_are_kept() -> None:
    points = [point(f"s{i}", 0, score(10 + i, 50.0 + i, 4.0)) for i in range(8)]
    # A large hidden bucket must not lift a service into the top.
    points.append(point("s0", 1, Score(n=1000, csat=99.0, mean=5.0, suppressed=True)))
    # A service with nothing visible is omitted as well.
    points.append(point("ghost", 0, hidden()))
    titles: dict[str | None, str] = {f"s{i}": f"Услуга {i}" for i in range(8)}
    series = trend_series(points, titles, min_group=5)
    assert [label for label, _ in series.lines] == [f"Услуга {i}" for i in range(7, 1, -1)]
    assert series.omitted == 3


def test_labels_are_safe_for_matplotlib() -> None:
    points = [
        point("dollar", 0, score(30, 50.0, 3.0)),
        point("under", 0, score(20, 50.0, 3.0)),
        point(None, 0, score(10, 50.0, 3.0)),
    ]
    titles: dict[str | None, str] = {"dollar": "Оплата $5 и $6", "under": "_скрытая"}
    labels = [label for label, _ in trend_series(points, titles, min_group=5).lines]
    assert labels[0] == r"Оплата \$5 и \$6"  # no mathtext
    assert not labels[1].startswith("_")  # matplotlib would drop it from the legend
    assert labels[2] == "Без услуги"


def test_trend_chart_is_a_png_of_phone_size() -> None:
    points = [
        point(service, week, score(20, 60.0 + week * 5, 4.0) if week != 2 else hidden())
        for service in ("a", "b")
        for week in range(4)
    ]
    data = csat_trend_png(
        points,
        {"a": "Выдача справок", "b": "Приём обращений"},
        period_label="сентябрь 2024",
        min_group=5,
    )
    assert png_size(data) == (1200, 700)


def test_trend_chart_without_visible_data_is_a_placeholder_png() -> None:
    data = csat_trend_png(
        [point("a", 0, hidden())], {}, period_label="Q3", min_group=5, language=Language.EN
    )
    assert png_size(data) == (1200, 700)
    assert png_size(csat_trend_png([], {}, period_label="Q3", min_group=5)) == (1200, 700)


def test_distribution_bars_in_score_order() -> None:
    value = score(20, 75.0, 3.95, {5: 10, 4: 5, 3: 2, 1: 3})
    assert distribution_bars(value, 5) == (3, 0, 2, 5, 10)


def test_distribution_of_a_hidden_group_has_no_bars() -> None:
    leaked = Score(n=3, csat=66.7, mean=3.7, distribution={5: 2, 1: 1}, suppressed=True)
    assert distribution_bars(leaked, 5) is None
    assert distribution_bars(Score(n=4, distribution={5: 4}), 5) is None


def test_distribution_charts_are_pngs() -> None:
    value = score(120, 80.0, 4.1, {1: 5, 2: 7, 3: 12, 4: 30, 5: 66})
    assert png_size(distribution_png(value, title="Лицензирование", min_group=5)) == (1200, 700)
    placeholder = distribution_png(hidden(), title="Редкая", min_group=5, language=Language.EN)
    assert png_size(placeholder) == (1200, 700)


LONG_TITLES: dict[str | None, str] = {
    "licensing": "Лицензирование деятельности по управлению многоквартирными домами",
    "register": "Сведения из реестра лицензий управляющих организаций",
    "repairs": "Контроль за капитальным ремонтом",
}


def test_issue10_trend_legend_shows_full_service_names_inside_the_picture() -> None:
    points = [
        point(service, week, score(20 + i, 60.0 + week, 4.0))
        for i, service in enumerate(LONG_TITLES)
        for week in range(4)
    ]
    series = trend_series(points, LONG_TITLES, min_group=5)
    figure = trend_figure(series, title="CSAT", min_group=5)
    figure.canvas.draw()
    [legend] = figure.legends
    texts = legend.get_texts()
    assert sorted(" ".join(t.get_text().split()) for t in texts) == sorted(
        str(title) for title in LONG_TITLES.values()
    )
    width, height = figure.canvas.get_width_height()
    for text in texts:
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height
    # Entries do not overlap each other.
    boxes = [t.get_window_extent() for t in texts]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
