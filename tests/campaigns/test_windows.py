"""Poll windows with a fake clock: opening and closing in the body's zone, catch-up after
downtime, invitations, reminders, one answer per person, results and their publication."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from max_front.persons import max_key, person_of
from questionnaires.campaigns import (
    CampaignFile,
    UnknownCampaignError,
    Verdict,
    WindowConflictError,
    WindowOrigin,
    WindowStatus,
)
from questionnaires.messengers import max_chat
from questionnaires.schema import Language, Questionnaire
from scheduler.calendar import ProductionCalendar
from scheduler.campaigns import CAMPAIGNS_JOB, add_campaign_jobs, run_campaign_tick
from scheduler.jobs import create_scheduler
from services.officer_languages import FixedLanguages
from services.windows import (
    INVITATION_KIND,
    REMINDER_KIND,
    WindowView,
    parse_window_payload,
)
from storage.database import create_session_factory
from tests.campaigns.conftest import (
    BOT_USERNAME,
    MAX_BOT_NAME,
    OFFICER,
    PEPPER,
    ZONE,
    CampaignWorld,
    build_world,
    complete,
    local,
)

INVITED = "Приглашаем пройти опрос"
REMINDED = "Напоминаем"
PUBLISHED = "Результаты опроса"


async def deep_window(world: CampaignWorld) -> int:
    [window] = await world.service.open_windows("external")
    return window.id


async def scheduled_deep(world: CampaignWorld) -> WindowView:
    windows = await world.service.windows({WindowStatus.SCHEDULED})
    [window] = [w for w in windows if w.campaign_id == "deep"]
    return window


# --- opening and closing --------------------------------------------------------------------


async def test_window_opens_at_midnight_of_the_bodys_zone_and_invites_from_ten(
    world: CampaignWorld,
) -> None:
    await world.opt_in(101, "polls")
    await world.tick(datetime(2026, 4, 26, 14, 0, tzinfo=UTC))  # 23:00 on Sunday in Yakutsk
    assert await world.service.open_windows("external") == []
    scheduled = await scheduled_deep(world)
    assert scheduled.opens_on == date(2026, 4, 27)
    # 23:30 UTC is already Monday 08:30 in Yakutsk: the window is open ...
    await world.tick(datetime(2026, 4, 26, 23, 30, tzinfo=UTC))
    [window] = await world.service.open_windows("external")
    assert window.id == scheduled.id  # the link handed out in advance keeps working
    assert (window.opens_on, window.closes_on) == (date(2026, 4, 27), date(2026, 5, 12))
    assert window.origin == WindowOrigin.SCHEDULE
    # ... but nobody is woken up before ten in the morning.
    assert world.sent == []
    await world.tick(datetime(2026, 4, 27, 1, 0, tzinfo=UTC))  # 10:00 local
    assert world.sent_to(INVITED) == [101]
    assert f"?start=w{window.id}" in world.sent[0][1]


async def test_window_closes_after_the_end_of_its_tenth_working_day(
    world: CampaignWorld,
) -> None:
    await world.tick(local(2026, 4, 27, 9, 0))
    window_id = await deep_window(world)
    await world.tick(local(2026, 5, 12, 23, 59))
    assert await world.service.may_answer(window_id, 555) == Verdict.OK
    await world.tick(datetime(2026, 5, 12, 15, 0, tzinfo=UTC))  # 00:00 on 13 May in Yakutsk
    closed = await world.service.window_for_start(window_id)
    assert closed is not None and closed.status == WindowStatus.CLOSED
    assert await world.service.may_answer(window_id, 555) == Verdict.CLOSED
    # Results wait for the morning, then go to the officer once.
    assert world.results.texts == []
    await world.tick(local(2026, 5, 13, 10, 0))
    await world.tick(local(2026, 5, 13, 10, 1))
    assert [chat for chat, _ in world.results.texts] == [OFFICER]


async def test_window_opening_in_late_december_closes_after_the_new_year_holidays(
    world: CampaignWorld,
) -> None:
    window = await world.service.open_now("staff", local(2026, 12, 28, 11, 0))
    assert window.closes_on == date(2027, 1, 12)  # 28–30 Dec, then 11 and 12 Jan
    await world.tick(local(2027, 1, 8, 12, 0))
    await world.tick(local(2027, 1, 12, 23, 59))
    assert [w.id for w in await world.service.open_windows("staff")] == [window.id]
    await world.tick(local(2027, 1, 13, 0, 0))
    assert await world.service.open_windows("staff") == []


async def test_missed_opening_and_closing_are_applied_once_after_downtime(
    world: CampaignWorld,
) -> None:
    for chat in (101, 102):
        await world.opt_in(chat, "polls")
    await world.opt_in(103, "changes")
    await world.tick(local(2026, 4, 20, 12, 0))
    # Down from 20 April to 4 May: the opening (27 April) and reminder 1 (30 April) are missed.
    await world.tick(local(2026, 5, 4, 11, 0))
    window_id = await deep_window(world)
    assert sorted(world.sent_to(INVITED)) == [101, 102]
    await world.tick(local(2026, 5, 4, 11, 1))
    await world.tick(local(2026, 5, 5, 11, 0))
    assert sorted(world.sent_to(INVITED)) == [101, 102]
    assert world.sent_to(REMINDED) == []  # the overdue reminder is not sent after the invitation
    await world.tick(local(2026, 5, 7, 10, 0))
    assert sorted(world.sent_to(REMINDED)) == [101, 102]  # reminder 2 is on time
    # Down again until June: the closing and the results are caught up once.
    await world.tick(local(2026, 6, 1, 12, 0))
    await world.tick(local(2026, 6, 1, 12, 1))
    window = await world.service.window_for_start(window_id)
    assert window is not None and window.status == WindowStatus.CLOSED
    assert len(world.results.texts) == 1
    assert world.sent_to(PUBLISHED) == [103]
    # A restarted process (a new service on the same database) finds nothing left to do.
    before = (list(world.sent), list(world.results.texts))
    await world.tick(local(2026, 6, 2, 12, 0))
    assert (world.sent, world.results.texts) == before
    assert [w.campaign_id for w in await world.service.windows()] == ["deep", "staff"]


async def test_published_results_reach_citizens_as_news_with_the_windows_page(
    world: CampaignWorld,
) -> None:
    """Issue 11 item 3: a closed window's published results go to the «changes» chats through
    the news port (its stop button), with a link to the window's row on the public site."""
    await world.opt_in(103, "changes")
    await world.opt_in(101, "polls")
    await world.tick(local(2026, 4, 27, 12, 0))
    window_id = await deep_window(world)
    await world.tick(local(2026, 6, 1, 12, 0))
    await world.tick(local(2026, 6, 1, 12, 1))
    assert world.sent_to(PUBLISHED) == [103] and world.news == [103]
    [published] = [message for _, message in world.sent if PUBLISHED in message]
    assert f"https://example.gov.ru/otklik/polls.html#window-{window_id}" in published
    # The link is the message's, not the stored publication's (/results shows its own page).
    [publication] = await world.service.published("external")
    assert "polls.html" not in publication.text_html


