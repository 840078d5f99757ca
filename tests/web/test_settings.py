"""WEB__* settings: defaults, the public address, and mistakes explained."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings, WebSettings


def test_the_web_front_is_off_and_local_by_default() -> None:
    web = Settings(_env_file=None).web
    assert (web.enabled, web.host, web.port, web.public_url) == (False, "127.0.0.1", 8080, None)


def test_the_public_url_loses_its_trailing_slash_and_empty_means_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB__PUBLIC_URL", "https://otklik.example.gov.ru/")
    monkeypatch.setenv("WEB__ENABLED", "true")
    settings = Settings(_env_file=None)
    assert settings.web.public_url == "https://otklik.example.gov.ru"
    assert settings.web.enabled
    assert WebSettings(public_url="").public_url is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_url", "otklik.example.gov.ru"),
        ("port", 0),
        ("port", 70000),
        ("rate_per_minute", 0),
    ],
)
def test_a_wrong_web_setting_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        WebSettings(**{field: value})
