"""The officer's report message and alerts: figures, anonymity, escaping, splitting, English."""

from __future__ import annotations

import re
from datetime import date

import pytest

from questionnaires.schema import Language
from reports.model import (
    Dimension,
    DropOff,
    NegativeGroup,
    Nps,
    Period,
    ProblemRow,
    QuitPoint,
    Report,
    Score,
)
from reports.telegram import (
    MESSAGE_LIMIT,
    protect,
    render_negative_digest,
    render_report,
    render_report_text,
    split_message,
)
from tests.reports_output.factories import empty_report, full_report, group, hidden, score
from tests.reports_output.html_check import check_html

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _line_with(text: str, fragment: str) -> str:
    lines = [line for line in text.splitlines() if fragment in line]
    assert len(lines) == 1, (fragment, lines)
    return lines[0]


def test_full_report_shows_overall_figures_change_and_band() -> None:
    (message,) = render_report(full_report())
    check_html(message)
    assert "<b>📊 Отчёт: жилищная инспекция</b>" in message
    assert "01.10.2024–31.10.2024" in message
    assert "31.08.2024–30.09.2024" in message  # the previous period of equal length
    assert "Ответов: 240" in message
    assert "CSAT: 87,5% (▲ 3,2 п.п.; было 84,3%)" in message
    assert "Средняя оценка: 4,21 — высокий" in message
    assert "5★ 150 · 4★ 60 · 3★ 15 · 2★ 8 · 1★ 7" in message


def test_groups_are_sorted_by_answers_with_hidden_groups_last() -> None:
    report = full_report(
        groups=(
            group(Dimension.SERVICE, "a", "Аааа", hidden(), hidden()),
            group(Dimension.SERVICE, "b", "Малая", score(10, 50.0, 3.0), score(10, 60.0, 3.2)),
            group(Dimension.SERVICE, "c", "Большая", score(90, 90.0, 4.5), hidden()),
        )
    )
    text = render_report_text(report)
    assert text.index("Большая") < text.index("Малая") < text.index("Аааа")
    assert "• Малая — 10 отв., CSAT 50,0% (▼ 10,0 п.п.), ср. 3,00" in text
    # No change when the previous period had too few answers.
    assert "• Большая — 90 отв., CSAT 90,0%, ср. 4,50" in text


@pytest.mark.parametrize(
    "secret",
    [
        # What the SQL side should send: suppressed and empty.
        Score(n=0, suppressed=True),
        # Defence in depth: flagged, but figures leaked into the object anyway.
        Score(
            n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}, cannot_rate=2, suppressed=True
        ),
        # Not flagged, but below the threshold: still no figure.
        Score(n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}),
    ],
)
def test_suppressed_group_shows_no_figure(secret: Score) -> None:
    report = full_report(
        groups=(
            group(Dimension.SERVICE, "x", "Редкая услуга", secret, secret),
            group(Dimension.SERVICE, "y", "Обычная", score(40, 75.0, 4.0), score(40, 70.0, 3.9)),
        )
    )
    for language in Language:
        text = render_report_text(report, language)
        line = _line_with(text, "Редкая услуга")
        too_few = "скрыто ради анонимности" if language == Language.RU else "hidden for anonymity"
        assert line == f"• Редкая услуга — {too_few}"
        for figure in ("66,7", "66.7", "3,67", "3.67"):
            assert figure not in text
        assert "без цифр" in text.lower() or "without figures" in text


def test_difference_with_overall_cannot_reveal_a_hidden_group() -> None:
    # 240 overall − 150 − 87 shown = 3: the hidden service's size would be readable, so the
    # smallest shown service is hidden too.
    report = full_report(
        groups=(
            group(Dimension.SERVICE, "l", "Лицензирование", score(150, 91.3, 4.4), hidden()),
            group(Dimension.SERVICE, "a", "Приём обращений", score(87, 80.5, 3.76), hidden()),
            group(Dimension.SERVICE, "s", "Редкая услуга", hidden(), hidden()),
        )
    )
    protected = protect(report)
    assert [row.current.suppressed for row in protected.groups] == [False, True, True]
    text = render_report_text(report)
    assert "• Приём обращений — скрыто ради анонимности" in text
    assert "87 отв." not in text and "80,5" not in text
    assert "• Лицензирование — 150 отв." in text


def test_complementary_suppression_covers_the_previous_period() -> None:
    # Previous overall 200 − 120 − 78 = 2.
    report = full_report(
        groups=(
            group(Dimension.CHANNEL, "o", "Офис", score(150, 90.0, 4.4), score(120, 85.0, 4.2)),
            group(Dimension.CHANNEL, "s", "Сайт", score(85, 80.0, 4.0), score(78, 70.0, 3.8)),
            group(Dimension.CHANNEL, "p", "Почта", score(5, 80.0, 4.0), hidden()),
        )
    )
    protected = protect(report)
    assert [row.previous.suppressed for row in protected.groups] == [False, True, True]
    assert [row.current.suppressed for row in protected.groups] == [False, False, False]
    assert "• Сайт — 85 отв., CSAT 80,0%, ср. 4,00" in render_report_text(report)


