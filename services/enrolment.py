"""Staff enrolment: one-time invite codes, the member key, the departments results may name.

Below services.windows: the windows use enrolment (who is staff, which department an answer
may carry, which chats are staff), never the other way. A person (a Telegram user id, or the
MAX front's keyed person) is used only inside the keyed hash ``HMAC(pepper, "staff", person)``;
invite codes are kept as ``HMAC(pepper, "invite", code)`` only.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from questionnaires import departments as staff_departments
from questionnaires.campaigns import EnrollStatus
from questionnaires.catalog import Department
from questionnaires.schema import Language, Text
from reports.windows import OTHER_DEPARTMENTS
from services.feedback import keyed_digest, utc_now
from storage.campaigns import CampaignStore
from storage.database import Sessions
from storage.staff import StaffStore

logger = logging.getLogger(__name__)

#: Invite codes: 8 characters without look-alikes (no 0/O, 1/I/L), about 40 bits.
CODE_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH: Final = 8
MAX_CODES_PER_CALL: Final = 1000
OTHER_DEPARTMENTS_TEXT: Final = Text(ru=OTHER_DEPARTMENTS, en="other departments")


@dataclass(frozen=True, slots=True)
class EnrollResult:
    status: EnrollStatus
    department: str | None = None


def normalize_code(code: str) -> str | None:
    """An invite code as typed (any case, spaces or dashes) in canonical form, or None."""
    canonical = re.sub(r"[\s\-_]+", "", code).upper()
    if len(canonical) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in canonical):
        return None
    return canonical


class Enrolment:
    """What the handlers and the windows ask about staff: codes, enrolment, departments.

    `departments` are the catalog's (codes stored, titles shown); `min_group` is the number of
    enrolled staff a department needs before results and answers may name it.
    """

    def __init__(
        self,
        *,
        sessions: Sessions,
        pepper: bytes,
        zone: ZoneInfo,
        departments: Sequence[Department] = (),
        min_group: int = 5,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = CampaignStore(sessions)
        self._staff = StaffStore(sessions)
        self._departments = {department.code: department for department in departments}
        self._pepper = pepper
        self._zone = zone
        self._min_group = min_group
        self._clock = clock

    def today(self, now: datetime | None = None) -> date:
        """The body's calendar day: codes are issued and used on it."""
        return (now or self._clock()).astimezone(self._zone).date()

    @property
    def departments(self) -> list[Department]:
        """The catalog's departments, in catalog order: what /invite offers."""
        return list(self._departments.values())

    def find_department(self, typed: str) -> Department | None:
        """The department named exactly by its code or title; look-alike letters do not
        match, so "Отдeл кадров" with a Latin e finds nothing."""
        found = staff_departments.resolve(self.departments, typed)
        return self._departments.get(found.code) if found is not None else None

    def look_alike(self, typed: str) -> Department | None:
        """The department a refused name imitates with look-alike letters, if any."""
        found = staff_departments.look_alike(self.departments, typed)
        return self._departments.get(found.code) if found is not None else None

    def department_title(self, code: str | None, language: Language | str = "ru") -> str:
        department = self._departments.get(code or "")
        return (
            department.title.get(language) if department else OTHER_DEPARTMENTS_TEXT.get(language)
        )

    async def create_invite_codes(self, department: str, count: int) -> list[str]:
        """New one-time codes for a catalog department (by code), as ``ABCD-EFGH``; only their
        hashes are kept."""
        if department not in self._departments:
            raise ValueError(
                f"no department '{department}' in the catalog; known: "
                + (", ".join(self._departments) or "none (add them under departments:)")
            )
        if not 0 < count <= MAX_CODES_PER_CALL:
            raise ValueError(f"ask for 1 to {MAX_CODES_PER_CALL} codes")
        codes: list[str] = []
        while len(codes) < count:
            batch = {
                self._code_hash(code): code
                for code in (
                    "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                    for _ in range(count - len(codes))
                )
            }
            # A code whose hash is already stored (about 1 in 10^12) is dropped and replaced.
            stored = await self._store.add_invite_codes(batch, department, self.today())
            codes += [code for code_hash, code in batch.items() if code_hash in stored]
        logger.info("created %d invite codes", len(codes))
        return [f"{code[:4]}-{code[4:]}" for code in codes]

    async def enroll(self, code: str, person: int) -> EnrollResult:
        """Enroll a staff member with a one-time code; only HMAC(person) and the department
        code are stored."""
        canonical = normalize_code(code)
        if canonical is None:
            return EnrollResult(EnrollStatus.UNKNOWN)
        status, department = await self._store.enroll(
            self._code_hash(canonical), self._member_key(person), self.today()
        )
        return EnrollResult(status, department)

    async def department_of(self, person: int) -> str | None:
        """The enrolled member's department code, or None if the person is not enrolled."""
        return await self._store.department_of(self._member_key(person))

    async def is_staff(self, person: int) -> bool:
        return await self.department_of(person) is not None

    async def shown_departments(self) -> dict[str, str | None]:
        """Each enrolled department code and how it may be shown: itself, or None (merged
        into «другие подразделения»): at least the threshold of staff must be enrolled."""
        return staff_departments.shown_departments(
            await self._staff.member_counts(), self._min_group, self._departments
        )

    async def reported_department(self, person: int) -> str | None:
        """The department a member's answer may carry: their department code only while it
        may be shown, else None. Stored so, a database reader learns no more than results."""
        department = await self.department_of(person)
        if department is None:
            return None
        return (await self.shown_departments()).get(department)

    async def department_label(self, code: str | None, language: Language | str = "ru") -> str:
        """How a department is named next to staff feedback now: its title if it may be
        shown, «другие подразделения» if others are shown, else nothing ("")."""
        shown = await self.shown_departments()
        if code is not None and shown.get(code) == code:
            return self.department_title(code, language)
        if any(value is not None for value in shown.values()):
            return OTHER_DEPARTMENTS_TEXT.get(language)
        return ""

    async def staff_chats(
        self, chat_ids: Iterable[int], person_of_chat: Callable[[int], int] = lambda chat: chat
    ) -> list[int]:
        """Those private chats whose person is enrolled staff. ``person_of_chat`` names the
        person behind a chat address (a Telegram chat is its user; a MAX chat the MAX front's
        keyed person, who enrolled with /join in MAX): the member key is that person's."""
        chats = list(chat_ids)
        keys = {chat: self._member_key(person_of_chat(chat)) for chat in chats}
        enrolled = await self._staff.enrolled(set(keys.values()))
        return [chat for chat in chats if keys[chat] in enrolled]

    def _member_key(self, person: int) -> str:
        return keyed_digest(self._pepper, "staff", person)

    def _code_hash(self, canonical_code: str) -> str:
        return keyed_digest(self._pepper, "invite", canonical_code)
