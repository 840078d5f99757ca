"""Officers' languages (issue 12, item 2): learned from the language Telegram reports with each
officer command, overridden by /language ru|en (which sticks), named in the officers' /help;
a citizen's commands, /language among them, write nothing."""

from __future__ import annotations

from sqlalchemy import text

from questionnaires.schema import Language
from storage.officer_languages import OfficerLanguageStore
from tests.bot.conftest import INTERNAL_OFFICER_ID, OFFICER_ID, World

CITIZEN_ID = 700700


async def _rows(world: World) -> list[tuple[str, int, str, bool]]:
    async with world.sessions() as session:
        result = await session.execute(
            text("SELECT messenger, chat_id, language, chosen FROM officer_languages")
        )
        return [(m, c, language, bool(chosen)) for m, c, language, chosen in result]


async def test_an_officers_command_teaches_their_telegram_language(world: World) -> None:
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/help")
    assert await _rows(world) == [("telegram", OFFICER_ID, "en", False)]
    assert await world.services.officer_languages.of(OFFICER_ID) == Language.EN
    # Telegram switched to Russian: the next command says so.
    await world.harness.person(OFFICER_ID, language="ru").send("/report")
    assert await _rows(world) == [("telegram", OFFICER_ID, "ru", False)]


async def test_language_command_overrides_and_sticks(world: World) -> None:
    officer = world.harness.person(INTERNAL_OFFICER_ID, language="ru")
    await officer.send("/language en")
    assert officer.last_text() == (
        "Done: your reports and scheduled deliveries now come in English."
    )
    # Their Telegram is still Russian, and says so with every command: the choice stands.
    await officer.send("/report")
    await officer.send("/help")
    assert await _rows(world) == [("telegram", INTERNAL_OFFICER_ID, "en", True)]
    await officer.send("/language")
    assert "Язык ваших отчётов и плановых рассылок: en" in officer.last_text()
    await officer.send("/language ru")
    assert officer.last_text().startswith("Готово")
    assert await _rows(world) == [("telegram", INTERNAL_OFFICER_ID, "ru", True)]


async def test_a_citizens_commands_write_nothing(world: World) -> None:
    citizen = world.harness.person(CITIZEN_ID, language="en")
    for command in ("/start", "/help", "/language en", "/report", "/polls", "/whoami"):
        await citizen.send(command)
    # /language is no command of theirs: the fallback says so.
    assert await _rows(world) == []
    assert await OfficerLanguageStore(world.sessions).languages([CITIZEN_ID]) == {}
    assert await world.services.officer_languages.choose(CITIZEN_ID, Language.EN) is False
    await world.services.officer_languages.heard(CITIZEN_ID, "en")
    assert await _rows(world) == []


async def test_only_officers_help_names_the_language_command(world: World) -> None:
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/help")
    assert "/language ru|en" in officer.last_text()
    citizen = world.harness.person(CITIZEN_ID, language="en")
    await citizen.send("/help")
    assert "/language" not in citizen.last_text()


async def test_a_dispatcher_without_the_officers_languages_still_answers(world: World) -> None:
    # A dispatcher built without the service (some tests, tools): nobody is an officer to
    # /language, and the officer's other commands are not disturbed by its check.
    from tests.bot.test_signals import _setup

    harness = _setup(world).harness
    officer = harness.person(OFFICER_ID, language="en")
    await officer.send("/language en")
    assert officer.last_text() == "There is no such command. Commands: /help"
    await officer.send("/help")
    assert "/language" not in officer.last_text()
    assert await _rows(world) == []
