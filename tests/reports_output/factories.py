"""Hand-built reports for the output tests: plain values, as the SQL side will produce them."""

from __future__ import annotations

from datetime import date

from reports.model import (
    DEFAULT_MIN_GROUP,
    Dimension,
    DropOff,
    GroupRow,
    Nps,
    Period,
    ProblemRow,
    QuitPoint,
    Report,
    Scope,
    Score,
)

PERIOD = Period(date(2024, 10, 1), date(2024, 10, 31))


def score(n: int, csat: float, mean: float, distribution: dict[int, int] | None = None) -> Score:
    return Score(n=n, csat=csat, mean=mean, distribution=distribution or {})


def hidden() -> Score:
    """What the SQL side returns below the threshold: the fact, no figures."""
    return Score(n=0, suppressed=True)


def group(
    dimension: Dimension, key: str | None, title: str, current: Score, previous: Score
) -> GroupRow:
    return GroupRow(dimension, key, title, current, previous)


def full_report(**changes: object) -> Report:
    """A month of a housing inspection: three services, one of them below the threshold."""
    values: dict[str, object] = {
        "title": "Отчёт: жилищная инспекция",
        "period": PERIOD,
        "scope": Scope(),
        "overall": score(240, 87.5, 4.21, {5: 150, 4: 60, 3: 15, 2: 8, 1: 7}),
        "overall_previous": score(200, 84.3, 4.05, {5: 110, 4: 59, 3: 16, 2: 8, 1: 7}),
        "groups": (
            group(
                Dimension.SERVICE,
                "licensing",
                "Лицензирование",
                score(150, 91.3, 4.4),
                score(120, 88.0, 4.3),
            ),
            group(
                Dimension.SERVICE,
                "appeals",
                "Приём обращений",
                score(80, 80.0, 3.76),
                score(75, 84.0, 3.9),
            ),
            # Hidden: the real figures (n=3, CSAT 66.7 %) never reach this layer.
            group(Dimension.SERVICE, "secret", "Редкая услуга", hidden(), hidden()),
            group(
                Dimension.CHANNEL, "office", "Офис", score(140, 85.0, 4.1), score(110, 80.0, 4.0)
            ),
            group(Dimension.CHANNEL, "site", "Сайт", score(100, 91.0, 4.35), hidden()),
            group(
                Dimension.LIFE_SITUATION,
                "move",
                "Переезд",
                score(60, 70.0, 3.5),
                score(50, 72.0, 3.6),
            ),
        ),
        "problems": (
            ProblemRow("hindered", "queue", "Долгое ожидание", 48, 0.2, 2.5, 0.5),
            ProblemRow("hindered", "unclear", "Непонятная информация", 36, 0.15, 1.8, 0.48),
            ProblemRow("hindered", "rude", "Невежливость", 12, 0.05, 1.2, 0.19),
        ),
        "nps": Nps(n=120, promoters=70, passives=30, detractors=20),
        "drop_off": DropOff(
            started=300,
            completed=240,
            quit_points=(
                QuitPoint("hindered", "Что помешало?", 35),
                QuitPoint("q2", "Решён?", 25),
            ),
        ),
        "comments": ("Всё отлично, спасибо", "Очередь слишком длинная"),
        "comments_suppressed": False,
        "min_group": DEFAULT_MIN_GROUP,
        "compared_with": PERIOD.previous(),
    }
    values.update(changes)
    return Report(**values)  # type: ignore[arg-type]


def empty_report() -> Report:
    return Report(
        title="Пустой отчёт",
        period=PERIOD,
        scope=Scope(),
        overall=Score(n=0),
        overall_previous=Score(n=0),
        groups=(),
        problems=(),
        nps=None,
        drop_off=None,
        comments=(),
        comments_suppressed=False,
        min_group=DEFAULT_MIN_GROUP,
        compared_with=PERIOD.previous(),
    )
