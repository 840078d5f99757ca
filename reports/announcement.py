"""«Вы сказали — мы сделали» as a Telegram message (HTML) to the citizens who opted in.

The figures are the «вы сказали — мы сделали» page's own cells (reports.site.measure_row): a
figure the disclosure policy hides reads «не публикуется» here as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.public import DoneMeasure
from reports.site import measure_row

#: Measures written out in one message; the rest are counted and left to the site (a Telegram
#: message holds 4096 characters).
LISTED: Final = 8
#: A measure's own text is cut to this many characters in the message.
MEASURE_CHARS: Final = 300


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def announcement_text(
    measures: Sequence[DoneMeasure], language: Language = Language.RU, url: str | None = None
) -> str:
    """The message listing ``measures`` (oldest first), with the opt-out."""
    lines = [tr(language, "announce.title"), tr(language, "announce.lead"), ""]
    for measure in measures[:LISTED]:
        cells = measure_row(measure, language)
        lines.append(
            tr(
                language,
                "announce.item",
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
        lines.append(tr(language, "announce.more", count=len(measures) - LISTED))
    if url:
        lines += ["", tr(language, "announce.site", url=escape(url, quote=True))]
    lines += ["", tr(language, "announce.stop")]
    return "\n".join(lines)
