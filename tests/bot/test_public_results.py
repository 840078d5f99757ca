"""/results shows what the public site shows (issue 11, item 3), and the windows it publishes."""

from __future__ import annotations

from datetime import date, timedelta

from bot.content import load_content
from bot.dispatcher import create_dispatcher
from bot.settings import ContentSettings
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from services.publication import NoDoneMeasures, PublicationService
from storage.responses import ResponseStore
from tests.bot.conftest import World
from tests.bot.harness import Harness
from tests.bot.test_polls import _open_deep_poll, answer_everything


def with_publication(world: World, url: str | None = None) -> tuple[Harness, PublicationService]:
    defaults = ContentSettings()
    publication = PublicationService(
        reporting=world.reporting,
        windows=world.campaigns,
        measures=NoDoneMeasures(),
        questionnaires=load_content(
            defaults.questionnaires_dir, defaults.catalog_path
        ).questionnaires,
        body_name="Орган власти",
        today=world.feedback.today,
        url=url,
    )
    dispatcher = create_dispatcher(
        storage=world.storage,
        feedback=world.feedback,
        reporting=world.reporting,
        campaigns=world.campaigns,
        funnel=world.funnel,
        publication=publication,
    )
    return Harness(dispatcher), publication


async def test_results_shows_the_sites_summary_by_service_and_life_situation(
    world: World,
) -> None:
    harness, publication = with_publication(world, "https://example.gov.ru/otklik/")
    store = ResponseStore(world.sessions)
    for score in (5, 5, 4, 3, 2, 5):  # in the last closed quarter, Q3 2026
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext("licensing", "site", "license"),
                submitted_on=date(2026, 8, 12),
                answers=(AnswerRow("overall", number=score),),
            )
        )
    anna = harness.person(1001)
    await anna.send("/results")
    [summary] = harness.texts(1001)
    assert summary.startswith("<b>Результаты обратной связи</b>")
    assert "<b>Услуги</b>" in summary and "<b>Жизненные ситуации</b>" in summary
    licensing = world.feedback.catalog.service("licensing")
    assert licensing is not None
    assert f"• {licensing.title.ru} — CSAT 66,7%, 4,00 / 5, n = 6" in summary
    assert "https://example.gov.ru/otklik/" in summary
    english = harness.person(1002, language="en")
    await english.send("/results")
    assert harness.texts(1002)[0].startswith("<b>Feedback results</b>")
    content = await publication.content()
    assert content.windows == ()


async def test_published_windows_reach_the_site_model_with_their_figures(world: World) -> None:
    harness, publication = with_publication(world)
    window_id = await _open_deep_poll(world)
    for person_id in range(3001, 3007):
        person = world.harness.person(person_id)
        await person.send(f"/start w{window_id}")
        await answer_everything(person)
    await world.campaigns.close_now(window_id)
    world.clock_now[0] += timedelta(hours=3)
    await world.campaigns.tick(world.clock_now[0])
    [result] = await world.campaigns.window_results()
    assert result.window_id == window_id and result.counts is not None
    assert result.counts.respondents == 6
    [published] = await world.campaigns.published("external")
    assert f"Ответили: {result.counts.respondents}." in published.text_html
    [public] = (await publication.content()).windows
    assert (public.window_id, public.respondents, public.csat) == (
        window_id,
        result.counts.respondents,
        result.counts.csat,
    )
    anna = harness.person(1001)
    await anna.send("/results")
    texts = harness.texts(1001)
    assert texts[0].startswith("<b>Результаты обратной связи</b>")
    assert "Результаты опроса" in texts[-1]