def test_nothing_changes_when_differences_are_large_enough() -> None:
    report = full_report()
    assert protect(report) is report


def test_hidden_overall_hides_problems_and_figures() -> None:
    report = full_report(overall=Score(n=4, csat=75.0, mean=3.5, suppressed=True), groups=())
    text = render_report_text(report)
    assert "<b>Итого</b>: скрыто ради анонимности" in text
    assert "75,0" not in text and "3,50" not in text
    assert "Проблемы" not in text


def test_suppressed_nps_and_comments_are_not_shown() -> None:
    report = full_report(
        nps=Nps(n=4, promoters=3, detractors=1, suppressed=True),
        comments=(),
        comments_suppressed=True,
    )
    text = render_report_text(report)
    assert "<b>NPS</b>: скрыто ради анонимности" in text
    assert "+50" not in text
    assert "Комментарии не показаны" in text


def test_problems_are_ordered_by_priority_with_bands() -> None:
    report = full_report(
        problems=(
            ProblemRow("q", "a", "Низкий", 10, 0.05, 4.0, 0.05),
            ProblemRow("q", "b", "Высокий", 80, 0.4, 2.0, 1.2),
            ProblemRow("q", "c", "Без оценки", 6, 0.03, None, None),
        )
    )
    text = render_report_text(report)
    assert text.index("Высокий") < text.index("Низкий") < text.index("Без оценки")
    assert "• Высокий — 40,0% (80 чел.), приоритет высокий" in text
    assert "• Без оценки — 3,0% (6 чел.)" in text


def test_drop_off_shows_rate_and_top_quit_points() -> None:
    quits = tuple(QuitPoint(f"q{i}", f"Вопрос {i}", i) for i in range(1, 6))
    text = render_report_text(full_report(drop_off=DropOff(200, 150, quits)))
    assert "Начали: 200, завершили: 150 (75,0%)" in text
    assert "«Вопрос 5» — 5; «Вопрос 4» — 4; «Вопрос 3» — 3" in text
    assert "Вопрос 2" not in text


def test_titles_and_comments_are_escaped() -> None:
    nasty = "<b>&"
    report = full_report(
        title=f"Отчёт {nasty}",
        groups=(
            group(Dimension.SERVICE, "x", f"Услуга {nasty}", score(40, 75.0, 4.0), hidden()),
            group(Dimension.CHANNEL, "y", f"Канал {nasty}", hidden(), hidden()),
        ),
        problems=(ProblemRow("q", "o", f"Проблема {nasty}", 10, 0.25, 3.0, 0.5),),
        drop_off=DropOff(10, 5, (QuitPoint("q", f"Вопрос {nasty}", 5),)),
        comments=(f"Комментарий {nasty} <script>alert(1)</script>",),
    )
    (message,) = render_report(report)
    check_html(message)
    assert message.count("&lt;b&gt;&amp;") == 6
    assert "<script>" not in message
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message


def test_empty_report_says_there_are_no_answers() -> None:
    messages = render_report(empty_report())
    assert len(messages) == 1
    check_html(messages[0])
    assert "За период ответов нет." in messages[0]
    for section in ("Услуги", "Проблемы", "NPS", "Комментарии", "CSAT"):
        assert section not in messages[0]


def test_english_report_has_no_russian_texts() -> None:
    report = full_report(
        title="Housing inspection",
        groups=(
            group(Dimension.SERVICE, "l", "Licensing", score(150, 91.3, 4.4), score(1, 1, 1)),
            group(Dimension.SERVICE, "s", "Rare", hidden(), hidden()),
            group(Dimension.CHANNEL, "o", "Office", score(140, 85.0, 4.1), hidden()),
            group(Dimension.LIFE_SITUATION, "m", "Moving", score(60, 70.0, 3.5), hidden()),
        ),
        problems=(ProblemRow("q", "queue", "Long queue", 48, 0.2, 2.5, 0.5),),
        drop_off=DropOff(300, 240, (QuitPoint("q", "What got in the way?", 35),)),
        comments=("Great, thanks",),
        comments_suppressed=False,
    )
    (message,) = render_report(report, Language.EN)
    check_html(message)
    assert not CYRILLIC.search(message), CYRILLIC.findall(message)
    assert "CSAT: 87.5% (▲ 3.2 pp; was 84.3%)" in message
    assert "Mean score: 4.21 — high" in message
    assert "• Rare — hidden for anonymity" in message
    assert "• Long queue — 20.0% (48 people), priority medium" in message
    assert "Started: 300, completed: 240 (80.0%)" in message
    assert "“Great, thanks”" in message


def _long_report() -> Report:
    long = "Очень длинное название услуги с подробностями & <уточнениями> " * 3
    groups = tuple(
        group(dimension, f"{dimension}{i}", f"{long}{i}", score(100 - i, 80.0, 4.0), hidden())
        for dimension in Dimension
        for i in range(25)
    )
    problems = tuple(
        ProblemRow("q", f"o{i}", f"{long} проблема {i}", 10, 0.1, 3.0, 0.2) for i in range(25)
    )
    return full_report(
        groups=groups,
        problems=problems,
        comments=tuple(f"{long} комментарий {i}" for i in range(20)),
    )


