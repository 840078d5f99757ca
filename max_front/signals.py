"""The two §3.3 signal buttons in MAX (the extra-poll proposal, «Принято к сведению» on a
negative batch): the press through services.signals, as handlers.signals does in Telegram.

The officer is the MAX chat address (questionnaires.messengers.max_chat), which is how
MAX__OFFICER_IDS reach the reporting policy; the Telegram officer of the same number is
another person. What to answer is decided here; the front sends it (one answer per press).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Final

from questionnaires.campaigns import CampaignError, error_key
from questionnaires.i18n import N_, tr
from questionnaires.messengers import MAX, max_chat
from questionnaires.schema import Language
from questionnaires.triggers import SIGNAL_ID_LENGTH
from services.signals import (
    ACKNOWLEDGE_ACTION,
    OPEN_ACTION,
    Outcome,
    PressResult,
    SignalService,
    default_button_data,
)

#: What services.signals.default_button_data packs: ``sg:<o|a>:<ledger id>``.
PREFIX: Final = default_button_data("", "").split(":", 1)[0] + ":"
_DATA: Final = re.compile(
    rf"^{re.escape(PREFIX)}([{OPEN_ACTION}{ACKNOWLEDGE_ACTION}]):"
    rf"([A-Za-z0-9_-]{{1,{SIGNAL_ID_LENGTH}}})$"
)


@dataclass(frozen=True, slots=True)
class SignalReply:
    """The press's one answer (a notification), whether the pressed message loses its
    button, the message that follows it (HTML), if any, and the line the pressed message is
    marked with (an acknowledged batch, as in Telegram), if any."""

    notification: str
    drop_button: bool = False
    follow_up: str | None = None
    mark: str | None = None


def is_signal_data(payload: str) -> bool:
    return payload.startswith(PREFIX)


async def press_signal(
    signals: SignalService, user: int, payload: str, language: Language
) -> SignalReply:
    """A press on a signal button by MAX user ``user``; forged or stale data is "no longer
    active", someone else's button is "not yours" and keeps its button for its officer."""
    match = _DATA.match(payload)
    if match is None:
        return SignalReply(tr(language, "bot.button_inactive"))
    action, signal_id = match.groups()
    officer = max_chat(user)
    if action == OPEN_ACTION:
        return await _open(signals, signal_id, officer, language)
    return await _acknowledge(signals, signal_id, officer, language)


async def _open(
    signals: SignalService, proposal_id: str, officer: int, language: Language
) -> SignalReply:
    try:
        result = await signals.open_proposed(proposal_id, officer)
    except CampaignError as error:
        return SignalReply(tr(language, error_key(error)))
    if result.outcome is Outcome.OPENED and result.window is not None:
        window = result.window
        url = signals.start_url(window.id, MAX)  # a MAX officer opens MAX's link
        link = escape(url) if url else f"<code>/start {escape(window.start_payload)}</code>"
        text = tr(
            language,
            "signals.running" if result.running else "signals.opened",
            title=escape(window.title.get(language)),
            day=f"{window.closes_on:%d.%m.%Y}",
            link=link,
        )
        return SignalReply(tr(language, "signals.opened_short"), True, text)
    return _refusal(result, language, N_("signals.stale"))


async def _acknowledge(
    signals: SignalService, batch_id: str, officer: int, language: Language
) -> SignalReply:
    result = await signals.acknowledge(batch_id, officer)
    if result.outcome is Outcome.ACKNOWLEDGED:
        key = N_("signals.acknowledged_late") if result.escalated else N_("signals.acknowledged")
        return SignalReply(tr(language, key), True, mark=tr(language, "signals.noted_line"))
    return _refusal(result, language, N_("signals.stale_batch"))


def _refusal(result: PressResult, language: Language, stale: str) -> SignalReply:
    if result.outcome is Outcome.ALREADY_OPEN:
        day = f"{result.window.closes_on:%d.%m.%Y}" if result.window else "—"
        return SignalReply(tr(language, "signals.already_open", day=day), True)
    if result.outcome is Outcome.ALREADY_ACKNOWLEDGED:
        return SignalReply(tr(language, "signals.already_acknowledged"), True)
    if result.outcome is Outcome.NOT_YOURS:
        return SignalReply(tr(language, "signals.not_yours"))
    return SignalReply(tr(language, stale), True)
