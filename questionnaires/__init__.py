"""Questionnaire domain: YAML format, loader, condition language and the pure dialog engine."""
