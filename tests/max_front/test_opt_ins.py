"""Opt-ins in MAX (issue 13): the news offer after a finished rating (body-wide and the
service's own), the poll invitations from /polls, the stop button under news and /stop. A
MAX chat is kept as MAX's (questionnaires.messengers), never as the Telegram chat of the same
number, and nothing of the response goes with it."""

from __future__ import annotations

from max_front.api import Button, View
from max_front.views import OPT_IN_NO, OPT_IN_YES, POLLS_INVITE, STAFF_POLLS_INVITE
from questionnaires.messengers import max_chat
from storage.opt_ins import OptInStore
from tests.max_front.conftest import Chat, Setup
from tests.max_front.test_front import rate_five_and_finish

NEWS_STOP = "ns:1"
NEWS_STOP_BUTTON = Button("Больше не присылать", NEWS_STOP)


def store(setup: Setup) -> OptInStore:
    assert setup.desk.opt_ins is not None
    return setup.desk.opt_ins


def payloads(view: View) -> list[str]:
    return [button.payload for row in view.keyboard for button in row]


async def test_a_finished_rating_offers_the_news_and_the_services_own(max_setup: Setup) -> None:
    api = max_setup.api
    await rate_five_and_finish(max_setup, Chat(8101))
    thanks = api.timeline[-1]
    assert "Хотите узнать, что изменится" in thanks.text
    assert payloads(thanks) == [OPT_IN_YES, "sn:licensing", OPT_IN_NO]


