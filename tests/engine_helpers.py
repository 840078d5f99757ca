"""Shared fixtures for engine tests: the branching questionnaire and a walker."""

from __future__ import annotations

from pathlib import Path

from questionnaires.loader import load_questionnaire
from questionnaires.schema import Questionnaire

FIXTURES = Path(__file__).parent / "fixtures"


def branching() -> Questionnaire:
    return load_questionnaire(FIXTURES / "valid" / "branching.yaml")
