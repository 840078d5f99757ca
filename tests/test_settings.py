"""Settings: nested environment groups, secrets, defaults, the generated pepper."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, ensure_pepper


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if "__" in name and name.split("__")[0] in {"BOT", "DB", "FSM", "PRIVACY", "BODY"}:
            monkeypatch.delenv(name)


def test_defaults_run_on_sqlite_without_any_configuration() -> None:
    settings = Settings()
    assert settings.db.url.startswith("sqlite+aiosqlite:///")
    assert settings.bot.token is None
    assert settings.fsm.redis_url is None
    assert settings.privacy.min_group_size == 5
    assert settings.bot.api_base_url == "https://api.telegram.org"


def test_nested_groups_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT__TOKEN", "123:abc")
    monkeypatch.setenv("BOT__OFFICER_IDS", "[11, 22]")
    monkeypatch.setenv("BODY__TIMEZONE", "Asia/Yakutsk")
    monkeypatch.setenv("FSM__REDIS_URL", "")
    settings = Settings()
    assert settings.bot.token is not None
    assert settings.bot.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)  # secrets never print
    assert settings.bot.officer_ids == [11, 22]
    assert settings.body.zone.key == "Asia/Yakutsk"
    assert settings.fsm.redis_url is None


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DB__URL=sqlite+aiosqlite:///x.db\nLOG_LEVEL=DEBUG\n")
    settings = Settings()
    assert settings.db.url == "sqlite+aiosqlite:///x.db"
    assert settings.log_level == "DEBUG"


def test_unknown_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BODY__TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings()


def test_pepper_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings()
    first = ensure_pepper(settings, tmp_path / "data")
    second = ensure_pepper(settings, tmp_path / "data")
    assert first.get_secret_value() == second.get_secret_value()
    assert len(first.get_secret_value()) >= 32
    path = tmp_path / "secrets" / "pepper.key"
    assert path.read_text() == first.get_secret_value()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_pepper_does_not_live_next_to_the_database_by_default(tmp_path: Path) -> None:
    # Issue 8: a copy of data/ must not carry the secret that recomputes the keyed hashes.
    settings = Settings()
    ensure_pepper(settings, tmp_path / "data")
    database = Path(settings.db.url.removeprefix("sqlite+aiosqlite:///")).resolve()
    pepper = settings.privacy.pepper_file.resolve()
    assert database.parent not in pepper.parents
    assert not (tmp_path / "data").exists()


def test_pepper_left_in_data_by_older_versions_is_moved_out(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pepper.key").write_text("old-pepper-of-this-install\n")
    assert ensure_pepper(Settings(), tmp_path / "data").get_secret_value() == (
        "old-pepper-of-this-install"
    )
    assert not (tmp_path / "data" / "pepper.key").exists()
    assert (tmp_path / "secrets" / "pepper.key").exists()


def test_pepper_file_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRIVACY__PEPPER_FILE", str(tmp_path / "vault" / "otklik.key"))
    value = ensure_pepper(Settings(), tmp_path / "data")
    assert (tmp_path / "vault" / "otklik.key").read_text() == value.get_secret_value()


def test_configured_pepper_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRIVACY__PEPPER", "from-env")
    assert ensure_pepper(Settings(), tmp_path).get_secret_value() == "from-env"
    assert not (tmp_path / "pepper.key").exists()
    assert not (tmp_path / "secrets").exists()


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text(encoding="utf-8")
    documented = {line.split("=")[0].lstrip("# ") for line in example.splitlines() if "=" in line}
    for group, model in Settings.model_fields.items():
        annotation = model.annotation
        fields = getattr(annotation, "model_fields", None)
        if fields is None:
            assert group.upper() in documented
            continue
        for name in fields:
            assert f"{group.upper()}__{name.upper()}" in documented, f"{group}.{name}"