def test_long_report_is_split_into_balanced_messages_within_the_limit() -> None:
    report = _long_report()
    messages = render_report(report)
    assert len(messages) >= 2
    for message in messages:
        assert len(message) <= MESSAGE_LIMIT
        assert len(message.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
        check_html(message)
    # Split at line boundaries only: joining gives back every line of the whole text.
    whole = render_report_text(report)
    assert [line for m in messages for line in m.splitlines() if line] == [
        line for line in whole.splitlines() if line
    ]
    assert "…и ещё 15 (все — в таблице)" in whole
    assert "(5 из 20)" in whole


def test_split_keeps_short_text_whole() -> None:
    assert split_message("<b>a</b>\nb") == ["<b>a</b>\nb"]
    assert split_message("") == []


def test_split_prefers_paragraph_boundaries() -> None:
    paragraph = "\n".join(["x" * 30] * 3)  # 92 characters
    text = "\n\n".join([paragraph] * 3)
    messages = split_message(text, limit=200)
    assert messages == [paragraph + "\n\n" + paragraph, paragraph]


def test_split_cuts_a_long_line_outside_tags_and_entities_and_reopens_tags() -> None:
    line = "<b>" + "слово &amp; <i>курсив</i> " * 300 + "</b>"
    messages = split_message(line, limit=500)
    assert len(messages) > 10
    for message in messages:
        assert len(message) <= 500
        check_html(message)
        assert message.startswith("<b>") and message.endswith("</b>")
    # Nothing lost: the visible text is the same once the cuts are joined.
    visible = "".join(check_html(m) for m in messages)
    assert visible.replace(" ", "") == check_html(line).replace(" ", "")


def test_split_counts_utf16_units_and_escapes_stray_characters() -> None:
    messages = split_message("😀" * 300 + " a < b & c", limit=100)
    for message in messages:
        assert len(message.encode("utf-16-le")) // 2 <= 100
        check_html(message)
    assert "a &lt; b &amp; c" in messages[-1]


def test_split_reopens_a_tag_spanning_lines() -> None:
    text = "<blockquote>" + "\n".join(f"строка {i}" for i in range(100)) + "</blockquote>"
    messages = split_message(text, limit=300)
    assert len(messages) > 1
    for message in messages:
        check_html(message)
        assert message.startswith("<blockquote>")


def test_split_rejects_a_limit_too_small_for_the_open_tags() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_message('<a href="https://example.org/very/long">' + "x" * 100 + "</a>", limit=20)


WEEK_PIECE = Period(date(2024, 9, 30), date(2024, 9, 30))


def _groups() -> list[NegativeGroup]:
    return [
        NegativeGroup("p", "Паспорт <b>&", 6, (("Очередь <долгая>", 5),), ("Ужасно\nдолго <i>",)),
        NegativeGroup("a", "Автомобили", 5, (), ()),
    ]


def test_negative_batch_is_escaped_and_anonymous() -> None:
    (message,) = render_negative_digest(_groups(), WEEK_PIECE, threshold=2, min_group=5)
    check_html(message)
    assert message.startswith("<b>⚠️ Оценки 1–2 из 5 за 30.09.2024–30.09.2024</b>")
    assert "<b>Паспорт &lt;b&gt;&amp;</b> — 6 чел." in message
    assert "Что мешало: Очередь &lt;долгая&gt; — 5" in message
    assert "— «Ужасно долго &lt;i&gt;»" in message
    # No time of day anywhere.
    assert not re.search(r"\d{1,2}:\d{2}", message)


def test_negative_batch_order_does_not_follow_arrival() -> None:
    groups = _groups()
    text = render_negative_digest(groups, WEEK_PIECE, threshold=2, min_group=5)
    assert text == render_negative_digest(groups[::-1], WEEK_PIECE, threshold=2, min_group=5)
    assert text[0].index("Автомобили") < text[0].index("Паспорт")


def test_negative_batch_in_english_and_nothing_when_empty() -> None:
    groups = [NegativeGroup("l", "Licensing", 7, (("Queue", 5),), ("Slow",))]
    (message,) = render_negative_digest(
        groups, WEEK_PIECE, threshold=1, min_group=5, language=Language.EN
    )
    assert "Scores of 1 out of 5" in message and "What got in the way: Queue — 5" in message
    assert "“Slow”" in message
    assert not CYRILLIC.search(message)
    assert render_negative_digest([], WEEK_PIECE, threshold=2, min_group=5) == []


def test_large_negative_batch_is_split() -> None:
    groups = [
        NegativeGroup(str(i), f"Услуга {i}", 5, (("Очередь", 5),), ("текст " * 200,))
        for i in range(30)
    ]
    messages = render_negative_digest(groups, WEEK_PIECE, threshold=2, min_group=5)
    assert len(messages) > 1
    for message in messages:
        assert len(message) <= MESSAGE_LIMIT
        check_html(message)
    assert sum(m.count("— 5 чел.") for m in messages) == 30
