"""The questionnaires as web forms through the real server and the production wiring.

Each test fills forms the way a browser without JavaScript does (tests/web/harness.py) and
checks the rows the answers left in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from tests.web.harness import Reply, Stack, WebVisitor, web_stack
from web.app import SERVICES_KEY
from web.forms import WebForms


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with web_stack(tmp_path) as made:
        yield made


@pytest.fixture
async def visitor(stack: Stack) -> AsyncIterator[WebVisitor]:
    made = stack.visitor()
    try:
        yield made
    finally:
        await made.close()


async def responses(stack: Stack) -> list[dict[str, object]]:
    return [
        dict(row)
        for row in await stack.rows(
            "SELECT questionnaire_id, service_code, channel_code, window_id FROM responses"
        )
    ]


async def answers(stack: Stack) -> dict[str, object]:
    rows = await stack.rows("SELECT question_id, option_id, number, text FROM answers")
    found: dict[str, list[object]] = {}
    for row in rows:
        value = row["number"] if row["number"] is not None else row["option_id"] or row["text"]
        found.setdefault(row["question_id"], []).append(value)
    # One value per question; a sorted list for a multiple choice.
    return {
        key: values[0] if len(values) == 1 else sorted(map(str, values))
        for key, values in found.items()
    }


async def fill_post_service(visitor: WebVisitor, first: Reply) -> Reply:
    assert "удовлетворены услугой" in first.question and first.options() == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    page = await visitor.submit("2")
    assert page.options() == ["yes", "partly", "no", "in_progress"]
    page = await visitor.submit("partly")
    assert "queue" in page.options()  # obstacles: shown after a low score
    page = await visitor.submit("queue", "other")
    assert page.soup.select_one("textarea") is not None  # the "other" follow-up
    page = await visitor.submit(typed="Долго искали кабинет")
    assert page.options() == ["one", "two", "three", "four_plus"]
    page = await visitor.submit("two")
    assert page.soup.select_one("textarea#answer-text") is not None  # the comment
    return await visitor.submit(typed="Спасибо за помощь")


async def test_a_full_post_service_form_from_a_link_stores_one_response_with_its_channel(
    stack: Stack, visitor: WebVisitor
) -> None:
    first = await visitor.get("/r/licensing_mfc")
    assert first.status == 200
    done = await fill_post_service(visitor, first)
    assert done.status == 200
    assert "Спасибо" in done.html
    assert await responses(stack) == [
        {
            "questionnaire_id": "post_service",
            "service_code": "licensing",
            "channel_code": "mfc",
            "window_id": None,
        }
    ]
    stored = await answers(stack)
    assert stored["overall"] == 2
    assert stored["solved"] == "partly"
    assert stored["obstacles"] == ["other", "queue"]
    assert stored["contacts"] == "two"


async def test_the_picker_lists_public_services_and_records_the_site_channel(
    stack: Stack, visitor: WebVisitor
) -> None:
    picker = await visitor.get("/")
    offered = [str(i["value"]) for i in picker.soup.select("input[name=service]")]
    assert "licensing" in offered and "appeals" in offered
    assert "hr" not in offered and "document-flow" not in offered  # internal processes
    first = await visitor.pick("appeals")
    await fill_post_service(visitor, first)
    assert await responses(stack) == [
        {
            "questionnaire_id": "post_service",
            "service_code": "appeals",
            "channel_code": "site",
            "window_id": None,
        }
    ]


async def test_an_unknown_or_internal_link_shows_the_picker_with_a_note(
    visitor: WebVisitor,
) -> None:
    unknown = await visitor.get("/r/nothing_here")
    assert unknown.status == 404
    assert "устарела или набрана с ошибкой" in unknown.html
    assert unknown.soup.select("input[name=service]")
    internal = await visitor.get("/r/hr_site")
    assert "сотрудники ведомства" in internal.html
    forged = await visitor.get("/r/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert "<script>alert" not in forged.html


async def test_a_missing_choice_is_a_clear_error_and_the_question_stays(
    stack: Stack, visitor: WebVisitor
) -> None:
    await visitor.get("/r/licensing_site")
    refused = await visitor.submit()
    assert refused.status == 422
    assert refused.error == "Выберите один из вариантов ответа."
    link = refused.soup.select_one(".error-summary a")
    assert link is not None and str(link["href"]).startswith("#q-overall")
    assert refused.options() == ["1", "2", "3", "4", "5"]
    wrong = await visitor.submit("9", page=refused)
    assert wrong.status == 422 and "шкале" in wrong.error
    page = await visitor.submit("5", page=wrong)
    assert page.options() == ["yes", "partly", "no", "in_progress"]


async def test_a_too_long_text_is_refused_and_kept_in_the_field(
    stack: Stack, visitor: WebVisitor
) -> None:
    await visitor.get("/r/licensing_site")
    await visitor.submit("5")
    await visitor.submit("yes")
    await visitor.submit("one")
    long = "слово " * 300
    refused = await visitor.submit(typed=long)
    assert refused.status == 422
    assert "не больше" in refused.error
    assert refused.soup.select_one("textarea").get_text().strip() == long.strip()  # type: ignore[union-attr]
    assert await responses(stack) == []


async def test_back_returns_to_the_previous_question_with_its_answer_marked(
    visitor: WebVisitor,
) -> None:
    await visitor.get("/r/licensing_site")
    await visitor.submit("4")
    back = await visitor.submit(action="back")
    checked = [str(i["value"]) for i in back.soup.select("input[name=choice][checked]")]
    assert checked == ["4"]
    page = await visitor.submit("1", page=back)
    assert page.options() == ["yes", "partly", "no", "in_progress"]


async def test_a_double_submit_of_the_last_page_stores_one_response(
    stack: Stack, visitor: WebVisitor
) -> None:
    await visitor.get("/r/licensing_site")
    await visitor.submit("5")
    await visitor.submit("yes")
    last = await visitor.submit("one")
    done = await visitor.submit(typed="Всё хорошо", page=last)
    assert "Спасибо" in done.html
    again = await visitor.submit(typed="Всё хорошо", page=last)
    assert again.status == 409
    assert len(await responses(stack)) == 1


async def test_a_double_click_mid_dialog_moves_the_dialog_and_its_funnel_once(
    stack: Stack, visitor: WebVisitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submits of the same page at once (a double click): one moves the dialog, the
    other is told it was already counted; the drop-off counters move once (review of 1
    December: without the person's lock both read the same turn and both counted)."""
    first = await visitor.get("/r/licensing_site")
    # A state store that answers after a while, as Redis or PostgreSQL over a network do: both
    # submits are then in flight at once (the embedded store answers at once).
    storage = stack.wiring.storage
    read = storage.get_data

    async def slow_read(key: StorageKey) -> dict[str, Any]:
        await asyncio.sleep(0.02)
        return await read(key)

    monkeypatch.setattr(storage, "get_data", slow_read)
    pages = await asyncio.gather(visitor.submit("5", page=first), visitor.submit("5", page=first))
    assert sorted("уже учтён" in page.html for page in pages) == [False, True]
    assert all(page.options() == ["yes", "partly", "no", "in_progress"] for page in pages)
    await stack.wiring.services.funnel.flush()
    counters = {
        row["step"]: row["count"]
        for row in await stack.rows("SELECT step, count FROM dialog_funnel WHERE front = 'web'")
    }
    assert counters == {"*started": 1, "@solved": 1}  # "@overall" netted to 0


