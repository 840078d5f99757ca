"""§3.3 signals: an extra poll proposed when a trigger rule fires, and batches of strongly
negative ratings that escalate when no officer acknowledges them in time.

Both read only what the officer's own report shows (reports.disclosure, through
ReportingService), so a proposal or an escalation discloses nothing new. Both are driven by
`tick(now)` (one scheduler job, every minute) and are idempotent through two ledgers: the
proposals and batches (storage.signals) and, per recipient, the delivery ledger
(storage.deliveries), which sends each message once and retries a failed one next minute.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from html import escape
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from questionnaires.campaigns import Campaign, WindowOrigin
from questionnaires.i18n import tr
from questionnaires.messengers import TELEGRAM, Messenger
from questionnaires.schema import Language
from questionnaires.triggers import TriggerFile, TriggerRule
from reports.model import Dimension, Period, Scope
from reports.triggers import evaluate
from services.delivery_parts import part_key, send_part
from services.feedback import utc_now
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from services.reporting import ReportingService
from services.windows import WindowService, WindowView
from storage.deliveries import SENT, DeliveryStore
from storage.signals import BatchRow, ProposalRow, SignalStore

logger = logging.getLogger(__name__)

PROPOSAL_KIND: Final = "signal_proposal"
ESCALATION_KIND: Final = "signal_escalation"
#: One message of a batch split for Telegram, claimed apart (storage.deliveries).
BATCH_PART_KIND: Final = "negative_batch_part"
ALL_SERVICES: Final = "*"
#: Proposals and escalations of older periods are no longer sent (after a long downtime).
LOOKBACK: Final = timedelta(days=35)
OPEN_ACTION: Final = "o"
ACKNOWLEDGE_ACTION: Final = "a"


class SignalOutbox(Protocol):
    """How signals reach an officer's chat (bot.outbox.BotOutbox fits)."""

    async def text(self, chat_id: int, html: str) -> None: ...

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None: ...


#: Packs the callback data of a signal button: (action, ledger id) -> data.
ButtonData = Callable[[str, str], str]


def default_button_data(action: str, signal_id: str) -> str:
    """The data of a signal button: ``sg:<action>:<id>``, what handlers.signals.SignalPress
    parses (the composition root wires no front's detail into the service)."""
    return f"sg:{action}:{signal_id}"


@dataclass(frozen=True, slots=True)
class SignalPolicy:
    escalation_hours: int = 48
    escalation_officer_ids: frozenset[int] = frozenset()
    #: Proposals wait for the working morning (REPORTS__ALERT_HOUR, the body's zone): a unit
    #: closes at midnight, and an officer is not woken by it.
    send_from_hour: int = 9


class Outcome(enum.StrEnum):
    OPENED = "opened"
    ALREADY_OPEN = "already_open"
    ACKNOWLEDGED = "acknowledged"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    STALE = "stale"  # unknown id, a rule no longer configured, a newer period evaluated
    NOT_YOURS = "not_yours"  # pressed by someone who is not an officer of that service


@dataclass(frozen=True, slots=True)
class PressResult:
    outcome: Outcome
    window: WindowView | None = None
    escalated: bool = False  # an acknowledgement that came after the escalation went out
    running: bool = False  # the campaign had a window open already: that one serves


