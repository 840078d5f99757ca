"""Issue 13: Telegram, MAX and the web form feed one report, broken down by messenger.

"Done when: one report over responses from Telegram, MAX and the web form." The web answers go
through the real web server (as the web tests do); Telegram and MAX through the one
DialogService their fronts call, with an in-memory state port (the MAX front itself is
another branch's). The report is read with the production threshold of 5.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import load_workbook

from questionnaires.engine import Choose, Rate
from questionnaires.fronts import Front
from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.export import report_json
from reports.model import Dimension, Scope
from reports.periods import month_of
from reports.telegram import render_report_text
from reports.workbook import SHEETS
from services.dialog import DialogService, Finished, Question, Rating, Step
from tests.web.harness import Stack, web_stack
from tests.web.test_anonymity import MemoryState
from tests.web.test_forms import fill_post_service


async def _rate(stack: Stack, person: int, front: Front, score: int) -> None:
    """One post-service rating of licensing from the messenger channel's link."""
    services = stack.wiring.services
    dialog = DialogService(
        feedback=services.feedback, campaigns=services.campaigns, funnel=services.funnel
    )
    context = services.feedback.context_from_link("licensing_messenger")
    assert context is not None
    state = MemoryState()
    step: Step = await dialog.start(state, person, Language.RU, Rating(context), front=front)
    for action in (Rate(score), Choose("yes"), Choose("one")):
        assert isinstance(step, Question)
        step = await dialog.press(state, person, Language.RU, step.dialog, step.turn, action)
    assert isinstance(step, Question) and step.question_id == "comment"
    assert isinstance(
        await dialog.skip(state, person, Language.RU, step.dialog, step.turn), Finished
    )


async def test_issue13_telegram_max_and_web_responses_land_in_one_report_by_messenger(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path, min_group_size=5) as stack:
        for _ in range(2):  # two browsers, two people
            visitor = stack.visitor()
            try:
                await fill_post_service(visitor, await visitor.get("/r/licensing_site"))
            finally:
                await visitor.close()
        for number in range(6):
            await _rate(stack, 777_000_100 + number, Front.TELEGRAM, 5)
        for number in range(5):
            await _rate(stack, 888_000_100 + number, Front.MAX, 4)
        reporting = stack.wiring.services.reporting
        period = month_of(stack.wiring.services.feedback.today())
        scope = Scope(service="licensing")
        report = await reporting.report(period, scope)
        workbook = await reporting.workbook(period, scope)
        stored = await stack.rows("SELECT front, channel_code FROM responses")

    # Every front stored what it is, beside the channel its link named.
    assert sorted((row["front"], row["channel_code"]) for row in stored) == sorted(
        [("web", "site")] * 2 + [("telegram", "messenger")] * 6 + [("max", "messenger")] * 5
    )
    # One report over all three.
    assert report.overall.n == 13 and not report.overall.suppressed
    fronts = {row.key: row.current for row in report.by(Dimension.FRONT)}
    assert set(fronts) == {"telegram", "max", "web"}
    # The two web answers are a small group: hidden. They cannot stay alone, so the plan
    # joins them to the smallest block beside them (MAX's five), which is then no longer
    # whole: MAX is hidden with them, and the total minus Telegram leaves 7, not 2.
    assert fronts["web"].suppressed and fronts["max"].suppressed
    assert not fronts["telegram"].suppressed and fronts["telegram"].n == 6
    assert fronts["telegram"].mean == 5.0
    titles = {row.key: row.title for row in report.by(Dimension.FRONT)}
    assert titles == {"telegram": "Telegram", "max": "MAX", "web": "Веб-форма"}

    # The officer's message, the JSON export and the workbook show the same breakdown.
    text = render_report_text(report)
    section = text.split("<b>Мессенджеры</b>", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("•")][:3]
    assert lines[0].startswith("• Telegram — 6 отв.")
    assert lines[1:] == [
        "• MAX — скрыто ради анонимности",
        "• Веб-форма — скрыто ради анонимности",
    ]
    exported = json.loads(json.dumps(report_json(report)))
    by_front = {g["key"]: g["current"] for g in exported["groups"] if g["dimension"] == "front"}
    assert by_front["telegram"]["n"] == 6
    assert by_front["max"] == {"suppressed": True} and by_front["web"] == {"suppressed": True}
    book = load_workbook(io.BytesIO(workbook), read_only=True)
    sheet = [
        list(row)
        for row in book[tr(Language.RU, SHEETS[Dimension.FRONT])].iter_rows(values_only=True)
    ]
    cells = {row[0]: row[1] for row in sheet[1:]}
    assert cells["Telegram"] == 6
    assert all(isinstance(cells[name], str) for name in ("MAX", "Веб-форма"))  # hidden