async def test_a_resubmitted_older_page_changes_nothing_and_shows_the_current_question(
    stack: Stack, visitor: WebVisitor
) -> None:
    first = await visitor.get("/r/licensing_site")
    await visitor.submit("5")
    repeated = await visitor.submit("1", page=first)
    assert "уже учтён" in repeated.html
    assert repeated.options() == ["yes", "partly", "no", "in_progress"]


async def test_a_forged_form_state_is_refused_and_the_dialog_goes_on(
    stack: Stack, visitor: WebVisitor
) -> None:
    page = await visitor.get("/r/licensing_site")
    state = page.hidden("state")
    forged = await visitor.post(
        "/form",
        [
            ("csrf", page.hidden("csrf")),
            ("state", state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")),
            ("action", "answer"),
            ("choice", "1"),
        ],
    )
    assert forged.status == 400
    assert "повреждена" in forged.html
    assert (await visitor.submit("5", page=page)).options() == [
        "yes",
        "partly",
        "no",
        "in_progress",
    ]


async def test_an_expired_form_state_shows_where_the_dialog_stands(
    stack: Stack, visitor: WebVisitor
) -> None:
    page = await visitor.get("/r/licensing_site")
    assert stack.client.app is not None
    forms = stack.client.app[SERVICES_KEY].forms
    assert isinstance(forms, WebForms)
    forms.max_age = -1
    expired = await visitor.submit("5", page=page)
    assert "устарела" in expired.html
    assert expired.options() == ["1", "2", "3", "4", "5"]  # nothing lost, nothing counted
    forms.max_age = 3600
    assert (await visitor.submit("5")).options() == ["yes", "partly", "no", "in_progress"]


async def test_the_same_browser_rates_a_service_once_a_day_another_browser_may(
    stack: Stack, visitor: WebVisitor
) -> None:
    await fill_post_service(visitor, await visitor.get("/r/licensing_site"))
    again = await visitor.get("/r/licensing_site")
    assert "уже оценили" in again.html
    other = stack.visitor()
    try:
        await fill_post_service(other, await other.get("/r/licensing_site"))
    finally:
        await other.close()
    assert len(await responses(stack)) == 2


async def test_stopping_the_survey_stores_nothing(stack: Stack, visitor: WebVisitor) -> None:
    await visitor.get("/r/licensing_site")
    await visitor.submit("3")
    stopped = await visitor.submit(action="cancel")
    assert "прерван" in stopped.html
    assert await responses(stack) == []


async def test_english_pages_for_an_english_browser(stack: Stack, visitor: WebVisitor) -> None:
    page = await visitor.get("/r/licensing_site?lang=en")
    assert 'lang="en"' in page.html
    assert "Next" in page.html and "Question 1 of" in page.html
    page = await visitor.submit()
    assert page.error == "Choose one of the answers."


async def answer_anything(visitor: WebVisitor, page: Reply, limit: int = 60) -> Reply:
    """Answer every question with its first option (a text is skipped or typed)."""
    for _ in range(limit):
        if page.soup.select_one("form.step input[name=state]") is None:
            return page
        options = [o for o in page.options() if o != "other"]
        if options:
            page = await visitor.submit(options[0])
        elif page.soup.select_one("form.step button[value=skip]") is not None:
            page = await visitor.submit(action="skip")
        else:
            page = await visitor.submit(typed="нормально")
    raise AssertionError("the poll did not end")


async def test_the_deep_poll_of_an_open_window_is_answered_once_per_browser(
    stack: Stack, visitor: WebVisitor
) -> None:
    window = await stack.wiring.services.campaigns.open_now("deep")
    picker = await visitor.get("/")
    polls = [str(i["value"]) for i in picker.soup.select("input[name=window]")]
    assert polls == [str(window.id)]
    csrf = (
        picker.hidden("csrf")
        if False
        else str(
            picker.soup.select_one("input[name=csrf]")["value"]  # type: ignore[index]
        )
    )
    first = await visitor.post(
        "/start", [("csrf", csrf), ("lang", "ru"), ("window", str(window.id))]
    )
    done = await answer_anything(visitor, first)
    assert "Спасибо" in done.html, done.html
    rows = await responses(stack)
    assert [(r["questionnaire_id"], r["window_id"]) for r in rows] == [
        ("deep_external", window.id)
    ]
    again = await visitor.post(
        "/start", [("csrf", csrf), ("lang", "ru"), ("window", str(window.id))]
    )
    assert "уже ответили" in again.html
    assert len(await responses(stack)) == 1


async def test_a_page_of_a_dialog_started_again_shows_the_live_dialog(
    stack: Stack, visitor: WebVisitor
) -> None:
    old = await visitor.get("/r/licensing_site")
    await visitor.get("/r/appeals_site")  # started again, say in another tab
    await visitor.submit("4")
    moved = await visitor.submit("1", page=old)
    assert "начатого заново" in moved.html
    assert moved.options() == ["yes", "partly", "no", "in_progress"]
    assert await responses(stack) == []


async def test_an_oversized_post_is_refused_with_a_message_and_the_dialog_stays(
    stack: Stack, visitor: WebVisitor
) -> None:
    page = await visitor.get("/r/licensing_site")
    huge = await visitor.post(
        "/form",
        [
            ("csrf", page.hidden("csrf")),
            ("state", page.hidden("state")),
            ("action", "answer"),
            ("text", "я" * 100_000),
        ],
    )
    assert huge.status == 413
    assert "слишком большой" in huge.html
    assert (await visitor.submit("5", page=page)).options() == [
        "yes",
        "partly",
        "no",
        "in_progress",
    ]


async def test_screen_readers_hear_what_the_ends_of_a_scale_mean(visitor: WebVisitor) -> None:
    page = await visitor.get("/r/licensing_site")
    labels = [label.get_text(" ", strip=True) for label in page.soup.select(".option label")]
    assert labels[0] == "1 — Совсем не удовлетворены"
    assert labels[-1] == "5 — Полностью удовлетворены"
    assert labels[1:4] == ["2", "3", "4"]


async def test_a_window_link_opens_the_poll_and_a_closed_or_unknown_one_says_so(
    stack: Stack, visitor: WebVisitor
) -> None:
    window = await stack.wiring.services.campaigns.open_now("deep")
    first = await visitor.get(f"/w/{window.id}")
    assert first.status == 200 and first.options()
    assert (await visitor.get("/w/999999")).status == 404
    assert "закрыт" in (await visitor.get("/w/999999")).html
    assert (await visitor.get("/w/abc")).status == 404
