"""§3.3 signals with a fake clock: the extra-poll proposal and its button, the acknowledgement
and the escalation of batches of strongly negative ratings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.methods import AnswerCallbackQuery

from bot.dispatcher import create_dispatcher
from bot.outbox import BotOutbox
from handlers.signals import SignalPress
from questionnaires.campaigns import WindowOrigin, WindowStatus
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from questionnaires.triggers import SIGNAL_ID_LENGTH, parse_triggers
from reports.model import Period, Scope
from scheduler.deliveries import ReportDeliveries, ReportSchedule
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from services.reporting import ReportingService
from services.signals import (
    ACKNOWLEDGE_ACTION,
    OPEN_ACTION,
    SignalPolicy,
    SignalService,
    default_button_data,
)
from storage.deliveries import DeliveryStore
from storage.responses import ResponseStore
from storage.signals import SignalStore
from tests.bot.conftest import OFFICER_ID, World
from tests.bot.harness import Harness

ZONE = ZoneInfo("Asia/Yakutsk")
ESCALATION_ID = 700700
CITIZEN_ID = 123123
OPEN = "Открыть внеплановый опрос"
ACKNOWLEDGE = "Принято к сведению"

RULE = """\
rules:
  - id: low_month
    title: {ru: Доля оценок 1–2 за месяц не ниже 30 %% при %(n)s и более ответах}
    unit: month
    units: 1
    scores: [1, 2]
    min_share_percent: 30
    min_respondents: %(n)s
    campaign: deep
"""


class FlakyOutbox(BotOutbox):
    """The real outbox over the harness bot; the next ``fail`` sends raise, as Telegram can."""

    def __init__(self, harness: Harness) -> None:
        super().__init__(harness.bot)
        self.fail = 0

    async def text(self, chat_id: int, html: str) -> None:
        self._maybe_fail()
        await super().text(chat_id, html)

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        self._maybe_fail()
        await super().text_with_button(chat_id, html, button, data)

    def _maybe_fail(self) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("Telegram unreachable")


@dataclass
class Setup:
    world: World
    harness: Harness
    outbox: FlakyOutbox
    reporting: ReportingService

    def signals(
        self,
        min_respondents: int = 5,
        escalation_hours: int = 48,
        languages: OfficerLanguageReader | None = None,
    ) -> SignalService:
        """A fresh service on the same database: what a restarted bot builds."""
        return SignalService(
            store=SignalStore(self.world.sessions),
            deliveries=DeliveryStore(self.world.sessions),
            reporting=self.reporting,
            campaigns=self.world.campaigns,
            triggers=parse_triggers(
                RULE % {"n": min_respondents}, "triggers.yaml", weekly=True, campaigns=["deep"]
            ),
            outbox=self.outbox,
            zone=ZONE,
            policy=SignalPolicy(
                escalation_hours=escalation_hours,
                escalation_officer_ids=frozenset({ESCALATION_ID}),
            ),
            clock=lambda: self.world.clock_now[0],
            languages=languages,
        )

    def texts(self, chat_id: int) -> list[str]:
        return self.harness.texts(chat_id)


def _setup(world: World, reporting: ReportingService | None = None) -> Setup:
    holder: list[Setup] = []
    reporting = reporting or world.reporting
    dispatcher = create_dispatcher(
        storage=world.storage,
        feedback=world.feedback,
        reporting=reporting,
        campaigns=world.campaigns,
        funnel=world.funnel,
        signals=_Lazy(holder),
    )
    harness = Harness(dispatcher)
    setup = Setup(world, harness, FlakyOutbox(harness), reporting)
    holder.append(setup)
    return setup


class _Lazy:
    """The dispatcher's `signals`: a service built after the harness (it needs its bot)."""

    def __init__(self, holder: Sequence[Setup]) -> None:
        self._holder = holder
        self._service: SignalService | None = None

    def __getattr__(self, name: str) -> object:
        if self._service is None:
            self._service = self._holder[0].signals()
        return getattr(self._service, name)


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def _rating(score: int, day: date, service: str = "licensing") -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=1,
        kind="post_service",
        audience="external",
        context=ResponseContext(service=service, channel="office"),
        submitted_on=day,
        answers=(AnswerRow("overall", number=score), AnswerRow("obstacles", option_id="queue")),
    )


