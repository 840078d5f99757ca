"""The §3.3 escalation and proposal texts come from the catalogues, in either language
(issue 12, item 2); the scheduler's deliveries keep Russian."""

from __future__ import annotations

from datetime import date

from questionnaires.schema import Language
from storage.signals import SignalStore
from tests.bot.conftest import World
from tests.bot.test_signals import _setup


async def test_the_escalation_in_english_names_the_service_in_english(world: World) -> None:
    setup = _setup(world)
    batch = await SignalStore(world.sessions).ensure_batch(
        "2026-11-16:licensing", "licensing", date(2026, 11, 16), date(2026, 11, 22)
    )
    signals = setup.signals(escalation_hours=24)
    english = signals.escalation_text(batch, Language.EN)
    assert english.startswith("⏰ <b>Escalation: negative scores without a reaction</b>")
    assert "for 16.11.2026–22.11.2026 was not marked “Acknowledged” within 24 h" in english
    assert "the officer for the service “Licensing of apartment building management”" in english
    assert signals.escalation_text(batch) == signals.escalation_text(batch, Language.RU)
    assert "Эскалация" in signals.escalation_text(batch)
