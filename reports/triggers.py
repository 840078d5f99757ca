"""Evaluates a §3.3 trigger rule on the figures of a report: pure, no I/O.

The input is the report's overall score for one service over the rule's closed period, as the
disclosure policy lets an officer see it (reports.disclosure): a suppressed score has no
figures and fires nothing, so a proposal never says more than the officer's own report.
"""

from __future__ import annotations

from dataclasses import dataclass

from questionnaires.triggers import TriggerRule
from reports.model import Score


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a rule found for one service: the figures it read and whether it fired."""

    fired: bool
    respondents: int  # with a score 1–5; 0 when the figures are suppressed
    negatives: int  # of them, with one of the rule's scores
    share: float | None  # negatives / respondents, in percent
    suppressed: bool = False


def evaluate(rule: TriggerRule, overall: Score) -> Evaluation:
    """Fires when n ≥ min_respondents and the share of the rule's scores ≥ min_share_percent."""
    if overall.suppressed or overall.n == 0:
        return Evaluation(False, 0, 0, None, suppressed=overall.suppressed)
    negatives = sum(overall.distribution.get(score, 0) for score in rule.scores)
    share = 100.0 * negatives / overall.n
    fired = overall.n >= rule.min_respondents and share >= rule.min_share_percent
    return Evaluation(fired, overall.n, negatives, share)