async def _store(
    world: World, scores: Sequence[int], day: date, service: str = "licensing"
) -> None:
    store = ResponseStore(world.sessions)
    for score in scores:
        await store.save(_rating(score, day, service))


async def _installed(world: World) -> None:
    await DeliveryStore(world.sessions).installed_on(date(2026, 1, 1))


def _at(world: World, moment: datetime) -> datetime:
    world.clock_now[0] = moment
    return moment


# --- the trigger -----------------------------------------------------------------------------


async def test_the_rule_fires_once_per_service_and_period_and_survives_a_restart(
    world: World,
) -> None:
    await _installed(world)
    await _store(world, [1, 1, 1, 2, 2, 2, 5, 5, 5, 5], date(2026, 10, 14))
    await _store(world, [5, 5, 5, 4, 4, 4, 4, 1, 2, 3], date(2026, 10, 14), service="appeals")
    setup = _setup(world)
    signals = setup.signals()
    # October closed at midnight; the officer hears of it in the morning (REPORTS__ALERT_HOUR).
    assert await signals.tick(_at(world, _local(2026, 11, 1, 0, 1))) == 0
    assert await signals.tick(_at(world, _local(2026, 11, 1, 8, 59))) == 0
    assert await world.rows("signal_proposals") == []
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10))) == 1
    [proposal] = setup.texts(OFFICER_ID)
    assert "Предлагается внеплановый опрос" in proposal and "п. 3.3" in proposal
    assert "«Лицензирование деятельности" in proposal and "01.10.2026–31.10.2026" in proposal
    assert "Оценки 1, 2: 6 из 10 (60,0 %)" in proposal
    # The figures are those of the officer's own report on the service and range.
    report = await world.reporting.report(
        Period(date(2026, 10, 1), date(2026, 10, 31)), Scope(service="licensing")
    )
    distribution = report.overall.distribution
    assert (report.overall.n, distribution[1] + distribution[2]) == (10, 6)
    assert "Доля оценок 1–2 за месяц" in proposal
    # Appeals: 2 of 10 is 20 %, below the rule; nothing else was proposed.
    assert "Рассмотрение обращений" not in proposal
    assert setup.harness.session.messages[(OFFICER_ID, 1000)]["markup"] is not None
    # Once: the next minute, and a restarted bot, send nothing more.
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10, 1))) == 0
    assert await setup.signals().tick(_at(world, _local(2026, 11, 2, 10))) == 0
    assert len(setup.texts(OFFICER_ID)) == 1
    rows = {row["service_code"]: row for row in await world.rows("signal_proposals")}
    assert rows["licensing"]["fired"] and rows["licensing"]["notified"]
    assert (rows["appeals"]["fired"], rows["appeals"]["respondents"]) == (False, 10)
    assert rows["appeals"]["negatives"] == 2


async def test_an_english_officer_gets_the_proposal_and_its_button_in_english(
    world: World,
) -> None:
    """Issue 12 item 2: the proposal follows the officer's language (the Russian control is
    the test above)."""
    await _installed(world)
    await _store(world, [1, 1, 1, 2, 2, 2, 5, 5, 5, 5], date(2026, 10, 14))
    setup = _setup(world)
    signals = setup.signals(languages=FixedLanguages(Language.EN))
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10))) == 1
    [proposal] = setup.texts(OFFICER_ID)
    assert "Licensing of apartment building management" in proposal
    assert "60.0 %" in proposal
    # The rule of this test is titled in Russian only: data without English.
    rule = "Доля оценок 1–2 за месяц не ниже 30 % при 5 и более ответах"
    assert rule in proposal
    assert re.search(r"[\u0400-\u04ff]", proposal.replace(rule, "")) is None
    markup = setup.harness.session.messages[(OFFICER_ID, 1000)]["markup"]
    [[button]] = markup.inline_keyboard
    assert re.search(r"[\u0400-\u04ff]", button.text) is None