async def test_yes_subscribes_the_max_chat_and_keeps_the_service_button(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(8102)
    await rate_five_and_finish(max_setup, chat)
    thanks = api.timeline[-1]
    answered = len(api.answers)
    await front.handle(chat.press(OPT_IN_YES, mid="mid.x", shown=thanks))
    assert await store(max_setup).chat_ids("changes") == [max_chat(8102)]
    # One answer: the pressed message without yes/no, the service's button still there.
    [(_, view, _)] = api.answers[answered:]
    assert view is not None and payloads(view) == ["sn:licensing"]
    assert view.text == thanks.text
    assert api.sent[-1] == (8102, View("Хорошо, мы сообщим об изменениях. Отписаться: /stop"))
    await front.handle(chat.press("sn:licensing", mid="mid.x", shown=view))
    assert await store(max_setup).service_chat_ids(["licensing"]) == {
        "licensing": {max_chat(8102)}
    }
    await store(max_setup).flush(force=True)
    rows = await max_setup.desk.rows("opt_ins") + await max_setup.desk.rows("service_news")
    # The MAX user id beside its messenger; no date finer than the month, no answer.
    assert {(row["messenger"], row["chat_id"]) for row in rows} == {("max", 8102)}
    assert all(str(row.get("created_on", "2026-11-01")).endswith("-01") for row in rows)


async def test_no_thanks_subscribes_nothing(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(8103)
    await rate_five_and_finish(max_setup, chat)
    await front.handle(chat.press(OPT_IN_NO, shown=api.timeline[-1]))
    assert await store(max_setup).chat_ids("changes") == []
    assert payloads(api.answers[-1][1] or View("")) == ["sn:licensing"]


async def test_a_forged_service_button_stores_nothing_and_is_answered_once(
    max_setup: Setup,
) -> None:
    front, api = max_setup.front, max_setup.api
    await front.handle(Chat(8104).press("sn:no-such-service"))
    assert await store(max_setup).service_chat_ids(["no-such-service"]) == {
        "no-such-service": set()
    }
    [(_, view, notification)] = api.answers
    assert view is None and notification


async def test_polls_invite_me_subscribes_the_max_chat_to_invitations(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(8105)
    await front.handle(chat.text("/polls"))
    assert POLLS_INVITE in payloads(api.timeline[-1])
    await front.handle(chat.press(POLLS_INVITE))
    assert await store(max_setup).chat_ids("polls") == [max_chat(8105)]
    assert "пришлём приглашение" in api.sent[-1][1].text
    assert len(api.answers) == 1


async def test_staff_enrolled_in_max_subscribe_their_max_chat_to_staff_invitations(
    max_setup: Setup,
) -> None:
    """Issue 13: /join in MAX offers staff poll invitations, /polls too; the press keeps the
    MAX chat under the staff topic (services.enrolment.staff_chats finds its keyed person)."""
    front, api = max_setup.front, max_setup.api
    chat = Chat(8107)
    [code] = await max_setup.desk.campaigns.enrolment.create_invite_codes("licensing", 1)
    await front.handle(chat.text(f"/join {code}"))
    assert payloads(api.timeline[-1]) == [STAFF_POLLS_INVITE]
    await front.handle(chat.text("/polls"))
    assert STAFF_POLLS_INVITE in payloads(api.timeline[-1])
    assert POLLS_INVITE not in payloads(api.timeline[-1])
    await front.handle(chat.press(STAFF_POLLS_INVITE))
    assert await store(max_setup).chat_ids("staff_polls") == [max_chat(8107)]
    assert "пришлём приглашение" in api.sent[-1][1].text
    assert len(api.answers) == 1


async def test_a_forged_staff_invitation_button_subscribes_nobody_and_is_answered_once(
    max_setup: Setup,
) -> None:
    front, api = max_setup.front, max_setup.api
    await front.handle(Chat(8108).press(STAFF_POLLS_INVITE))
    assert await store(max_setup).chat_ids("staff_polls") == []
    [(_, view, notification)] = api.answers
    assert view is None and notification and "сотрудник" in notification
    assert api.sent == []


async def test_the_stop_button_under_news_stops_it_and_loses_its_button(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(8106)
    opt_ins = store(max_setup)
    await opt_ins.add(max_chat(8106), "changes", max_setup.desk.feedback.today())
    await opt_ins.add(max_chat(8106), "polls", max_setup.desk.feedback.today())
    await opt_ins.add_service(max_chat(8106), "licensing")
    news = View("Вы сказали — мы сделали", ((NEWS_STOP_BUTTON,),), html=True)
    await front.handle(chat.press(NEWS_STOP, mid="mid.news", shown=news))
    assert await opt_ins.chat_ids("changes") == []
    assert await opt_ins.service_chat_ids(["licensing"]) == {"licensing": set()}
    assert await opt_ins.chat_ids("polls") == [max_chat(8106)]  # invitations are not news
    # One answer, the notification; the news message keeps its text and loses its button.
    assert [(view, note) for _, view, note in api.answers] == [
        (None, "Вы больше не получите новостей об изменениях.")
    ]
    assert api.edits == [("mid.news", View(""))] and api.sent == []


async def test_stop_unsubscribes_the_max_chat_and_not_the_telegram_chat_of_that_number(
    max_setup: Setup,
) -> None:
    front, api = max_setup.front, max_setup.api
    opt_ins = store(max_setup)
    today = max_setup.desk.feedback.today()
    await opt_ins.add(8107, "changes", today)  # Telegram chat 8107
    await opt_ins.add(max_chat(8107), "changes", today)
    await opt_ins.add(max_chat(8107), "polls", today)
    await opt_ins.flush(force=True)
    await front.handle(Chat(8107).text("/stop"))
    assert await opt_ins.chat_ids("changes") == [8107]
    assert await opt_ins.chat_ids("polls") == []
    assert api.sent[-1][0] == 8107 and "отписались" in api.sent[-1][1].text


async def test_whoami_tells_the_person_their_own_max_id_for_the_officers_setting(
    max_setup: Setup,
) -> None:
    await max_setup.front.handle(Chat(8108, locale="en").text("/whoami"))
    [(user, view)] = max_setup.api.sent
    assert user == 8108 and "8108" in view.text and "MAX__OFFICER_IDS" in view.text
