"""Signal buttons in MAX (issue 13): a MAX officer's «Принято к сведению» on a negative batch
and the extra-poll proposal's button work through services.signals as in Telegram; stale,
forged and someone else's presses are answered, every press exactly once."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from max_front.api import Button, View
from max_front.front import MaxFront
from questionnaires.triggers import parse_triggers
from services.signals import (
    ACKNOWLEDGE_ACTION,
    OPEN_ACTION,
    SignalService,
    default_button_data,
)
from storage.deliveries import DeliveryStore
from storage.signals import SignalStore
from tests.dialog.conftest import Desk
from tests.max_front.conftest import Chat, RecordingApi
from tests.max_front.test_officers import OFFICER, officer_front

RULE = """\
rules:
  - id: low_month
    title: {ru: Доля оценок 1–2 за месяц}
    unit: month
    units: 1
    scores: [1, 2]
    min_share_percent: 30
    min_respondents: 5
    campaign: deep
"""


class _Silent:
    async def text(self, chat_id: int, html: str) -> None:
        raise AssertionError("nothing is sent to the outbox by a press")

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        raise AssertionError("nothing is sent to the outbox by a press")


def signal_front(desk: Desk, api: RecordingApi) -> tuple[MaxFront, SignalService]:
    front = officer_front(desk, api)
    assert front.reporting is not None
    triggers = parse_triggers(RULE, "triggers.yaml", weekly=True, campaigns=["deep"])
    signals = SignalService(
        store=SignalStore(desk.sessions),
        deliveries=DeliveryStore(desk.sessions),
        reporting=front.reporting,
        campaigns=desk.campaigns,
        triggers=triggers,
        outbox=_Silent(),
        zone=ZoneInfo("UTC"),
        clock=lambda: desk.clock_now[0],
    )
    front.signals = signals
    return front, signals


def _shown(data: str) -> View:
    return View("Пакет негативных оценок", ((Button("Принято к сведению", data),),))


async def _batch(desk: Desk) -> str:
    batch = await SignalStore(desk.sessions).ensure_batch(
        "week", "*", date(2026, 11, 16), date(2026, 11, 22)
    )
    return batch.id


async def test_a_max_officer_acknowledges_a_batch_once_and_the_button_goes(desk: Desk) -> None:
    api = RecordingApi()
    front, _ = signal_front(desk, api)
    batch = await _batch(desk)
    data = default_button_data(ACKNOWLEDGE_ACTION, batch)
    officer = Chat(OFFICER)
    await front.handle(officer.press(data, mid="mid.b", shown=_shown(data)))
    [row] = await desk.rows("negative_batches")
    assert row["acknowledged_on"] is not None
    # As in Telegram the batch's text is marked and its button goes, in the one answer.
    marked = View("Пакет негативных оценок\n\n✅ Принято к сведению")
    assert api.answers[0] == ("cb.1", marked, "Отмечено: принято к сведению.")
    assert api.edits == []
    # A double tap: answered once more, "already", nothing changes.
    await front.handle(officer.press(data, mid="mid.b", shown=_shown(data)))
    assert api.answers[1][2] == "Этот пакет уже отмечен как принятый к сведению."
    assert [callback for callback, _, _ in api.answers] == ["cb.1", "cb.2"]


async def test_an_acknowledged_batch_max_will_not_edit_loses_its_button_only(
    desk: Desk,
) -> None:
    api = RecordingApi(refuse_replacements=1)
    front, _ = signal_front(desk, api)
    data = default_button_data(ACKNOWLEDGE_ACTION, await _batch(desk))
    await front.handle(Chat(OFFICER).press(data, mid="mid.b", shown=_shown(data)))
    assert api.answers == [("cb.1", None, "Отмечено: принято к сведению.")]
    assert api.edits == [("mid.b", View(""))]


async def test_an_acknowledged_batch_too_long_to_mark_loses_its_button_only(desk: Desk) -> None:
    api = RecordingApi()
    front, _ = signal_front(desk, api)
    data = default_button_data(ACKNOWLEDGE_ACTION, await _batch(desk))
    long = View("x" * 3990, ((Button("Принято к сведению", data),),))
    await front.handle(Chat(OFFICER).press(data, mid="mid.c", shown=long))
    assert api.answers == [("cb.1", None, "Отмечено: принято к сведению.")]
    assert api.edits == [("mid.c", View(""))]


async def test_a_batch_button_of_someone_else_or_forged_is_answered_once_and_changes_nothing(
    desk: Desk,
) -> None:
    api = RecordingApi()
    front, _ = signal_front(desk, api)
    batch = await _batch(desk)
    data = default_button_data(ACKNOWLEDGE_ACTION, batch)
    presses = iter(range(1, 100))  # callback ids unique across the three chats
    # MAX user 7 is not Telegram officer 7: not an officer here, the button is inactive.
    await front.handle(Chat(7, callbacks=presses).press(data, shown=_shown(data)))
    assert api.answers[-1][2] == "Эта кнопка больше не активна"
    assert api.edits == []  # the officer's own button stays
    officer = Chat(OFFICER, callbacks=presses)
    await front.handle(officer.press("sg:a:AAAAAAAAAAAA", shown=_shown(data)))
    assert api.answers[-1][2] == "Эта кнопка больше не действует."
    english = Chat(OFFICER, locale="en", callbacks=presses)
    for forged in ("sg:a:" + "A" * 40, "sg:x:AAAA", "sg:a:../etc", "sg:"):
        await front.handle(english.press(forged))
        assert api.answers[-1][2] == "This button is no longer active"
    [row] = await desk.rows("negative_batches")
    assert row["acknowledged_on"] is None
    assert len(api.answers) == 6 and len({c for c, _, _ in api.answers}) == 6


async def test_without_the_signal_service_a_signal_press_is_inactive(desk: Desk) -> None:
    api = RecordingApi()
    front = officer_front(desk, api)
    await front.handle(Chat(OFFICER).press(default_button_data(ACKNOWLEDGE_ACTION, "A" * 12)))
    [(_, _, notification)] = api.answers
    assert notification == "Эта кнопка относится к завершённому или старому опросу."


async def test_a_max_officer_opens_the_proposed_poll_once(desk: Desk) -> None:
    api = RecordingApi()
    front, signals = signal_front(desk, api)
    rule = signals.triggers.rules[0]
    start, end = rule.period(desk.clock_now[0].date())
    proposal = await SignalStore(desk.sessions).record_proposal(
        rule_id=rule.id,
        service="licensing",
        start=start,
        end=end,
        fired=True,
        respondents=6,
        negatives=6,
        today=desk.clock_now[0].date(),
    )
    data = default_button_data(OPEN_ACTION, proposal.id)
    shown = View("Предложение", ((Button("Открыть внеплановый опрос", data),),))
    await front.handle(Chat(OFFICER).press(data, mid="mid.p", shown=shown))
    [window] = await desk.rows("poll_windows")
    assert window["campaign_id"] == "deep"
    assert api.answers[-1][2] == "Опрос открыт"
    assert api.edits == [("mid.p", View(""))]
    user, message = api.sent[-1]
    assert user == OFFICER and message.html and "Внеплановый опрос" in message.text
    assert f"w{window['id']}" in message.text
    await front.handle(Chat(OFFICER).press(data, mid="mid.p", shown=shown))
    assert "уже открыт" in str(api.answers[-1][2])
    assert len(await desk.rows("poll_windows")) == 1
    assert len(api.answers) == 2