async def test_fewer_respondents_than_the_rule_asks_fire_nothing(world: World) -> None:
    await _installed(world)
    await _store(world, [1, 1, 1, 1, 1, 1, 1, 1, 5, 5], date(2026, 10, 14))
    setup = _setup(world)
    assert await setup.signals(min_respondents=11).tick(_at(world, _local(2026, 11, 1, 10))) == 0
    assert setup.texts(OFFICER_ID) == []
    [row] = [r for r in await world.rows("signal_proposals") if r["service_code"] == "licensing"]
    assert (row["fired"], row["respondents"], row["negatives"]) == (False, 10, 8)


async def test_a_group_below_the_anonymity_threshold_fires_nothing(world: World) -> None:
    await _installed(world)
    await _store(world, [1, 1, 1, 1], date(2026, 10, 14))  # four people: no figures at all
    setup = _setup(world)
    assert await setup.signals(min_respondents=1).tick(_at(world, _local(2026, 11, 1, 10))) == 0
    [row] = [r for r in await world.rows("signal_proposals") if r["service_code"] == "licensing"]
    assert (row["fired"], row["respondents"], row["negatives"]) == (False, 0, 0)


async def test_a_proposal_failed_to_send_is_retried_and_then_sent_once(world: World) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    setup = _setup(world)
    setup.outbox.fail = 1
    signals = setup.signals()
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10))) == 0
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10, 1))) == 1
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10, 2))) == 0
    assert len(setup.texts(OFFICER_ID)) == 1


async def test_nothing_is_proposed_for_periods_before_the_installation(world: World) -> None:
    await DeliveryStore(world.sessions).installed_on(date(2026, 11, 1))
    setup = _setup(world)
    await _store(world, [1] * 6, date(2026, 11, 1))  # after the first start
    assert await setup.signals().tick(_at(world, _local(2026, 11, 1, 10))) == 0
    assert await world.rows("signal_proposals") == []


async def test_the_button_opens_the_extra_poll_once(world: World) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    setup = _setup(world)
    await setup.signals().tick(_at(world, _local(2026, 11, 2, 10)))
    officer = setup.harness.person(OFFICER_ID)
    proposal_id, _, markup = officer.live_message()
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None and len(data.encode()) <= 64
    await officer.click(OPEN)
    [window] = await world.rows("poll_windows")
    assert (window["campaign_id"], window["status"]) == ("deep", WindowStatus.OPEN)
    assert window["origin"] == WindowOrigin.OFFICER
    assert str(window["opens_on"]) == "2026-11-02"
    assert "Внеплановый опрос «Углублённый опрос" in officer.last_text()
    assert "https://t.me/otklik_test_bot?start=w" in officer.last_text()
    [row] = [r for r in await world.rows("signal_proposals") if r["fired"]]
    assert row["window_id"] == window["id"] and str(row["opened_on"]) == "2026-11-02"
    # The button is gone; a second press (a double tap, an old client) opens nothing more.
    assert setup.harness.session.messages[(OFFICER_ID, proposal_id)]["markup"] is None
    await officer.press_data(data, proposal_id)
    assert "уже открыт" in officer.alerts()[-1]
    assert len(await world.rows("poll_windows")) == 1
    answers = setup.harness.sent(AnswerCallbackQuery)
    assert len(answers) == 2  # one answer per press


async def test_a_stale_or_forged_button_is_answered_and_opens_nothing(world: World) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    setup = _setup(world)
    await setup.signals().tick(_at(world, _local(2026, 11, 2, 10)))
    officer = setup.harness.person(OFFICER_ID, language="en")
    proposal_id, _, markup = officer.live_message()
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None
    # A month later the rule looks at November: October's proposal is out of date.
    _at(world, _local(2026, 12, 3, 10))
    await officer.press_data(data, proposal_id)
    assert "out of date" in officer.alerts()[-1]
    # Forged: an id that was never issued, and one out of bounds.
    await officer.press_data("sg:o:AAAAAAAAAAAA", proposal_id)
    assert "out of date" in officer.alerts()[-1]
    await officer.press_data("sg:o:" + "A" * 40, proposal_id)
    assert officer.alerts()[-1] == "This button is no longer active"
    # A citizen pressing an officer's button gets the generic answer.
    citizen = setup.harness.person(CITIZEN_ID)
    await citizen.press_data(data, proposal_id)
    assert citizen.alerts()[-1] == "Эта кнопка больше не активна"
    assert await world.rows("poll_windows") == []
    assert len(setup.harness.sent(AnswerCallbackQuery)) == 4


