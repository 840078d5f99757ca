"""Citizen feedback use cases: start a rating dialog, store it anonymously, opt in to news."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Protocol
from zoneinfo import ZoneInfo

from questionnaires import engine
from questionnaires.catalog import Catalog, Service, ServiceGroup
from questionnaires.deeplinks import decode_payload
from questionnaires.engine import Asked, Completed, Progress
from questionnaires.errors import StaleProgressError
from questionnaires.fronts import Front
from questionnaires.opt_ins import OptInTopic
from questionnaires.results import CompletedResponse, ResponseContext
from questionnaires.schema import Language, Questionnaire
from services.rating_guard import AsyncRatingGuard, LocalRatingGuard, RatingGuard
from storage.opt_ins import OptInStore
from storage.responses import DedupClaim, ResponseStore

logger = logging.getLogger(__name__)

POST_SERVICE = "post_service"
#: dedup_keys scope of a stored dialog's completion id (see FeedbackService.complete).
COMPLETED_SCOPE = "completed"
#: A completion key outlives its response's day by this long: a dialog repeated later (its
#: state was not cleared, the person came back) would be stored again.
COMPLETED_KEPT = timedelta(days=2)


class Stored(Enum):
    """What became of a completed dialog handed to :meth:`FeedbackService.complete`."""

    NEW = "new"  # stored now
    BEFORE = "before"  # stored already, by an earlier run of the same completion
    REFUSED = "refused"  # refused by the guard: the person's ratings of the day are used


def utc_now() -> datetime:
    return datetime.now(UTC)


def keyed_digest(pepper: bytes, *parts: object) -> str:
    """HMAC-SHA256 over the parts: the only form in which a Telegram id may reach storage."""
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


class InitiativeQueue(Protocol):
    """What an initiative response leaves for the internal officer (services.initiative): the
    message, kept in the response's own transaction (storage.responses.ResponseStore.save)."""

    def queued_body(self, response: CompletedResponse) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FeedbackPolicy:
    ratings_per_service_per_day: int = 1
    default_channel: str | None = None


