"""Metrics of the scheduler side (issue 14): responses added hourly, leadership, report time."""

from __future__ import annotations

from datetime import date

from scheduler.jobs import hourly_privacy
from scheduler.leader import LeaderGate
from services import metrics
from storage.activity import ActivityCounter
from storage.responses import STORED_RESPONSES


def _value(name: str) -> float:
    return metrics.REGISTRY.get_sample_value(name) or 0.0


async def test_responses_stored_move_once_an_hour_with_the_hours_total() -> None:
    before = _value("otklik_responses_stored_total")
    activity = ActivityCounter()
    activity.add(STORED_RESPONSES, 3)
    activity.add(STORED_RESPONSES, 2)
    assert _value("otklik_responses_stored_total") == before  # not one at a time
    await hourly_privacy(activity, None, lambda: date(2026, 11, 30))
    assert _value("otklik_responses_stored_total") == before + 5
    await hourly_privacy(activity, None, lambda: date(2026, 11, 30))
    assert _value("otklik_responses_stored_total") == before + 5


async def test_the_leadership_gauge_follows_the_election() -> None:
    class Election:
        won = True

        async def campaign(self) -> bool:
            return self.won

        async def resign(self) -> None:
            pass

    election = Election()
    gate = LeaderGate(
        election, renew_every=1, valid_for=3, on_change=metrics.set_leader, clock=lambda: 0.0
    )
    await gate.step()
    assert _value("otklik_scheduler_leader") == 1
    election.won = False
    await gate.step()
    assert _value("otklik_scheduler_leader") == 0
    election.won = True
    await gate.step()
    await gate.stop()
    assert _value("otklik_scheduler_leader") == 0