# --- escalation -------------------------------------------------------------------------------


def _deliveries(setup: Setup, signals: SignalService) -> ReportDeliveries:
    return ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", 9, weekly=True),
        store=DeliveryStore(setup.world.sessions),
        reporting=setup.reporting,
        outbox=_NoReports(),
        batches=signals,
    )


class _NoReports:
    async def text(self, chat_id: int, html: str) -> None:
        pass

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        pass

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        pass


async def _batch_sent(world: World) -> tuple[Setup, SignalService, datetime]:
    """A batch of six score-1 ratings of the week 16–22 November, sent on Monday 09:00."""
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 11, 18))
    setup = _setup(world)
    signals = setup.signals()
    deliveries = _deliveries(setup, signals)
    await deliveries.tick(_local(2026, 11, 23, 8, 59))  # a fresh start: the latest, empty
    sent_at = _at(world, _local(2026, 11, 23, 9, 0))
    await deliveries.tick(sent_at)
    [batch] = [t for t in setup.texts(OFFICER_ID) if "⚠️" in t]
    assert "16.11.2026–22.11.2026" in batch
    return setup, signals, sent_at


async def test_an_unacknowledged_batch_escalates_after_the_delay_once(world: World) -> None:
    setup, signals, sent_at = await _batch_sent(world)
    assert setup.harness.person(OFFICER_ID).buttons() == [ACKNOWLEDGE]
    # Not before the delay.
    assert await signals.escalate(sent_at + timedelta(hours=47, minutes=59)) == 0
    assert setup.texts(ESCALATION_ID) == []
    assert await signals.escalate(sent_at + timedelta(hours=48, minutes=1)) == 1
    header, batch = setup.texts(ESCALATION_ID)
    assert "Эскалация" in header and "16.11.2026–22.11.2026" in header
    assert "в течение 48 ч" in header and "ответственные по всем услугам" in header
    assert "Лицензирование" in batch and "— 6 чел." in batch
    # Never twice: not the next minute, not after a restart.
    assert await signals.escalate(sent_at + timedelta(hours=48, minutes=2)) == 0
    assert await setup.signals().tick(sent_at + timedelta(hours=50)) == 0
    assert len(setup.texts(ESCALATION_ID)) == 2
    # An acknowledgement after the escalation is recorded and says so.
    officer = setup.harness.person(OFFICER_ID)
    await officer.click(ACKNOWLEDGE)
    assert "уже был передан на эскалацию" in officer.alerts()[-1]


async def test_an_acknowledged_batch_does_not_escalate(world: World) -> None:
    setup, signals, sent_at = await _batch_sent(world)
    officer = setup.harness.person(OFFICER_ID)
    mid, _, _ = officer.live_message()
    await officer.click(ACKNOWLEDGE)
    assert officer.alerts()[-1] == "Отмечено: принято к сведению."
    assert "✅ Принято к сведению" in officer.last_text()
    assert setup.harness.session.messages[(OFFICER_ID, mid)]["markup"] is None
    [row] = await world.rows("negative_batches")
    assert str(row["acknowledged_on"]) == "2026-11-23"
    assert row["scope"] == "*"
    assert await signals.escalate(sent_at + timedelta(hours=49)) == 0
    assert await setup.signals().tick(sent_at + timedelta(days=3)) == 0
    assert setup.texts(ESCALATION_ID) == []
    # A second press: answered, nothing changes.
    await officer.press_data(default_button_data(ACKNOWLEDGE_ACTION, str(row["id"])), mid)
    assert "уже отмечен" in officer.alerts()[-1]


async def test_a_failed_escalation_is_retried_and_delivered_once(world: World) -> None:
    setup, signals, sent_at = await _batch_sent(world)
    setup.outbox.fail = 1
    assert await signals.escalate(sent_at + timedelta(hours=49)) == 0
    assert setup.texts(ESCALATION_ID) == []
    assert await signals.escalate(sent_at + timedelta(hours=49, minutes=1)) == 1
    assert await signals.escalate(sent_at + timedelta(hours=49, minutes=2)) == 0
    assert len(setup.texts(ESCALATION_ID)) == 2
    [row] = await world.rows("negative_batches")
    assert row["escalated_at"] is not None