class FeedbackService:
    """What the citizen handlers call; it never stores who answered."""

    def __init__(
        self,
        *,
        questionnaires: Mapping[str, Questionnaire],
        catalog: Catalog,
        responses: ResponseStore,
        opt_ins: OptInStore,
        zone: ZoneInfo,
        policy: FeedbackPolicy,
        clock: Callable[[], datetime] = utc_now,
        rating_guard: AsyncRatingGuard | None = None,
        pepper: bytes = b"",
    ) -> None:
        if POST_SERVICE not in questionnaires:
            raise ValueError(f"the '{POST_SERVICE}' questionnaire is missing or invalid")
        self.catalog = catalog
        self._questionnaires = dict(questionnaires)
        self._responses = responses
        self._opt_ins = opt_ins
        # In memory for one process; shared in Redis for several (bot.operations).
        self._guard = rating_guard or LocalRatingGuard(
            RatingGuard(policy.ratings_per_service_per_day)
        )
        self._zone = zone
        self._policy = policy
        self._clock = clock
        self._initiative: InitiativeQueue | None = None
        self._pepper = pepper

    def queue_initiative_with(self, queue: InitiativeQueue) -> None:
        """Initiative responses are stored with their message for the internal officer."""
        self._initiative = queue

    def today(self) -> date:
        """The body's calendar day: responses are dated in its time zone."""
        return self._clock().astimezone(self._zone).date()

    # --- context ------------------------------------------------------------------------

    def context_from_link(self, payload: str) -> ResponseContext | None:
        target = decode_payload(payload, self.catalog)
        if target is None:
            return None
        return ResponseContext(target.service, target.channel, target.life_situation)

    def context_for_service(self, service_code: str) -> ResponseContext | None:
        """Context when the person picked the service in the bot (no link)."""
        service = self.catalog.service(service_code)
        if service is None or service.group == ServiceGroup.INTERNAL:
            return None
        channel = self._policy.default_channel
        if channel is not None and self.catalog.channel(channel) is None:
            channel = None
        return ResponseContext(service=service_code, channel=channel)

    def citizen_services(self) -> list[Service]:
        """Services a citizen can pick in the bot: internal processes are for staff polls."""
        return [s for s in self.catalog.services if s.group != ServiceGroup.INTERNAL]

    def titles(self, context: ResponseContext, language: Language) -> dict[str, str | None]:
        return self.catalog.titles(context, language)

    # --- the dialog ---------------------------------------------------------------------

    def questionnaire_for(self, progress: Progress) -> Questionnaire:
        """The questionnaire a saved progress belongs to, if it still exists in that version."""
        questionnaire = self._questionnaires.get(str(progress.get("qn")))
        if questionnaire is None or questionnaire.version != progress.get("ver"):
            raise StaleProgressError(f"no questionnaire {progress.get('qn')}")
        return questionnaire

    def start(self, context: ResponseContext) -> Asked | Completed:
        return engine.start(self._questionnaires[POST_SERVICE], context)

    async def may_rate(self, person: int, service: str | None) -> bool:
        """False when the ballot-stuffing guard says this person rated the service today.

        An in-memory lookup (see services.rating_guard): a /start costs no transaction; with
        several processes one Redis lookup.
        """
        if service is None:
            return True
        return await self._guard.may_rate(person, service, self.today())

    def questionnaire(self, questionnaire_id: str) -> Questionnaire:
        return self._questionnaires[questionnaire_id]

    async def complete(
        self,
        completed: Completed,
        person: int,
        *,
        department: str | None = None,
        front: Front = Front.TELEGRAM,
        attempt: str | None = None,
        completion: str | None = None,
    ) -> Stored:
        """Store the response in one transaction; REFUSED if the guard refused it as a repeat.

        `person` (the Telegram user id) is used only inside the keyed hash of the guard;
        `front` (where the dialog ran) is stored on the response like its channel.
        `attempt` names the dialog (its random nonce): a completion of the same dialog
        repeated after a store that failed or was cut off (a worker killed between the
        guard's reservation and the commit) takes the same rating again instead of being
        refused as a second one. None: an attempt of its own, never repeated.
        `completion` is the dialog's completion id (random, kept only in its state): its keyed
        hash is written in the response's transaction, so the same completion repeated after
        the commit (a worker killed before the state was cleared) is BEFORE, not a second
        response. The key names no person and no response; it is purged two days later.
        """
        response = dataclasses.replace(
            completed.to_response(self.today()), department=department, front=front
        )
        once = None
        if completion is not None:
            once = DedupClaim(
                keyed_digest(self._pepper, COMPLETED_SCOPE, completion),
                COMPLETED_SCOPE,
                response.submitted_on + COMPLETED_KEPT,
            )
        return await self._save(response, person, attempt or secrets.token_hex(16), once)

    async def touch_ratings(self) -> int:
        """Touch the shared guard's keys (Redis), so none tells when its person completed;
        the scheduler's minute job (scheduler.jobs.flush_participation)."""
        return await self._guard.touch()

    async def _save(
        self, response: CompletedResponse, person: int, attempt: str, once: DedupClaim | None
    ) -> Stored:
        service = response.context.service
        if service is None or response.kind != POST_SERVICE:
            # An initiative message is queued in the same transaction: if either write fails,
            # neither is kept and the person is asked to send it again (no "thank you" for a
            # message nobody will read, and no second copy after the retry).
            body = None if self._initiative is None else self._initiative.queued_body(response)
            new = await self._responses.save(response, initiative_body=body, once=once)
            return Stored.NEW if new else Stored.BEFORE
        day = response.submitted_on
        # Taken before the write, so two completions racing for the last rating cannot both
        # pass; given back if the response was not stored. Nothing of it reaches the database.
        # A process killed in between leaves it taken by this attempt: the dialog's state is
        # kept until the store, so its repeated last input takes it again.
        if not await self._guard.reserve(person, service, day, attempt=attempt):
            return Stored.REFUSED
        try:
            new = await self._responses.save(response, once=once)
        except BaseException:
            try:
                await self._guard.release(person, service, day, attempt=attempt)
            except Exception as error:  # Redis away too: the rating stays taken for the day
                logger.warning("Rating not given back: %s", type(error).__name__)
            raise
        return Stored.NEW if new else Stored.BEFORE

    # --- opt-in -------------------------------------------------------------------------

    async def opt_in(self, chat_id: int, topic: OptInTopic = "changes") -> None:
        await self._opt_ins.add(chat_id, topic, self.today())

    async def opt_out(self, chat_id: int) -> int:
        return await self._opt_ins.remove(chat_id)

    def news_service(self, code: str | None) -> Service | None:
        """The service whose news a citizen may ask for: in the catalog, not internal."""
        service = self.catalog.service(code) if code else None
        return service if service is not None and not service.internal else None

    async def subscribe_service(self, chat_id: int, service_code: str) -> bool:
        """Subscribe the chat to one service's news (its explicit button); False for a code
        that names no citizen service (a forged or outdated button): nothing is stored."""
        if self.news_service(service_code) is None:
            return False
        await self._opt_ins.add_service(chat_id, service_code)
        return True

    async def stop_news(self, chat_id: int) -> int:
        """The button under every news message: no more news of changes, of any service."""
        return await self._opt_ins.remove_news(chat_id)
