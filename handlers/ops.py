"""/whoami and the command menu per role (issue 14); this module's texts are in the gettext
catalogue under ``ops.*`` (the menu's under ``ops.command.*``, listed in ``COMMANDS``).

/whoami tells a person their own Telegram id and what the bot takes them for, so an officer
can hand the id to whoever edits ``BOT__OFFICER_IDS`` or the catalog. The id goes to that
person only and is never logged.

The menu: citizens see the default one (every private chat); officers get a menu of their own
per chat (``BotCommandScopeChat``), set by the scheduler leader at election; enrolled staff get
theirs when they enrol (:func:`set_staff_menu`). Staff are not known by id otherwise (their
enrolment is keyed), so a menu is the only trace and it is kept at Telegram, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    Message,
)

from handlers.texts import language_of
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import Scope
from services.reporting import ReportingService
from services.windows import WindowService

logger = logging.getLogger(__name__)

#: Command → the key of its description; the menus below pick from it.
COMMANDS: Final[dict[str, str]] = {
    "start": N_("ops.command.start"),
    "polls": N_("ops.command.polls"),
    "results": N_("ops.command.results"),
    "cancel": N_("ops.command.cancel"),
    "stop": N_("ops.command.stop"),
    "help": N_("ops.command.help"),
    "whoami": N_("ops.command.whoami"),
    "feedback": N_("ops.command.feedback"),
    "report": N_("ops.command.report"),
    "export": N_("ops.command.export"),
    "comments": N_("ops.command.comments"),
    "pains": N_("ops.command.pains"),
    "poll_open": N_("ops.command.poll_open"),
    "poll_close": N_("ops.command.poll_close"),
    "invite": N_("ops.command.invite"),
    "appeals": N_("ops.command.appeals"),
    "topics": N_("ops.command.topics"),
    "language": N_("ops.command.language"),
}

CITIZEN: Final = ("start", "polls", "results", "cancel", "stop", "help", "whoami")
STAFF: Final = (*CITIZEN, "feedback")
SERVICE_OFFICER: Final = (*CITIZEN, "report", "export", "comments", "pains", "language")
BODY_OFFICER: Final = (*SERVICE_OFFICER, "poll_open", "poll_close", "invite", "appeals")
INTERNAL_OFFICER: Final = (*CITIZEN, "report", "export", "topics", "language")


def commands(names: Iterable[str], language: Language) -> list[BotCommand]:
    return [BotCommand(command=name, description=tr(language, COMMANDS[name])) for name in names]


def _union(*menus: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for menu in menus for name in menu))


@dataclass(frozen=True)
class Officers:
    body: frozenset[int]
    service: frozenset[int]  # a service's own officer (catalog)
    internal: frozenset[int]

    @classmethod
    def of(cls, reporting: ReportingService) -> Officers:
        every = reporting.all_officers()
        body = frozenset(i for i in every if _sees_all(reporting, i))
        return cls(
            body=body,
            service=frozenset(every - body),
            internal=frozenset(reporting.internal_officers()),
        )

    def menu_of(self, chat_id: int) -> tuple[str, ...]:
        parts: list[Sequence[str]] = []
        if chat_id in self.body:
            parts.append(BODY_OFFICER)
        elif chat_id in self.service:
            parts.append(SERVICE_OFFICER)
        if chat_id in self.internal:
            parts.append(INTERNAL_OFFICER)
        return _union(*parts)


def _sees_all(reporting: ReportingService, officer: int) -> bool:
    return reporting.may_see(officer, Scope())


async def set_command_menus(bot: Bot, officers: Officers) -> int:
    """The citizens' menu for every private chat and a menu per officer; returns the calls.

    Russian is the default; users whose Telegram is in English get the English one.
    """
    calls = 0
    for language, code in ((Language.RU, None), (Language.EN, "en")):
        citizen = commands(CITIZEN, language)
        for scope in (BotCommandScopeDefault(), BotCommandScopeAllPrivateChats()):
            await bot.set_my_commands(citizen, scope=scope, language_code=code)
            calls += 1
        for chat_id in sorted(officers.body | officers.service | officers.internal):
            menu = officers.menu_of(chat_id)
            await bot.set_my_commands(
                commands(menu, language),
                scope=BotCommandScopeChat(chat_id=chat_id),
                language_code=code,
            )
            calls += 1
    return calls


async def set_staff_menu(bot: Bot, chat_id: int) -> bool:
    """The staff menu in this chat (after enrolment); a failure costs only the menu."""
    try:
        for language, code in ((Language.RU, None), (Language.EN, "en")):
            await bot.set_my_commands(
                commands(STAFF, language),
                scope=BotCommandScopeChat(chat_id=chat_id),
                language_code=code,
            )
    except Exception as error:
        logger.warning("Staff menu not set: %s", type(error).__name__)
        return False
    return True


async def role_text(
    user_id: int, language: Language, reporting: ReportingService, campaigns: WindowService
) -> tuple[str, bool]:
    """What the bot takes this person for, and whether they are an officer of some kind."""
    roles: list[str] = []
    officer = False
    if _sees_all(reporting, user_id):
        officer = True
        roles.append(tr(language, "ops.body_officer"))
    elif reporting.services_of(user_id):
        officer = True
        names = ", ".join(
            (s.title.en or s.title.ru) if language == Language.EN else s.title.ru
            for s in reporting.services_of(user_id)
        )
        roles.append(tr(language, "ops.service_officer", services=names))
    if reporting.is_internal_officer(user_id):
        officer = True
        roles.append(tr(language, "ops.internal_officer"))
    if await campaigns.enrolment.is_staff(user_id):
        roles.append(tr(language, "ops.staff"))
    if not roles:
        roles.append(tr(language, "ops.citizen"))
    return "; ".join(roles), officer


def setup() -> Router:
    router = Router(name="ops")

    @router.message(Command("whoami"))
    async def on_whoami(
        message: Message, reporting: ReportingService, campaigns: WindowService
    ) -> None:
        user = message.from_user
        if user is None:
            return
        language = language_of(user)
        role, officer = await role_text(user.id, language, reporting, campaigns)
        text = tr(language, "ops.whoami", id=user.id, role=escape(role))
        if not officer:
            text += tr(language, "ops.hint")
        await message.answer(text)

    return router
