"""The pain map for officers in MAX: `/pains`, a pain's card, measures by buttons and by typed
steps with their own /cancel, as handlers.painmap does in Telegram over services.painmap.

The officer is the MAX chat address (questionnaires.messengers.max_chat), as MAX__OFFICER_IDS
reach the reporting policy. The measure being typed is kept in the bot's FSM storage under the
officer's keyed MAX person (bot/max.py: hashed like every dialog key), beside the poll dialog.
Texts are plain (services.painmap_text with ``html=False``). Every press is answered once (the
front answers whatever is left unanswered); a press on a pain or measure that is gone, forged
or not this officer's is answered "the button is stale" and changes nothing.

Button payloads: ``pnl`` (the list), ``pn:<pain>`` (a card), ``pma:<pain>`` (a new measure),
``pmp:<measure>`` (its status choice), ``pms:<measure>:<p|i|d|x>`` (a status): keys are the
32 hex digits of the pain map's ids, so every payload stays under 64 characters.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final, Protocol

from max_front.api import Button, Download, Keyboard, MaxApi, MaxApiError, View
from questionnaires.i18n import N_, tr
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from reports.painmap_import import BadHeader, NotAPainMap, is_pain_map
from services.dialog import DialogState, Person
from services.painmap import (
    MeasureError,
    PainMapService,
    PainView,
    check_responsible,
    check_text,
    draft_key,
    parse_deadline,
)
from services.painmap_text import LISTED, MAX_SHEET_BYTES, STATUS_CODES, PainMapText

logger = logging.getLogger(__name__)

LIST: Final = "pnl"
PAIN: Final = "pn:"
ADD: Final = "pma:"
PICK: Final = "pmp:"
SET: Final = "pms:"
_PAYLOAD: Final = re.compile(r"^(pn|pma|pmp):([0-9a-f]{32})$|^pms:([0-9a-f]{32}):([pidx])$")
#: MAX's inline keyboard holds at most 30 rows (dev.max.ru/docs-api/objects/InlineKeyboard):
#: a card keeps a row for "add" and one for "back"; further measures are in /export.
MAX_ROWS: Final = 30
#: The typed steps of a new measure, in order (the draft's "step").
STEPS: Final = ("text", "responsible", "deadline")


class MeasureDraft(Protocol):
    """The measure an officer is typing: the pain, the step and what was typed so far."""

    async def load(self) -> dict[str, str] | None: ...

    async def save(self, data: dict[str, str]) -> None: ...

    async def clear(self) -> None: ...


class Answer(Protocol):
    """A callback's one answer (max_front.front._Answer)."""

    async def notify(self, text: str | None) -> None: ...

    async def replace(self, view: View, notification: str | None = None) -> bool: ...


def is_pain_payload(payload: str) -> bool:
    return payload == LIST or payload.startswith((PAIN, ADD, PICK, SET))


