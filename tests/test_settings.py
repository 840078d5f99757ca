"""Settings: nested environment groups, secrets, defaults, the generated pepper, the home
folder, and the explained mistakes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.problems import settings_problem
from bot.settings import PROJECT_DIR, Settings, data_folder, ensure_pepper, example_of, home


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # tmp_path is the home; the current folder is elsewhere, as under systemd or cron.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    for name in list(os.environ):
        if name == "LOG_LEVEL" or (
            "__" in name
            and name.split("__")[0]
            in {"BOT", "DB", "FSM", "PRIVACY", "BODY", "REPORTS", "CONTENT", "MAX"}
        ):
            monkeypatch.delenv(name)


def _problem_of(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    (line,) = settings_problem(caught.value).lines
    return line


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


def test_dotenv_file_is_read_from_the_home_folder_not_the_current_one(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DB__URL=sqlite+aiosqlite:///x.db\nLOG_LEVEL=DEBUG\n")
    (Path.cwd() / ".env").write_text("LOG_LEVEL=ERROR\n")  # the current folder's is ignored
    settings = Settings()
    assert settings.db.url == f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert settings.log_level == "DEBUG"


def test_relative_paths_resolve_against_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONTENT__QUESTIONNAIRES_DIR", "mine/questionnaires")
    settings = Settings()
    assert settings.db.url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'otklik.db'}"
    assert settings.content.questionnaires_dir == tmp_path / "mine" / "questionnaires"
    assert settings.content.catalog_path.is_absolute()  # the shipped default stays
    assert data_folder() == tmp_path / "data"


def test_home_defaults_to_the_project_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTKLIK_HOME")
    assert home() == PROJECT_DIR and (PROJECT_DIR / "README.md").is_file()
    assert Settings().db.url == f"sqlite+aiosqlite:///{PROJECT_DIR / 'data' / 'otklik.db'}"


@pytest.mark.parametrize(
    ("value", "ids"),
    [("123,456", [123, 456]), ("123456", [123456]), ("[1, 2]", [1, 2]), (" 7 , 8 ", [7, 8]),
     ("", [])],
)  # fmt: skip
def test_officer_ids_accept_commas_one_id_or_a_json_list(
    monkeypatch: pytest.MonkeyPatch, value: str, ids: list[int]
) -> None:
    monkeypatch.setenv("BOT__OFFICER_IDS", value)
    assert Settings().bot.officer_ids == ids


def test_officer_ids_from_the_dotenv_file_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT__OFFICER_IDS=11,22\n")
    assert Settings().bot.officer_ids == [11, 22]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("BOT__OFFICER_IDS", "123,abc", "item 2: Input should be a valid integer"),
        ("BOT__OFFICER_IDS", "[1,", "not a valid list"),
        ("BOT__OFFICER_IDS", "-5", "item 1: Input should be greater than 0"),
        ("BODY__TIMEZONE", "Moscow", "did you mean Europe/Moscow?"),
        ("DB__URL", "mysql://root@db/otklik", "the driver 'mysql' is not supported"),
        ("DB__URL", "nonsense", "not a database URL"),
        ("LOG_LEVEL", "loud", "unknown log level"),
        ("BOT__PROXY", "127.0.0.1:1080", "not a proxy URL"),
        ("REPORTS__DIGEST_CRON", "every monday", "not a crontab expression"),
        ("FSM__TTL_DAYS", "0", "greater than or equal to 1"),
    ],
)
def test_every_settings_mistake_names_the_variable_the_problem_and_an_example(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    line = _problem_of(monkeypatch, variable, value)
    assert line.startswith(f"setting {variable}: ")
    assert words in line
    assert f"; example: {variable}=" in line
    assert "\n" not in line


def test_a_short_pepper_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    line = _problem_of(monkeypatch, "PRIVACY__PEPPER", "tooshort-secret")
    assert "PRIVACY__PEPPER" in line and "15 bytes long, at least 16" in line
    assert "tooshort-secret" not in line


def test_a_database_password_is_masked_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    line = _problem_of(monkeypatch, "DB__URL", "mysql://root:hunter2@db/otklik")
    assert "hunter2" not in line and "root:***@db" in line


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("postgres://u:p@db:5432/otklik", "postgresql+asyncpg://u:p@db:5432/otklik"),
        ("postgresql://u:p@db/otklik", "postgresql+asyncpg://u:p@db/otklik"),
        ("postgresql+asyncpg://u:p@db/otklik", "postgresql+asyncpg://u:p@db/otklik"),
        ("sqlite:////srv/otklik.db", "sqlite+aiosqlite:////srv/otklik.db"),
    ],
)
def test_common_database_url_spellings_are_accepted(
    monkeypatch: pytest.MonkeyPatch, given: str, meant: str
) -> None:
    monkeypatch.setenv("DB__URL", given)
    assert Settings().db.url == meant


def test_examples_come_from_the_fields_or_their_defaults() -> None:
    assert example_of("BOT__OFFICER_IDS") == "123456789,987654321"
    assert example_of("FSM__TTL_DAYS") == "7"
    assert example_of("NOPE__NOTHING") is None


def test_unknown_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BODY__TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings()


def test_the_generated_pepper_goes_to_the_home_secrets_folder(tmp_path: Path) -> None:
    ensure_pepper(Settings())
    assert (tmp_path / "secrets" / "pepper.key").is_file()
    assert not (Path.cwd() / "secrets").exists()


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
    monkeypatch.setenv("PRIVACY__PEPPER", "from-env-0123456789")
    assert ensure_pepper(Settings(), tmp_path).get_secret_value() == "from-env-0123456789"
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


def test_max_front_is_off_until_its_token_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 13: MAX__TOKEN, MAX__API_BASE_URL, MAX__BOT_NAME; an empty token is no token.
    monkeypatch.setenv("MAX__TOKEN", "")
    settings = Settings()
    assert settings.max.token is None
    assert settings.max.api_base_url == "https://platform-api2.max.ru"
    monkeypatch.setenv("MAX__TOKEN", "max-secret-token")
    monkeypatch.setenv("MAX__API_BASE_URL", "http://127.0.0.1:8082/")
    monkeypatch.setenv("MAX__BOT_NAME", "otklik_bot")
    settings = Settings()
    assert settings.max.token is not None
    assert settings.max.token.get_secret_value() == "max-secret-token"
    assert "max-secret-token" not in repr(settings)
    assert settings.max.api_base_url == "http://127.0.0.1:8082"
    assert settings.max.bot_name == "otklik_bot"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX__API_BASE_URL", "platform-api.max.ru"),
        ("MAX__POLL_TIMEOUT", "91"),
        ("MAX__BOT_NAME", "@otklik bot"),
    ],
)
def test_max_settings_out_of_bounds_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    assert variable in _problem_of(monkeypatch, variable, value)


def test_web_answers_count_apart_unless_the_body_pools_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REPORTS__POOL_WEB_WITH_MESSENGERS reaches every plan of the process through the one
    disclosure policy (docs/anonymity.md, "Fake web respondents"); off by default."""
    from bot.policies import disclosure_policy
    from reports.disclosure import pool_web_with_messengers, web_pooled

    try:
        pool_web_with_messengers(True)
        disclosure_policy(Settings())
        assert web_pooled() is False
        monkeypatch.setenv("REPORTS__POOL_WEB_WITH_MESSENGERS", "true")
        disclosure_policy(Settings())
        assert web_pooled() is True
    finally:
        pool_web_with_messengers(False)