async def test_only_an_officer_who_got_the_batch_may_acknowledge_it(world: World) -> None:
    setup, signals, sent_at = await _batch_sent(world)
    mid, _, markup = setup.harness.person(OFFICER_ID).live_message()
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None
    citizen = setup.harness.person(CITIZEN_ID)
    await citizen.press_data(data, mid)
    assert citizen.alerts()[-1] == "Эта кнопка больше не активна"
    [row] = await world.rows("negative_batches")
    assert row["acknowledged_on"] is None
    assert await signals.escalate(sent_at + timedelta(hours=49)) == 1


async def test_the_escalation_names_the_service_officer_role(world: World) -> None:
    setup = _setup(world)
    store = SignalStore(world.sessions)
    batch = await store.ensure_batch(
        "2026-11-16:licensing", "licensing", date(2026, 11, 16), date(2026, 11, 22)
    )
    text = setup.signals(escalation_hours=24).escalation_text(batch)
    assert "ответственный за услугу «Лицензирование деятельности" in text and "24 ч" in text


async def test_a_proposal_shows_only_what_the_report_shows(world: World) -> None:
    """The attack: a proposal is one more view of answers. Its figures must be those of the
    officer's own report for the service and the same closed range, never finer."""
    await _installed(world)
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    # Licensing: 7 people in October, 5 of them scored 1–2. Appeals: 3 people, all scored 1.
    # Licensing's own 7 reach the threshold, but shown beside the body-wide total they would
    # give away the 3 of appeals by difference: the plan suppresses it, so must the rule.
    await _store(world, [1, 1, 1, 2, 2, 5, 5], date(2026, 10, 14))
    await _store(world, [1, 1, 1], date(2026, 10, 14), service="appeals")
    setup = _setup(world)
    signals = setup.signals(min_respondents=1)
    report = await world.reporting.report(october, Scope(service="licensing"))
    assert report.overall.suppressed
    assert await signals.tick(_at(world, _local(2026, 11, 1, 10))) == 0
    assert setup.texts(OFFICER_ID) == []
    rows = {row["service_code"]: row for row in await world.rows("signal_proposals")}
    for service in ("licensing", "appeals"):
        assert (rows[service]["fired"], rows[service]["respondents"]) == (False, 0)
        assert rows[service]["negatives"] == 0


async def test_a_running_window_serves_the_proposal_without_a_second_one(
    world: World,
) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    window = await world.campaigns.open_now("deep", _at(world, _local(2026, 11, 2, 9)))
    setup = _setup(world)
    await setup.signals().tick(_at(world, _local(2026, 11, 3, 10)))
    officer = setup.harness.person(OFFICER_ID)
    await officer.click(OPEN)
    assert "уже идёт" in officer.last_text()
    [row] = await world.rows("poll_windows")
    assert row["id"] == window.id


SERVICE_OFFICER = 600600


def _with_service_officer(world: World) -> ReportingService:
    """The shipped catalog with an officer of its own for licensing (catalog `officer:`)."""
    catalog = world.feedback.catalog
    services = tuple(
        s.model_copy(update={"officer": SERVICE_OFFICER}) if s.code == "licensing" else s
        for s in catalog.services
    )
    return ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=catalog.model_copy(update={"services": services}),
        policy=world.reporting._policy,
    )


async def test_the_service_officer_gets_the_proposal_and_may_open_the_poll(world: World) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    setup = _setup(world, _with_service_officer(world))
    assert await setup.signals().tick(_at(world, _local(2026, 11, 2, 10))) == 2
    assert len(setup.texts(OFFICER_ID)) == len(setup.texts(SERVICE_OFFICER)) == 1
    # An officer of another service (or of none) may not press it.
    stranger = setup.harness.person(SERVICE_OFFICER + 1)
    mid, _, markup = setup.harness.person(SERVICE_OFFICER).live_message()
    assert markup is not None and markup.inline_keyboard[0][0].callback_data is not None
    await stranger.press_data(markup.inline_keyboard[0][0].callback_data, mid)
    assert await world.rows("poll_windows") == []
    service_officer = setup.harness.person(SERVICE_OFFICER)
    await service_officer.click(OPEN)
    assert len(await world.rows("poll_windows")) == 1
    # The body-wide officer's copy of the proposal now says it is open already.
    body_officer = setup.harness.person(OFFICER_ID)
    await body_officer.click(OPEN)
    assert "уже открыт" in body_officer.alerts()[-1]
    assert len(await world.rows("poll_windows")) == 1