@dataclass
class MaxPainMap:
    api: MaxApi
    painmap: PainMapService
    #: The officer's keyed person (max_front.persons.person_of), for the two states below.
    person: Callable[[int], Person]
    drafts: Callable[[Person], MeasureDraft]
    #: The poll dialog of the same person: a poll being answered keeps its place.
    dialogs: Callable[[Person], DialogState]

    def is_officer(self, user: int) -> bool:
        return self.painmap.reporting.is_officer(max_chat(user))

    # --- messages -----------------------------------------------------------------------

    async def show_list(self, user: int, language: Language) -> bool:
        """``/pains``: the officer's pains by priority. False for anyone else."""
        if not self.is_officer(user):
            return False
        await self.api.send(user, await self._list(user, language))
        return True

    async def typed(
        self, user: int, text: str, language: Language, *, with_file: bool = False
    ) -> bool:
        """A message while the officer types a measure: taken here (True) or left to the
        front (False: no measure being typed, another command, or a file without text, for
        the sheet and register imports; the measure waits)."""
        if not self.is_officer(user):
            return False
        person = self.person(user)
        draft = self.drafts(person)
        data = await draft.load()
        if data is None:
            return False
        if await self.dialogs(person).load() is not None:
            # A poll started after the measure (as in Telegram, its state replaces the draft).
            await draft.clear()
            return False
        command = text.split(" ", 1)[0]
        if command == "/cancel":
            await draft.clear()
            await self._say(user, language, "painmap.cancelled")
            return True
        if command.startswith("/"):
            return False
        if not text:
            if with_file:
                return False
            await self._say(user, language, "painmap.not_text")
            return True
        words = PainMapText(language, html=False)
        step = data.get("step", "")
        try:
            if step == "text":
                await draft.save({**data, "text": check_text(text), "step": "responsible"})
                await self._say(user, language, "painmap.ask_responsible")
            elif step == "responsible":
                responsible = check_responsible(text)
                await draft.save({**data, "responsible": responsible, "step": STEPS[2]})
                await self._say(user, language, "painmap.ask_deadline")
            else:
                await self._store(user, language, data, parse_deadline(text, self.painmap.today()))
        except MeasureError as refused:
            await self.api.send(user, View(words.refusal(refused)))
        return True

    async def _store(
        self, user: int, language: Language, data: dict[str, str], deadline: date
    ) -> None:
        pain, text, responsible = (data.get(key, "") for key in ("pain", "text", "responsible"))
        # The draft stays until the measure is stored: if the database is down, the front
        # asks to try again and the same deadline sent again stores it; a process killed after
        # the commit and before the clear stores nothing twice (the draft's key).
        officer = max_chat(user)
        key = data.get("key") or None
        measure = (
            await self.painmap.add_measure(officer, pain, text, responsible, deadline, key=key)
            if pain and text and responsible
            else None
        )
        await self.drafts(self.person(user)).clear()
        if measure is None:
            await self._say(user, language, "painmap.gone")
            return
        view = await self.painmap.card(max_chat(user), measure.pain_id)
        await self._say(user, language, "painmap.saved")
        if view is not None:
            await self.api.send(user, self._card(view, language))

    async def sheet(
        self,
        user: int,
        attachments: object,
        language: Language,
        *,
        download: Download | None = None,
    ) -> bool:
        """An officer's XLSX carrying the pain map sheet, edited and sent back: its measures
        stored (or every error named, nothing stored). False for any other message.
        ``download``: the message's file fetched once for this and the register import."""
        if not self.is_officer(user) or not isinstance(attachments, list):
            return False
        files = [a for a in attachments if isinstance(a, dict) and a.get("type") == "file"]
        if len(files) != 1:
            return False
        [file] = files
        url = (file.get("payload") or {}).get("url")
        size = file.get("size")
        if not str(file.get("filename") or "").lower().endswith(".xlsx"):
            return False
        if not isinstance(url, str) or (isinstance(size, int) and size > MAX_SHEET_BYTES):
            return False
        try:
            data = await (download or self.api.download)(url, MAX_SHEET_BYTES)
        except MaxApiError as error:
            if error.code == 413:
                return False  # larger than any pain map sheet: perhaps a register
            logger.warning("MAX pain map file not fetched (%s)", error.code)
            await self.api.send(user, View(tr(language, N_("max.painmap.no_file"))))
            return True
        # Opening a workbook takes a while: people keep being answered meanwhile.
        if len(data) > MAX_SHEET_BYTES or not await asyncio.to_thread(is_pain_map, data):
            return False
        words = PainMapText(language, html=False)
        try:
            result = await self.painmap.import_sheet(max_chat(user), data)
        except BadHeader as refused:  # renamed, deleted or mixed headers
            text = tr(
                language, "painmap.sheet_header", sheet=refused.sheet, columns=refused.names()
            )
            await self.api.send(user, View(text))
            return True
        except NotAPainMap:  # checked above; only a race gets here
            await self.api.send(user, View(tr(language, "painmap.sheet_bad", count=1)))
            return True
        await self.api.send(user, View(words.describe_import(result)))
        return True

    # --- buttons ------------------------------------------------------------------------

    async def press(self, user: int, language: Language, payload: str, answer: Answer) -> None:
        """A pain map button; always answered (here, or by the front's final answer)."""
        if not self.is_officer(user):
            # As in Telegram, an officer's button pressed by anyone else is simply inactive.
            await answer.notify(tr(language, "bot.button_inactive"))
            return
        officer = max_chat(user)
        if payload == LIST:
            await self._replace(user, answer, await self._list(user, language))
            return
        match = _PAYLOAD.match(payload)
        if match is None:
            await answer.notify(tr(language, "painmap.stale"))
            return
        kind, key, measure_key, code = match.groups()
        if measure_key is not None:
            changed = await self.painmap.set_status(officer, measure_key, STATUS_CODES[code])
            view = await self.painmap.card(officer, changed.pain_id) if changed else None
            note = tr(language, "painmap.status_saved")
            await self._show(user, language, view, answer, note)
        elif kind == "pn":
            await self._show(user, language, await self.painmap.card(officer, key), answer)
        elif kind == "pma":
            await self._add(user, language, key, answer)
        else:
            await self._pick(user, language, key, answer)

    async def _add(self, user: int, language: Language, pain: str, answer: Answer) -> None:
        view = await self.painmap.card(max_chat(user), pain)
        if view is None:
            await answer.notify(tr(language, "painmap.stale"))
            return
        person = self.person(user)
        if await self.dialogs(person).load() is not None:
            await answer.notify(tr(language, "painmap.busy"))
            return
        await self.drafts(person).save(
            {"pain": view.pain.id, "step": STEPS[0], "key": draft_key()}
        )
        await answer.notify(None)
        await self._say(user, language, "painmap.ask_text")

    async def _pick(self, user: int, language: Language, key: str, answer: Answer) -> None:
        measure = await self.painmap.measure_for(max_chat(user), key)
        if measure is None:
            await answer.notify(tr(language, "painmap.stale"))
            return
        words = PainMapText(language, html=False)
        statuses = [
            Button(words.status_label(measure, status), f"{SET}{measure.id}:{code}")
            for code, status in STATUS_CODES.items()
        ]
        keyboard: Keyboard = (
            *(tuple(statuses[i : i + 2]) for i in range(0, len(statuses), 2)),
            (Button(tr(language, "painmap.back"), f"{PAIN}{measure.pain_id}"),),
        )
        await self._replace(user, answer, View(words.choose_status(measure), keyboard))

    async def _show(
        self,
        user: int,
        language: Language,
        view: PainView | None,
        answer: Answer,
        note: str | None = None,
    ) -> None:
        if view is None:
            await answer.notify(tr(language, "painmap.stale"))
            return
        await self._replace(user, answer, self._card(view, language), note)

    # --- drawing ------------------------------------------------------------------------

    async def _list(self, user: int, language: Language) -> View:
        views = await self.painmap.pains_for(max_chat(user))
        words = PainMapText(language, html=False)
        keyboard = tuple(
            (Button(words.list_label(view), f"{PAIN}{view.pain.id}"),) for view in views[:LISTED]
        )
        return View(words.list_text(views), keyboard)

    def _card(self, view: PainView, language: Language) -> View:
        words = PainMapText(language, html=False)
        measures = tuple(
            (Button(words.status_of_label(measure), f"{PICK}{measure.id}"),)
            for measure in view.measures[: MAX_ROWS - 2]
        )
        keyboard: Keyboard = (
            (Button(tr(language, "painmap.add"), f"{ADD}{view.pain.id}"),),
            *measures,
            (Button(tr(language, "painmap.back"), LIST),),
        )
        return View(words.card(view, self.painmap.today()), keyboard)

    async def _replace(
        self, user: int, answer: Answer, view: View, note: str | None = None
    ) -> None:
        """The pressed message shows ``view``; if MAX refuses the edit (too old, deleted),
        the press is answered and ``view`` comes as a new message."""
        if await answer.replace(view, note):
            return
        await answer.notify(note)
        await self.api.send(user, view)

    async def _say(self, user: int, language: Language, key: str) -> None:
        await self.api.send(user, View(tr(language, key)))
