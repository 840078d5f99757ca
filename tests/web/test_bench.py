"""The web benchmark runs both servers through whole dialogs (figures are not asserted)."""

from __future__ import annotations

from bench.web_bench import run, summary


async def test_the_web_bench_drives_the_form_and_the_bare_handler_in_rounds() -> None:
    results = await run(clients=2, seconds=0.3, rounds=1)
    assert len(results) == 1
    assert results[0].bare > 0 and results[0].form > 0
    assert "ratio to the bare handler" in summary(results)