async def test_window_missed_entirely_while_down_is_not_opened_late(world: CampaignWorld) -> None:
    await world.opt_in(101, "polls")
    await world.tick(local(2026, 4, 20, 12, 0))
    await world.tick(local(2026, 6, 1, 12, 0))
    assert await world.service.windows({WindowStatus.OPEN, WindowStatus.CLOSED}) == []
    assert world.sent == [] and world.results.texts == []


# --- invitations and reminders ---------------------------------------------------------------


async def test_invitations_go_to_chats_opted_in_to_polls_only(world: CampaignWorld) -> None:
    await world.opt_in(101, "polls")
    await world.opt_in(102, "polls")
    await world.opt_in(103, "changes")
    await world.opt_in(104, "staff_polls")
    await world.tick(local(2026, 4, 27, 10, 0))
    assert sorted(world.sent_to(INVITED)) == [101, 102]
    assert len(world.sent) == 2


async def test_reminders_skip_everyone_who_has_answered(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    for chat in (101, 102, 103):
        await world.opt_in(chat, "polls")
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    deep = questionnaires["deep_external"]
    assert await world.service.store_answer(window_id, 101, complete(deep)) == Verdict.OK
    await world.tick(local(2026, 4, 30, 9, 59))
    assert world.sent_to(REMINDED) == []
    await world.tick(local(2026, 4, 30, 10, 0))
    assert sorted(world.sent_to(REMINDED)) == [102, 103]
    assert await world.service.store_answer(window_id, 103, complete(deep)) == Verdict.OK
    await world.tick(local(2026, 5, 7, 10, 0))
    await world.tick(local(2026, 5, 8, 10, 0))
    assert sorted(world.sent_to(REMINDED)) == [102, 102, 103]
    assert world.sent_to(INVITED) == [101, 102, 103]


async def test_reminders_skip_max_people_who_answered_and_go_to_their_max_chats(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    # Issue 13: a MAX chat's invitee answers as the MAX front's person, not as the chat.
    answered, waiting = max_chat(501), max_chat(502)
    for chat in (answered, waiting, 501):  # 501 is also a Telegram chat, another person
        await world.opt_in(chat, "polls")
    await world.tick(local(2026, 4, 27, 10, 0))
    assert sorted(world.sent_to(INVITED)) == [501, answered, waiting]
    window_id = await deep_window(world)
    person = person_of(max_key(PEPPER), 501)
    deep = questionnaires["deep_external"]
    assert await world.service.store_answer(window_id, person, complete(deep)) == Verdict.OK
    await world.tick(local(2026, 4, 30, 10, 0))
    assert sorted(world.sent_to(REMINDED)) == [501, waiting]


async def test_max_chats_are_invited_and_reminded_by_the_max_link_telegram_by_t_me(
    world: CampaignWorld,
) -> None:
    # Issue 13: a MAX subscriber cannot open a t.me link in MAX; each gets its own.
    for chat in (max_chat(501), 501):
        await world.opt_in(chat, "polls")
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    max_link = f"https://max.ru/{MAX_BOT_NAME}?start=w{window_id}"
    telegram_link = f"https://t.me/{BOT_USERNAME}?start=w{window_id}"
    await world.tick(local(2026, 4, 30, 10, 0))
    for marker in (INVITED, REMINDED):
        texts = {chat: text for chat, text in world.sent if marker in text}
        assert set(texts) == {501, max_chat(501)}
        assert max_link in texts[max_chat(501)] and "t.me" not in texts[max_chat(501)]
        assert telegram_link in texts[501] and "max.ru" not in texts[501]
    # The same ledger key for Telegram's chats as before; MAX's beside it.
    keys = sorted(str(row["key"]) for row in await world.rows("broadcasts"))
    assert keys == [f"window-{window_id}", f"window-{window_id}-1", f"window-{window_id}-1:max",
                    f"window-{window_id}:max"]  # fmt: skip


async def test_chats_that_blocked_the_bot_get_no_reminder(world: CampaignWorld) -> None:
    for chat in (101, 102):
        await world.opt_in(chat, "polls")
    world.blocked.add(102)
    await world.tick(local(2026, 4, 27, 10, 0))
    assert world.sent_to(INVITED) == [101]
    world.blocked.clear()  # unknowable to the bot: it stays unreachable until it writes again
    await world.tick(local(2026, 4, 30, 10, 0))
    assert world.sent_to(REMINDED) == [101]


# --- answers ---------------------------------------------------------------------------------


async def test_second_answer_in_the_same_window_is_refused(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 4, 27, 9, 0))
    window_id = await deep_window(world)
    deep = questionnaires["deep_external"]
    assert await world.service.may_answer(window_id, 4242) == Verdict.OK
    assert await world.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert await world.service.may_answer(window_id, 4242) == Verdict.ALREADY_ANSWERED
    assert await world.service.store_answer(window_id, 4242, complete(deep)) == (
        Verdict.ALREADY_ANSWERED
    )
    assert await world.service.store_answer(window_id, 4343, complete(deep)) == Verdict.OK
    responses = await world.rows("responses")
    assert len(responses) == 2
    assert {r["window_id"] for r in responses} == {window_id}
    assert {r["department"] for r in responses} == {None}


async def test_answer_after_closing_is_refused_even_before_the_tick_closes_it(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 4, 27, 9, 0))
    window_id = await deep_window(world)
    deep = questionnaires["deep_external"]
    assert await world.service.may_answer(window_id, 4242) == Verdict.OK
    # The person finishes the dialog after midnight of the last day, before any tick.
    world.clock[0] = local(2026, 5, 13, 0, 5)
    assert await world.service.store_answer(window_id, 4242, complete(deep)) == Verdict.CLOSED
    await world.tick(local(2026, 5, 13, 0, 6))
    assert await world.service.store_answer(window_id, 4242, complete(deep)) == Verdict.CLOSED
    assert await world.rows("responses") == []


