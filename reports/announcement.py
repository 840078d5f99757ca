"""«Вы сказали — мы сделали» as a Telegram message (HTML) to the citizens who opted in.

The figures are the «вы сказали — мы сделали» page's own cells (reports.site.measure_row): a
figure the disclosure policy hides reads «не публикуется» here as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from questionnaires.schema import Language
from reports.public import DoneMeasure
from reports.site import measure_row

#: Measures written out in one message; the rest are counted and left to the site (a Telegram
#: message holds 4096 characters).
LISTED: Final = 8
#: A measure's own text is cut to this many characters in the message.
MEASURE_CHARS: Final = 300

TEXTS: Final[dict[Language, dict[str, str]]] = {
    Language.RU: {
        "title": "<b>Вы сказали — мы сделали</b>",
        "lead": "По итогам ваших оценок и отзывов:",
        "item": "• <b>{process}</b>: {problem}\n  Что сделано ({done_on}): {measure}\n"
        "  {metric}: до {before}, после {after}",
        "more": "…и ещё мер: {count}. Все меры — на сайте.",
        "site": "Подробнее: {url}",
        "stop": "Вы получили это сообщение, потому что просили сообщить об изменениях. "
        "Отписаться: /stop",
    },
    Language.EN: {
        "title": "<b>You said — we did</b>",
        "lead": "After your ratings and comments:",
        "item": "• <b>{process}</b>: {problem}\n  Done ({done_on}): {measure}\n"
        "  {metric}: before {before}, after {after}",
        "more": "…and {count} more measures. All of them are on the site.",
        "site": "More: {url}",
        "stop": "You get this message because you asked to hear what changes. "
        "To unsubscribe: /stop",
    },
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def announcement_text(
    measures: Sequence[DoneMeasure], language: Language = Language.RU, url: str | None = None
) -> str:
    """The message listing ``measures`` (oldest first), with the opt-out."""
    texts = TEXTS[language]
    lines = [texts["title"], texts["lead"], ""]
    for measure in measures[:LISTED]:
        cells = measure_row(measure, language)
        lines.append(
            texts["item"].format(
                process=escape(cells["process"]),
                problem=escape(cells["problem"]),
                done_on=escape(cells["done_on"]),
                measure=escape(_cut(cells["measure"], MEASURE_CHARS)),
                metric=escape(cells["metric"]),
                before=escape(cells["before"]),
                after=escape(cells["after"]),
            )
        )
    if len(measures) > LISTED:
        lines.append(texts["more"].format(count=len(measures) - LISTED))
    if url:
        lines += ["", texts["site"].format(url=escape(url, quote=True))]
    lines += ["", texts["stop"]]
    return "\n".join(lines)
