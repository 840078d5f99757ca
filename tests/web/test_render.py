"""The rendered-page cache: the very HTML Jinja2 draws, each browser's own tokens, nobody's
answers kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from questionnaires.schema import Language
from tests.web.harness import web_stack
from web.app import PAGES_KEY, TEMPLATES
from web.pages import OptionView, QuestionView
from web.render import Pages


def question(*, checked: bool = False, prefill: str = "") -> QuestionView:
    return QuestionView(
        kind="text" if prefill else "single",
        text='Как вам "услуга" <b>?</b>',
        number=1,
        total=3,
        required=True,
        can_skip=False,
        can_go_back=True,
        options=(
            OptionView("q-a-0", "yes", "Да", checked=checked),
            OptionView("q-a-1", "no", "Нет & нет"),
        ),
        prefill_text=prefill,
    )


def draw(pages: Pages, step: QuestionView, csrf: str, state: str) -> str:
    return pages.page(
        "question.html.j2",
        Language.RU,
        "/form?lang=en",
        {"title": "Опрос", "step": step, "notice": None, "intro": None},
        csrf=csrf,
        state=state,
    )


def test_a_kept_page_is_the_html_jinja_draws_with_each_browsers_tokens() -> None:
    kept, fresh = Pages(TEMPLATES), Pages(TEMPLATES, size=0)
    step = question()
    for csrf, state in (("csrfA-_1", "body.macA"), ("csrfB-_2", "body.macB")):
        assert draw(kept, step, csrf, state) == draw(fresh, step, csrf, state)
        page = draw(kept, step, csrf, state)
        assert f'name="csrf" value="{csrf}"' in page
        assert f'name="state" value="{state}"' in page
    assert kept.drawn == 1  # drawn once, then filled in for every browser
    assert fresh.drawn == 2


@pytest.mark.parametrize("step", [question(checked=True), question(prefill="моё мнение")])
def test_a_page_showing_a_persons_answer_is_never_kept(step: QuestionView) -> None:
    pages = Pages(TEMPLATES)
    page = draw(pages, step, "csrf", "state")
    assert "checked" in page or "моё мнение" in page
    assert len(pages) == 0
    draw(pages, step, "csrf", "state")
    assert pages.drawn == 2


def test_the_cache_is_bounded() -> None:
    pages = Pages(TEMPLATES, size=2)
    for number in range(5):
        pages.page(
            "message.html.j2",
            Language.EN,
            f"/r/{number}?lang=ru",
            {"title": "t", "message": str(number), "again": False},
            csrf="c",
            state="",
        )
        assert len(pages) <= 2
    assert pages.drawn == 5


async def test_two_browsers_get_the_same_page_each_with_its_own_valid_tokens(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path, ratings_per_service_per_day=0) as stack:
        first, second = stack.visitor(), stack.visitor()
        try:
            one = await first.get("/r/licensing_site")
            two = await second.get("/r/licensing_site")
            assert one.question == two.question and one.question
            assert one.hidden("csrf") != two.hidden("csrf")
            assert one.hidden("state") != two.hidden("state")
            assert stack.client.app[PAGES_KEY].drawn == 1
            # Each token works for its own browser only.
            swapped = await first.submit("5", page=two)
            assert swapped.status == 403
            assert (await first.submit("5", page=one)).status == 200
            assert (await second.submit("5", page=two)).status == 200
        finally:
            await first.close()
            await second.close()