async def test_participation_keys_are_deleted_when_the_window_closes(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    await world.service.store_answer(window_id, 101, complete(questionnaires["deep_external"]))
    # Issue 8: the key waits in memory for company; a restart (shutdown) writes it anyway.
    assert await world.rows("dedup_keys") == []
    assert await world.service.flush_participation(force=True) == 1
    keys = await world.rows("dedup_keys")
    assert [k["scope"] for k in keys] == [f"window:{window_id}"]
    await world.tick(local(2026, 5, 12, 23, 59))
    assert len(await world.rows("dedup_keys")) == 1
    await world.tick(local(2026, 5, 13, 0, 0))
    assert await world.rows("dedup_keys") == []


async def test_participation_keys_are_written_by_the_tick_only_in_batches_of_a_group(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    # Issue 8: a key written alone would point at the one response written before it.
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    deep = questionnaires["deep_external"]
    for person in range(1, 5):
        assert await world.service.store_answer(window_id, person, complete(deep)) == Verdict.OK
    await world.tick(local(2026, 4, 27, 10, 1))
    assert await world.rows("dedup_keys") == []
    assert await world.service.may_answer(window_id, 3) == Verdict.ALREADY_ANSWERED
    assert await world.service.store_answer(window_id, 3, complete(deep)) == (
        Verdict.ALREADY_ANSWERED
    )
    assert await world.service.store_answer(window_id, 5, complete(deep)) == Verdict.OK
    await world.tick(local(2026, 4, 27, 10, 2))
    assert len(await world.rows("dedup_keys")) == 5
    assert len(await world.rows("responses")) == 5


async def test_reminder_outbox_names_every_invitee_so_it_reveals_no_respondent(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    for chat in (101, 102):
        await world.opt_in(chat, "polls")
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    await world.service.store_answer(window_id, 101, complete(questionnaires["deep_external"]))
    await world.tick(local(2026, 4, 30, 10, 0))
    assert world.sent_to(REMINDED) == [102]
    kinds = {b["id"]: b["kind"] for b in await world.rows("broadcasts")}
    outbox = {
        (kinds[row["broadcast_id"]], row["chat_id"], row["status"])
        for row in await world.rows("broadcast_outbox")
    }
    assert outbox == {
        (INVITATION_KIND, 101, "sent"),
        (INVITATION_KIND, 102, "sent"),
        (REMINDER_KIND, 101, "sent"),  # skipped at send time, recorded like everyone else
        (REMINDER_KIND, 102, "sent"),
    }


async def test_unknown_and_scheduled_windows_refuse_answers(world: CampaignWorld) -> None:
    await world.tick(local(2026, 4, 20, 12, 0))
    scheduled = await scheduled_deep(world)
    assert await world.service.may_answer(scheduled.id, 1) == Verdict.NOT_OPEN
    assert await world.service.may_answer(9999, 1) == Verdict.UNKNOWN
    assert await world.service.window_for_start(9999) is None
    assert parse_window_payload(scheduled.start_payload) == scheduled.id
    assert parse_window_payload("licensing_office") is None
    assert parse_window_payload("w0") is None


# --- officers ------------------------------------------------------------------------------


async def test_officer_opens_an_extra_poll_and_closes_it_early(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.opt_in(101, "polls")
    await world.opt_in(103, "changes")
    world.clock[0] = local(2026, 2, 10, 15, 0)
    window = await world.service.open_now("deep")
    assert (window.origin, window.opens_on, window.closes_on) == (
        WindowOrigin.OFFICER,
        date(2026, 2, 10),
        date(2026, 2, 24),  # 23 February is a holiday
    )
    assert await world.service.open_now("deep") == window  # idempotent
    await world.tick(local(2026, 2, 10, 15, 1))
    assert world.sent_to(INVITED) == [101]
    for person in range(5):
        answered = complete(questionnaires["deep_external"], overall=5)
        assert await world.service.store_answer(window.id, 9000 + person, answered) == Verdict.OK
    closed = await world.service.close_now(window.id, local(2026, 2, 10, 16, 0))
    assert closed.status == WindowStatus.CLOSED
    with pytest.raises(WindowConflictError):  # one run per campaign and opening day
        await world.service.open_now("deep", local(2026, 2, 10, 17, 0))
    await world.tick(local(2026, 2, 10, 16, 1))
    [(officer, text)] = world.results.texts
    assert officer == OFFICER and "Ответов: 5" in text and "CSAT 100,0%" in text
    assert world.sent_to(PUBLISHED) == [103]
    [publication] = await world.service.published()
    assert publication.window_id == window.id and "Ответили: 5." in publication.text_html
    assert await world.service.published("staff") == []
    # The public site gets the same figures, and the days the window actually ran.
    [result] = await world.service.window_results()
    assert result.counts is not None
    assert (result.window_id, result.counts.respondents, result.counts.csat) == (
        window.id,
        5,
        100.0,
    )
    assert (result.opens_on, result.closes_on) == (date(2026, 2, 10), date(2026, 2, 10))
    with pytest.raises(UnknownCampaignError):
        await world.service.open_now("nope")


async def test_scheduled_run_overlapping_an_officer_window_is_skipped(
    world: CampaignWorld,
) -> None:
    window = await world.service.open_now("deep", local(2026, 4, 22, 12, 0))
    await world.tick(local(2026, 4, 27, 12, 0))
    assert [w.id for w in await world.service.open_windows("external")] == [window.id]
    await world.tick(local(2026, 5, 20, 12, 0))
    deep = [w for w in await world.service.windows() if w.campaign_id == "deep"]
    assert [w.origin for w in deep] == [WindowOrigin.OFFICER]


async def test_results_below_the_threshold_show_no_figures(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.opt_in(103, "changes")
    await world.tick(local(2026, 4, 27, 10, 0))
    window_id = await deep_window(world)
    for person in range(4):
        answered = complete(questionnaires["deep_external"], overall=1)
        await world.service.store_answer(window_id, 9000 + person, answered)
    await world.tick(local(2026, 5, 13, 10, 0))
    [(_, text)] = world.results.texts
    assert "меньше 5" in text and "CSAT" not in text and "Нужно больше окон" not in text
    [(_, published)] = [(c, t) for c, t in world.sent if PUBLISHED in t]
    assert "слишком мало" in published and "%" not in published


async def test_failed_results_delivery_is_retried_and_sent_once(
    world: CampaignWorld,
) -> None:
    await world.tick(local(2026, 4, 27, 10, 0))
    world.results.fail = 1
    await world.tick(local(2026, 5, 13, 10, 0))
    assert world.results.texts == []
    await world.tick(local(2026, 5, 13, 10, 1))
    await world.tick(local(2026, 5, 13, 10, 2))
    assert len(world.results.texts) == 1


# --- the job -------------------------------------------------------------------------------


class Exploding:
    async def tick(self, now: datetime | None = None) -> None:
        raise RuntimeError("database down")


async def test_campaign_tick_job_runs_every_minute_and_swallows_errors(
    world: CampaignWorld,
) -> None:
    scheduler = create_scheduler(ZONE, responses=world.service, fsm=None, today=date.today)  # type: ignore[arg-type]
    add_campaign_jobs(scheduler, world.service)
    job = scheduler.get_job(CAMPAIGNS_JOB)
    assert job is not None and job.trigger.interval.total_seconds() == 60
    assert await run_campaign_tick(Exploding()) is False
    world.clock[0] = local(2026, 4, 27, 10, 0)
    assert await run_campaign_tick(world.service, world.clock[0]) is True
    assert len(await world.service.open_windows("external")) == 1


async def test_issue10_a_window_closed_early_reports_the_day_it_was_closed(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.opt_in(103, "changes")
    world.clock[0] = local(2026, 11, 30, 9, 0)
    window = await world.service.open_now("deep")
    assert window.closes_on > date(2026, 11, 30)  # planned for two working weeks
    for person in range(5):
        answered = complete(questionnaires["deep_external"], overall=4)
        assert await world.service.store_answer(window.id, 9000 + person, answered) == Verdict.OK
    await world.service.close_now(window.id, local(2026, 11, 30, 16, 0))
    await world.tick(local(2026, 11, 30, 16, 1))
    [(_, text)] = world.results.texts
    assert "Опрос шёл 30.11.2026–30.11.2026 (открыт вручную)." in text
    assert f"{window.closes_on:%d.%m.%Y}" not in text
    [publication] = await world.service.published()
    assert "Опрос проходил 30.11.2026–30.11.2026." in publication.text_html


async def test_an_english_officer_gets_the_window_results_in_english(
    sqlite_engine: AsyncEngine,
    questionnaires: dict[str, Questionnaire],
    calendar: ProductionCalendar,
    campaign_file: CampaignFile,
) -> None:
    """Issue 12 item 2: the results of a closed window reach an officer whose language is
    English in English (the window's title, the figures' words, the mask of a contact in a
    comment); the citizens' comments are data and stay as written. The Russian control is
    test_officer_opens_an_extra_poll_and_closes_it_early."""
    world = build_world(
        sqlite_engine,
        create_session_factory(sqlite_engine),
        questionnaires,
        calendar,
        campaign_file,
        start=local(2026, 2, 10, 15, 0),
        languages=FixedLanguages(Language.EN),
    )
    window = await world.service.open_now("deep")
    comment = "Call me: +7 912 345-67-89"
    for person in range(5):
        answered = complete(questionnaires["deep_external"], overall=5, comment=comment)
        assert await world.service.store_answer(window.id, 9000 + person, answered) == Verdict.OK
    await world.service.close_now(window.id, local(2026, 2, 10, 16, 0))
    await world.tick(local(2026, 2, 10, 16, 1))
    [(officer, text)] = world.results.texts
    assert officer == OFFICER
    assert "Results of the poll" in text and "CSAT 100.0%" in text
    assert "Call me: [hidden]" in text and "912" not in text
    # Only the answers to "other" typed by the test (data) are Russian.
    assert re.findall(r"[\u0400-\u04ff]+", text.replace("другое", "")) == []
