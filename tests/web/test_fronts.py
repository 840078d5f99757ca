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
from reports.model import Dimension, Report, Scope
from reports.periods import month_of
from reports.telegram import render_report_text
from reports.workbook import RESPONSE_COLUMNS, RESPONSES, SHEETS
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
    # One report over all three. The two web answers are a small group, and the web counts
    # toward the threshold only among web answers (review of 30 November): they join no
    # block and are counted in no figure, so the total is Telegram's 6 and MAX's 5, each a
    # block of its own, shown.
    assert report.overall.n == 11 and not report.overall.suppressed
    fronts = {row.key: row.current for row in report.by(Dimension.FRONT)}
    assert set(fronts) == {"telegram", "max", "web"}
    assert fronts["web"].suppressed
    assert not fronts["telegram"].suppressed and fronts["telegram"].n == 6
    assert fronts["telegram"].mean == 5.0
    assert not fronts["max"].suppressed and fronts["max"].n == 5
    assert fronts["max"].mean == 4.0
    titles = {row.key: row.title for row in report.by(Dimension.FRONT)}
    assert titles == {"telegram": "Telegram", "max": "MAX", "web": "Веб-форма"}

    # The officer's message, the JSON export and the workbook show the same breakdown.
    text = render_report_text(report)
    section = text.split("<b>Мессенджеры</b>", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("•")][:3]
    assert lines[0].startswith("• Telegram — 6 отв.")
    assert lines[1].startswith("• MAX — 5 отв.")
    assert lines[2] == "• Веб-форма — скрыто ради анонимности"
    exported = json.loads(json.dumps(report_json(report)))
    by_front = {g["key"]: g["current"] for g in exported["groups"] if g["dimension"] == "front"}
    assert by_front["telegram"]["n"] == 6 and by_front["max"]["n"] == 5
    assert by_front["web"] == {"suppressed": True}
    book = load_workbook(io.BytesIO(workbook), read_only=True)
    sheet = [
        list(row)
        for row in book[tr(Language.RU, SHEETS[Dimension.FRONT])].iter_rows(values_only=True)
    ]
    cells = {row[0]: row[1] for row in sheet[1:]}
    assert cells["Telegram"] == 6 and cells["MAX"] == 5
    assert isinstance(cells["Веб-форма"], str)  # hidden


def _response_scores(workbook: bytes) -> list[str]:
    """The overall scores of the workbook's response rows."""
    book = load_workbook(io.BytesIO(workbook), read_only=True)
    sheet = [list(row) for row in book[tr(Language.RU, RESPONSES)].iter_rows(values_only=True)]
    column = sheet[0].index(tr(Language.RU, RESPONSE_COLUMNS["overall"]))
    return sorted(str(row[column]) for row in sheet[1:])


async def _telegram_and_web(tmp_path: Path, web: int) -> tuple[Report, Report, bytes]:
    """6 Telegram ratings (5) and ``web`` web ratings (4) of one cell: licensing from the
    messenger channel's link, no life situation."""
    async with web_stack(tmp_path, min_group_size=5) as stack:
        for number in range(6):
            await _rate(stack, 777_000_200 + number, Front.TELEGRAM, 5)
        for number in range(web):
            await _rate(stack, -(900_000_200 + number), Front.WEB, 4)
        reporting = stack.wiring.services.reporting
        period = month_of(stack.wiring.services.feedback.today())
        scope = Scope(service="licensing")
        return (
            await reporting.report(period, scope),
            await reporting.report(period, Scope()),
            await reporting.workbook(period, scope),
        )


async def test_two_web_answers_beside_six_telegram_ones_are_in_no_figure(
    tmp_path: Path,
) -> None:
    """Review of 30 November: web answers count toward the threshold only among web answers
    (REPORTS__POOL_WEB_WITH_MESSENGERS=false, the default). The cell's 6 Telegram answers are
    shown; the 2 web ones, too few for a web block, are in no figure: the totals are the
    Telegram ones, so no subtraction gives them (or anything else) back."""
    service, everything, workbook = await _telegram_and_web(tmp_path, web=2)

    for report in (service, everything):
        assert not report.overall.suppressed
        assert report.overall.n == 6 and report.overall.mean == 5.0
        assert report.overall.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 6}
        for row in report.groups:
            if row.key == "web":
                assert row.current.suppressed and row.current.n == 0
            elif not row.current.suppressed:
                assert row.current.n == 6 and row.current.mean == 5.0, row
        fronts = {row.key: row.current for row in report.by(Dimension.FRONT)}
        assert fronts["telegram"].n == 6
    assert _response_scores(workbook) == ["5"] * 6


async def test_five_web_answers_beside_six_telegram_ones_are_shown_as_their_own_block(
    tmp_path: Path,
) -> None:
    service, everything, workbook = await _telegram_and_web(tmp_path, web=5)

    for report in (service, everything):
        assert report.overall.n == 11
        assert report.overall.distribution == {1: 0, 2: 0, 3: 0, 4: 5, 5: 6}
        fronts = {row.key: row.current for row in report.by(Dimension.FRONT)}
        assert fronts["telegram"].n == 6 and fronts["telegram"].mean == 5.0
        assert fronts["web"].n == 5 and fronts["web"].mean == 4.0
    assert _response_scores(workbook) == ["4"] * 5 + ["5"] * 6