class SignalService:
    def __init__(
        self,
        *,
        store: SignalStore,
        deliveries: DeliveryStore,
        reporting: ReportingService,
        campaigns: WindowService,
        triggers: TriggerFile,
        outbox: SignalOutbox,
        zone: ZoneInfo,
        policy: SignalPolicy | None = None,
        button_data: ButtonData = default_button_data,
        clock: Callable[[], datetime] = utc_now,
        languages: OfficerLanguageReader | None = None,
    ) -> None:
        self._store = store
        # Each officer reads proposals, batches and escalations in their language.
        self._languages: OfficerLanguageReader = languages or FixedLanguages()
        self._deliveries = deliveries
        self._reporting = reporting
        self._campaigns = campaigns
        self._triggers = triggers
        self._outbox = outbox
        self._zone = zone
        self._policy = policy or SignalPolicy()
        self._button_data = button_data
        self._clock = clock
        # (rule, service, start, end) known to be in the ledger: not asked again every minute.
        self._evaluated: set[tuple[str, str, date, date]] = set()

    @property
    def triggers(self) -> TriggerFile:
        return self._triggers

    def _today(self, now: datetime) -> date:
        return now.astimezone(self._zone).date()

    async def tick(self, now: datetime | None = None) -> int:
        """Evaluate closed periods, send pending proposals and due escalations; how many sent."""
        now = now or self._clock()
        sent = 0
        # One failing (a report query, the database) does not hold the other back.
        for step in (self.propose, self.escalate):
            try:
                sent += await step(now)
            except Exception as error:
                logger.error(
                    "Signals: %s failed (%s); retried next minute",
                    step.__name__,
                    type(error).__name__,
                    exc_info=error,
                )
        return sent

    # --- the §3.3 trigger -----------------------------------------------------------------

    async def propose(self, now: datetime) -> int:
        today = self._today(now)
        if now.astimezone(self._zone).hour < self._policy.send_from_hour:
            return 0
        installed = await self._deliveries.installed_on(today)
        for rule in self._triggers.rules:
            start, end = rule.period(today)
            # Nothing is due for periods that ended before the installation (issue 10, item 8).
            if end < installed:
                continue
            # Internal processes are rated by staff, never in the citizens' extra poll.
            for service in self._reporting.catalog.services:
                if not service.internal:
                    await self._evaluate_once(rule, service.code, Period(start, end), today)
        sent = 0
        for proposal in await self._store.unnotified(since=today - LOOKBACK):
            sent += await self._notify(proposal, now, today)
        return sent

    async def _evaluate_once(
        self, rule: TriggerRule, service: str, period: Period, today: date
    ) -> None:
        key = (rule.id, service, period.start, period.end)
        if key in self._evaluated:
            return
        if await self._store.find_proposal(*key) is None:
            report = await self._reporting.report(period, Scope(service=service))
            found = evaluate(rule, report.overall)
            await self._store.record_proposal(
                rule_id=rule.id,
                service=service,
                start=period.start,
                end=period.end,
                fired=found.fired,
                respondents=found.respondents,
                negatives=found.negatives,
                today=today,
            )
            if found.fired:
                logger.info("Trigger %s fired for a service over %s", rule.id, period)
        self._evaluated.add(key)

    async def _notify(self, proposal: ProposalRow, now: datetime, today: date) -> int:
        rule = self._triggers.get(proposal.rule_id)
        current = rule.period(today) if rule is not None else None
        if current != (proposal.period_start, proposal.period_end):
            # The rule was removed or changed, or the next period closed while the bot was down
            # or Telegram refused: a proposal whose button is already stale is not sent.
            await self._store.mark_notified(proposal.id)
            return 0
        assert rule is not None
        officers = sorted(self._reporting.officers_for(proposal.service))
        languages = await self._languages.of_many(officers)
        texts = {
            language: self.proposal_text(proposal, rule, language)
            for language in set(languages.values())
        }
        data = self._button_data(OPEN_ACTION, proposal.id)
        sent, done = 0, bool(officers)
        for officer in officers:
            if not await self._deliveries.claim(PROPOSAL_KIND, proposal.id, officer, now, now):
                done &= await self._deliveries.status(PROPOSAL_KIND, proposal.id, officer) == SENT
                continue
            language = languages[officer]
            try:
                await self._outbox.text_with_button(
                    officer, texts[language], open_button(language), data
                )
            except Exception as error:
                logger.warning("Proposal not sent (%s); retried next minute", type(error).__name__)
                await self._deliveries.finish(PROPOSAL_KIND, proposal.id, officer, now, ok=False)
                done = False
                continue
            await self._deliveries.finish(PROPOSAL_KIND, proposal.id, officer, now, ok=True)
            sent += 1
        if done:
            await self._store.mark_notified(proposal.id)
        return sent

    def proposal_text(
        self, proposal: ProposalRow, rule: TriggerRule, language: Language = Language.RU
    ) -> str:
        service = self._reporting.title(Dimension.SERVICE, proposal.service, language)
        period = Period(proposal.period_start, proposal.period_end)
        campaign = self._campaign(rule)
        share = 100.0 * proposal.negatives / proposal.respondents if proposal.respondents else 0.0
        scores = ", ".join(str(score) for score in rule.scores)
        what = escape(
            campaign.title.get(language) if campaign and campaign.title else rule.campaign
        )
        return tr(
            language,
            "signals.proposal",
            service=escape(service),
            period=period,
            scores=scores,
            negatives=proposal.negatives,
            respondents=proposal.respondents,
            share=_percent(share, language),
            rule=escape(rule.title.get(language)),
            what=what,
        )

    def _campaign(self, rule: TriggerRule) -> Campaign | None:
        return next((c for c in self._campaigns.campaigns if c.id == rule.campaign), None)

    async def open_proposed(
        self, proposal_id: str, officer: int, now: datetime | None = None
    ) -> PressResult:
        """The proposal's button: open the rule's campaign window today, once.

        Raises CampaignError when the window cannot be opened (e.g. one ran and closed today).
        """
        now = now or self._clock()
        proposal = await self._store.proposal(proposal_id)
        if proposal is None or not proposal.fired:
            return PressResult(Outcome.STALE)
        if officer not in self._reporting.officers_for(proposal.service):
            return PressResult(Outcome.NOT_YOURS)
        if proposal.window_id is not None:
            return PressResult(
                Outcome.ALREADY_OPEN, await self._campaigns.window_for_start(proposal.window_id)
            )
        rule = self._triggers.get(proposal.rule_id)
        if rule is None or rule.period(self._today(now)) != (
            proposal.period_start,
            proposal.period_end,
        ):
            return PressResult(Outcome.STALE)
        window = await self._campaigns.open_now(rule.campaign, now)
        if not await self._store.mark_opened(proposal.id, window.id, self._today(now)):
            # Another officer pressed at the same moment: the window they opened is this one.
            return PressResult(Outcome.ALREADY_OPEN, window)
        logger.info("Extra poll window %d opened on a proposal of rule %s", window.id, rule.id)
        running = window.origin != WindowOrigin.OFFICER or window.opens_on < self._today(now)
        return PressResult(Outcome.OPENED, window, running=running)

    def start_url(self, window_id: int, messenger: Messenger = TELEGRAM) -> str | None:
        return self._campaigns.start_url(window_id, messenger)

    # --- negative batches and their escalation ------------------------------------------

    async def send_batch(
        self,
        officer: int,
        *,
        key: str,
        period: Period,
        scope: Scope,
        texts: list[str],
        now: datetime,
        language: Language = Language.RU,
    ) -> None:
        """Send a batch of negative ratings with an "acknowledge" button on its last message
        (``texts`` and the button in the officer's ``language``)."""
        batch = await self._store.ensure_batch(
            key, scope.service or ALL_SERVICES, period.start, period.end
        )
        *first, last = texts
        # Each part once: when a later part fails, the delivery is retried and the parts
        # already sent are not sent again (review: part 1 reached the officer twice).
        for index, text in enumerate(first):
            await send_part(
                self._deliveries,
                BATCH_PART_KIND,
                part_key(batch.id, index),
                officer,
                now,
                partial(self._outbox.text, officer, text),
            )
        data = self._button_data(ACKNOWLEDGE_ACTION, batch.id)
        await self._outbox.text_with_button(officer, last, acknowledge_button(language), data)
        await self._store.mark_batch_sent(batch.id, now)

    async def acknowledge(
        self, batch_id: str, officer: int, now: datetime | None = None
    ) -> PressResult:
        now = now or self._clock()
        batch = await self._store.batch(batch_id)
        if batch is None:
            return PressResult(Outcome.STALE)
        if not self._reporting.may_see(officer, _scope(batch)):
            return PressResult(Outcome.NOT_YOURS)
        escalated = batch.escalated_at is not None
        if not await self._store.acknowledge(batch.id, self._today(now)):
            return PressResult(Outcome.ALREADY_ACKNOWLEDGED, escalated=escalated)
        return PressResult(Outcome.ACKNOWLEDGED, escalated=escalated)

    async def escalate(self, now: datetime) -> int:
        officers = sorted(self._policy.escalation_officer_ids)
        if not officers:
            return 0
        delay = timedelta(hours=self._policy.escalation_hours)
        sent = 0
        for batch in await self._store.overdue(sent_before=now - delay, sent_since=now - LOOKBACK):
            sent += await self._escalate(batch, officers, now)
        return sent

    async def _escalate(self, batch: BatchRow, officers: Collection[int], now: datetime) -> int:
        period = Period(batch.period_start, batch.period_end)
        # The same batch, recomputed: a closed period and one disclosure plan give the same text.
        # Rendered once per language the officers read.
        languages = await self._languages.of_many(officers)
        messages: dict[Language, list[str]] = {}
        for language in sorted(set(languages.values())):
            texts = await self._reporting.negative_digest(period, _scope(batch), language)
            if texts:
                messages[language] = [self.escalation_text(batch, language), *texts]
        if not messages:  # the catalog or the questionnaires changed since: nothing to show
            await self._store.mark_escalated(batch.id, now)
            logger.warning("Negative batch of %s shows nothing any more: not escalated", period)
            return 0
        sent, done = 0, True
        for officer in officers:
            if not await self._deliveries.claim(ESCALATION_KIND, batch.id, officer, now, now):
                done &= await self._deliveries.status(ESCALATION_KIND, batch.id, officer) == SENT
                continue
            try:
                for text in messages.get(languages[officer], []):
                    await self._outbox.text(officer, text)
            except Exception as error:
                logger.warning(
                    "Escalation not sent (%s); retried next minute", type(error).__name__
                )
                await self._deliveries.finish(ESCALATION_KIND, batch.id, officer, now, ok=False)
                done = False
                continue
            await self._deliveries.finish(ESCALATION_KIND, batch.id, officer, now, ok=True)
            sent += 1
        if done:
            await self._store.mark_escalated(batch.id, now)
            logger.info("Negative batch of %s escalated", period)
        return sent

    def escalation_text(self, batch: BatchRow, language: Language = Language.RU) -> str:
        period = Period(batch.period_start, batch.period_end)
        if batch.scope == ALL_SERVICES:
            who = tr(language, "signals.escalation_all")
        else:
            title = self._reporting.title(Dimension.SERVICE, batch.scope, language)
            who = tr(language, "signals.escalation_one", title=escape(title))
        return tr(
            language,
            "signals.escalation",
            period=period,
            hours=self._policy.escalation_hours,
            who=who,
        )


def open_button(language: Language) -> str:
    """The button under a proposal, in the officer's language."""
    return tr(language, "signals.open_button")


def acknowledge_button(language: Language) -> str:
    """The button under a negative batch, in the officer's language."""
    return tr(language, "signals.acknowledge_button")


#: The Russian buttons (the default language's).
OPEN_BUTTON: Final = open_button(Language.RU)
ACKNOWLEDGE_BUTTON: Final = acknowledge_button(Language.RU)


def _scope(batch: BatchRow) -> Scope:
    return Scope(service=None if batch.scope == ALL_SERVICES else batch.scope)


def _percent(value: float, language: Language = Language.RU) -> str:
    text = f"{value:.1f}"
    return (text if language == Language.EN else text.replace(".", ",")) + " %"
