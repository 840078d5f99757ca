"""A web response is as anonymous as a Telegram one, and both land in one report by channel."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.web import web_signer
from questionnaires.engine import Choose, Rate
from questionnaires.schema import Language
from reports.model import Dimension, Scope
from reports.periods import month_of
from services.dialog import DialogData, DialogService, Finished, Question, Rating, Step
from tests.web.harness import Stack, web_stack
from tests.web.test_forms import fill_post_service
from web.security import BROWSER_COOKIE, person_of

UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Secret-Model) Chrome/131"


class MemoryState:
    """A Telegram-like dialog state, in memory."""

    def __init__(self) -> None:
        self.data: DialogData | None = None

    async def load(self) -> DialogData | None:
        return self.data

    async def save(self, data: DialogData) -> None:
        self.data = data

    async def clear(self) -> None:
        self.data = None


async def everything_stored(stack: Stack) -> str:
    """Every row of every table as text."""
    async with stack.wiring.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    lines = []
    for table in tables:
        for row in await stack.rows(f'SELECT * FROM "{table}"'):
            lines.append(f"{table}: {row}")
    return "\n".join(lines)


async def test_no_cookie_address_agent_or_person_key_is_stored_or_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with web_stack(tmp_path) as stack:
        visitor = stack.visitor()
        visitor.session.headers["User-Agent"] = UA
        try:
            await fill_post_service(visitor, await visitor.get("/r/licensing_site"))
            # A second dialog left open: its progress waits in the FSM store.
            await visitor.get("/r/appeals_site")
            await visitor.submit("4")
            cookies = visitor.session.cookie_jar.filter_cookies(stack.client.make_url("/"))
            cookie = cookies[BROWSER_COOKIE].value
            csrf = visitor.page.hidden("csrf") if visitor.page else ""
        finally:
            await visitor.close()
        await stack.wiring.services.campaigns.flush_participation(force=True)
        stored = await everything_stored(stack)
    assert "licensing" in stored  # the scan does see the answers
    # The number the services saw for this browser (the keyed hash of its cookie).
    person = str(person_of(web_signer(stack.settings), cookie))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (cookie, csrf, person, person.lstrip("-"), "127.0.0.1", "Secret-Model"):
        assert secret not in stored, secret
        assert secret not in logged, secret


async def test_a_web_and_a_telegram_response_land_in_one_report_by_channel(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path, min_group_size=1) as stack:
        visitor = stack.visitor()
        try:
            await fill_post_service(visitor, await visitor.get("/r/licensing_site"))
        finally:
            await visitor.close()
        # The Telegram front calls the same service with the user id and the bot's link.
        wiring = stack.wiring
        dialog = DialogService(
            feedback=wiring.services.feedback,
            campaigns=wiring.services.campaigns,
            funnel=wiring.services.funnel,
        )
        state = MemoryState()
        telegram_user = 777000111
        context = wiring.services.feedback.context_from_link("licensing_messenger")
        assert context is not None
        step: Step = await dialog.start(state, telegram_user, Language.RU, Rating(context))
        for action in (Rate(5), Choose("yes"), Choose("one")):
            assert isinstance(step, Question)
            step = await dialog.press(
                state, telegram_user, Language.RU, step.dialog, step.turn, action
            )
        assert isinstance(step, Question) and step.question_id == "comment"
        finished = await dialog.skip(state, telegram_user, Language.RU, step.dialog, step.turn)
        assert isinstance(finished, Finished)
        report = await wiring.services.reporting.report(
            month_of(wiring.services.feedback.today()), Scope(service="licensing")
        )
    assert report.overall.n == 2
    channels = {row.key: row.current.n for row in report.by(Dimension.CHANNEL)}
    assert channels == {"site": 1, "messenger": 1}