async def test_each_role_acknowledges_its_own_batch(world: World) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 11, 18))
    setup = _setup(world, _with_service_officer(world))
    signals = setup.signals()
    deliveries = _deliveries(setup, signals)
    await deliveries.tick(_local(2026, 11, 23, 8, 59))
    sent_at = _at(world, _local(2026, 11, 23, 9, 0))
    await deliveries.tick(sent_at)
    # The body-wide officer gets the batch over all services, the service officer their own.
    body_officer = setup.harness.person(OFFICER_ID)
    await body_officer.click(ACKNOWLEDGE)
    assert await signals.escalate(sent_at + timedelta(hours=49)) == 1
    header, batch = setup.texts(ESCALATION_ID)
    assert "ответственный за услугу «Лицензирование деятельности" in header
    assert "Лицензирование" in batch
    scopes = {row["scope"]: row for row in await world.rows("negative_batches")}
    assert scopes["*"]["acknowledged_on"] is not None and scopes["*"]["escalated_at"] is None
    assert scopes["licensing"]["escalated_at"] is not None


async def test_a_proposal_not_delivered_before_the_next_period_closed_is_dropped(
    world: World,
) -> None:
    await _installed(world)
    await _store(world, [1] * 6, date(2026, 10, 14))
    setup = _setup(world)
    setup.outbox.fail = 1
    signals = setup.signals()
    assert await signals.tick(_at(world, _local(2026, 11, 30, 10))) == 0  # Telegram refused
    # December: the rule now looks at November; October's button would be stale on arrival.
    assert await signals.tick(_at(world, _local(2026, 12, 1, 10))) == 0
    assert setup.texts(OFFICER_ID) == []
    [october] = [r for r in await world.rows("signal_proposals") if r["fired"]]
    assert october["notified"]


async def test_a_batch_in_several_messages_sends_each_part_once_after_a_failure(
    world: World,
) -> None:
    # Review: a failure on a later part failed the delivery, and the retry sent every part
    # again, so the officer read the first part twice.
    setup = _setup(world)
    signals = setup.signals()
    real_text = setup.outbox.text
    broken = {"часть 2"}

    async def text(chat_id: int, html: str) -> None:
        if html in broken:
            broken.discard(html)
            raise ConnectionError("Telegram unreachable")
        await real_text(chat_id, html)

    setup.outbox.text = text  # type: ignore[method-assign]
    now = world.clock_now[0]
    batch = {
        "key": "2026-10:*",
        "period": Period(date(2026, 10, 1), date(2026, 10, 31)),
        "scope": Scope(),
        "texts": ["часть 1", "часть 2", "часть 3"],
    }
    try:
        await signals.send_batch(OFFICER_ID, now=now, **batch)  # type: ignore[arg-type]
    except ConnectionError:
        pass
    else:
        raise AssertionError("the second part was meant to fail")
    await signals.send_batch(OFFICER_ID, now=now + timedelta(minutes=1), **batch)  # type: ignore[arg-type]
    assert setup.texts(OFFICER_ID) == ["часть 1", "часть 2", "часть 3"]


def test_the_handler_parses_the_buttons_the_service_packs() -> None:
    # The service packs its buttons itself (the composition root imports no handler to wire
    # it); the handler's callback data must read exactly that, up to the longest id.
    longest = "A" * SIGNAL_ID_LENGTH
    for action in (OPEN_ACTION, ACKNOWLEDGE_ACTION):
        for signal_id in ("x1", longest):
            data = default_button_data(action, signal_id)
            assert len(data.encode()) <= 64  # Telegram's limit on callback data
            press = SignalPress.unpack(data)
            assert (press.action, press.id) == (action, signal_id)
            assert press.pack() == data
