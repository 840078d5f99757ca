"""The real `python -m bot run` process against the MAX Bot API emulator (issue 13): a rating
and a staff poll in MAX, Telegram and MAX in one process, a restart mid-dialog, and no MAX id,
username or name in any table, file or log line."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.composition import build_services
from bot.content import catalog_rows, load_content
from bot.settings import Settings
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async
from tests.botapi.emulator import BotApiEmulator
from tests.e2e.conftest import (
    PEPPER,
    READY_TIMEOUT_S,
    STEP_TIMEOUT_S,
    TEST_BUDGET_S,
    BotLauncher,
    BotProcess,
    read_rows,
    wait_for_message,
)
from tests.e2e.test_bot_process import Probe, scan_files
from tests.maxapi.emulator import MaxApiEmulator, MaxMessage, MaxUser

pytestmark = pytest.mark.e2e

MAX_TOKEN = "max-e2e-token-0123456789"
PAYLOAD = "licensing_office"
THANKS_RU = "Спасибо! Обобщённые результаты"
#: Two MAX people; the first has the same number as a Telegram user of the same test.
ANNA = Probe(4242, "max_probe_anna", "Zymaxanna", "Qxmaxanna", "ru")
BORIS = Probe(7771003456, "max_probe_boris", "Zymaxboris", "Qxmaxboris", "en")


#: MAX allows 2 GET /updates a second (max_front/polling.py): every step of a dialog waits for
#: the next poll, and these tests start the process twice or run a 17-question poll, so they
#: get three times the usual e2e budget.
MAX_TEST_BUDGET_S = 3 * TEST_BUDGET_S
#: A start on a machine shared by several test runs has taken 30 s (load average 10 on 2 cores).
START_TIMEOUT_S = 2 * READY_TIMEOUT_S


@pytest.fixture(autouse=True)
def e2e_budget() -> Iterator[None]:
    """Fail a MAX e2e test (setup and teardown included) that takes longer than its budget."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < MAX_TEST_BUDGET_S, f"e2e test took {elapsed:.1f}s"


@pytest.fixture
async def max_api() -> AsyncIterator[MaxApiEmulator]:
    async with MaxApiEmulator(MAX_TOKEN) as emulator:
        yield emulator


def max_env(
    launcher: BotLauncher, api: MaxApiEmulator, *, telegram: bool, **extra: str
) -> dict[str, str]:
    env = launcher.env(
        log_level="DEBUG",
        MAX__TOKEN=MAX_TOKEN,
        MAX__API_BASE_URL=api.base_url,
        MAX__POLL_TIMEOUT="2",
        **extra,
    )
    if not telegram:
        del env["BOT__TOKEN"]
    return env


async def start(
    launcher: BotLauncher, api: MaxApiEmulator, *, telegram: bool, **extra: str
) -> BotProcess:
    first = len(api.calls)
    bot = await launcher.spawn(max_env(launcher, api, telegram=telegram, **extra))
    await until(
        lambda: any(call.path == "/updates" for call in api.calls[first:]),
        bot,
        timeout=START_TIMEOUT_S,
        what="the first MAX GET /updates",
    )
    return bot


async def until(
    done: Callable[[], object],
    bot: BotProcess,
    *,
    timeout: float = STEP_TIMEOUT_S,  # noqa: ASYNC109
    what: str = "",
    detail: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if bot.returncode is not None:
            pytest.fail(f"bot exited with {bot.returncode}:\n{bot.log_text()[-5000:]}")
        if time.monotonic() > deadline:
            shown = detail() if detail is not None else ""
            pytest.fail(f"timed out waiting for {what}:\n{bot.log_text()[-5000:]}\n{shown}")
        await asyncio.sleep(0.02)


async def said(user: MaxUser, bot: BotProcess, fragment: str) -> MaxMessage:
    """The bot's latest message to `user`, once it contains `fragment`."""

    def found() -> bool:
        bot_messages = [m for m in user.api.history(user.id) if m.from_bot]
        return bool(bot_messages) and fragment in bot_messages[-1].text

    def shown() -> str:
        return "\n---\n".join(m.text for m in user.api.history(user.id)[-4:])

    await until(found, bot, what=repr(fragment), detail=shown)
    return user.last()


async def click(user: MaxUser, bot: BotProcess, label: str) -> None:
    """Press a button and wait for its one answer (the edit in place comes with it)."""
    callback = user.click(label)
    await until(lambda: user.api.answers.get(callback), bot, what=f"the answer to {label!r}")


async def type_text(user: MaxUser, bot: BotProcess, text: str) -> None:
    before = len([m for m in user.api.history(user.id) if m.from_bot])
    user.send(text)
    await until(
        lambda: len([m for m in user.api.history(user.id) if m.from_bot]) > before,
        bot,
        what=f"a reply to {text!r}",
    )


def max_user(api: MaxApiEmulator, probe: Probe) -> MaxUser:
    locale = "en-US" if probe.language == "en" else "ru"
    return api.user(probe.id, probe.first_name, username=probe.username, locale=locale)


def _needles(probe: Probe) -> dict[str, re.Pattern[str]]:
    """Each identifier as a whole token: 4242 inside a hex digest is no hit, 4242 in JSON is."""
    texts = {**probe.texts(), "chat id": str(probe.id + 1)}
    return {
        what: re.compile(rf"(?<![0-9A-Za-z_]){re.escape(text)}(?![0-9A-Za-z_])")
        for what, text in texts.items()
    }


def scan_tables(db_path: Path, probes: tuple[Probe, ...]) -> list[str]:
    """Every cell of every table, as text, searched for every probe's identifiers."""
    hits: list[str] = []
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            selected = ", ".join(f'CAST("{column}" AS TEXT)' for column in columns)
            for row in db.execute(f'SELECT {selected} FROM "{table}"'):
                for column, cell in zip(columns, row, strict=True):
                    for probe in probes:
                        for what, needle in _needles(probe).items():
                            if cell is not None and needle.search(cell):
                                hits.append(f"{table}.{column} holds {what} of {probe.username}")
    return hits


def scan_log(log: str, probes: tuple[Probe, ...]) -> list[str]:
    return [
        f"log line {number} holds {what} of {probe.username}: {line}"
        for number, line in enumerate(log.splitlines(), 1)
        for probe in probes
        for what, needle in _needles(probe).items()
        if needle.search(line)
    ]


async def complete_rating(user: MaxUser, bot: BotProcess) -> None:
    """The post-service rating from a start link to its thank-you."""
    user.start(PAYLOAD)
    first = await said(user, bot, "Вопрос 1 из")
    assert [b["text"] for b in first.buttons][:5] == ["1", "2", "3", "4", "5"]
    await click(user, bot, "5")
    step = await said(user, bot, "Ваш вопрос решён?")
    assert step.mid == first.mid  # edited in place
    await click(user, bot, "Да")
    await said(user, bot, "Сколько раз вы обращались")
    await click(user, bot, "1")
    await said(user, bot, "Что вам понравилось")
    await type_text(user, bot, "Всё понравилось, спасибо")
    await said(user, bot, THANKS_RU)


# ---- 1. Telegram and MAX in one process; a rating each; a restart mid-dialog --------------


async def test_max_rating_beside_telegram_survives_a_restart_and_leaves_no_max_ids(
    api: BotApiEmulator, max_api: MaxApiEmulator, launcher: BotLauncher
) -> None:
    bot = await start(launcher, max_api, telegram=True)
    anna = max_user(max_api, ANNA)

    # Telegram user 4242 rates the same service the same day: a different person.
    telegram = api.user(ANNA.id, "Telegram", username="tg_same_number", language_code="ru")
    await telegram.send_text(f"/start {PAYLOAD}")
    await wait_for_message(telegram, "Вопрос 1 из")
    await complete_rating(anna, bot)
    assert len(read_rows(launcher.db_path, "responses")) == 1
    await telegram.click("4")
    await wait_for_message(telegram, "Ваш вопрос решён?")

    # BORIS (English) is killed mid-dialog, then goes on with the same message's buttons.
    boris = max_user(max_api, BORIS)
    boris.start(PAYLOAD)
    first = await said(boris, bot, "Question 1 of")
    await click(boris, bot, "2")
    await said(boris, bot, "Has your issue been resolved?")
    await until(lambda: max_api.confirmed == len(max_api.updates), bot, what="the marker")
    await bot.kill()
    bot = await start(launcher, max_api, telegram=True)
    await click(boris, bot, "No")
    step = await said(boris, bot, "What got in the way?")
    assert step.mid == first.mid
    await click(boris, bot, "▫️ Long wait for the result")
    ticked = "☑️ Long wait for the result"
    await until(lambda: ticked in [b["text"] for b in boris.last().buttons], bot, what=ticked)
    await click(boris, bot, "Done")
    await said(boris, bot, "How many times")
    await click(boris, bot, "3")
    await said(boris, bot, "What went wrong?")
    await click(boris, bot, "Skip")
    await said(boris, bot, "Thank you!")
    await click(boris, bot, "No, thanks")  # Boris declines: nothing of his is kept
    await said(boris, bot, "Fine. Thank you!")
    # Anna, after the restart (a kill loses subscriptions still waiting for their batch), asks
    # to hear what changes: her MAX chat, as MAX's, apart from her answers.
    await click(anna, bot, "Да, сообщите мне")
    await said(anna, bot, "Хорошо, мы сообщим об изменениях")

    # A forged button and a sticker are answered, each once.
    forged = boris.press(boris.last(), "q:zzzzzz:1:r:5")
    boris.send("", [{"type": "sticker", "payload": {"code": "x", "url": "https://x"}}])
    await until(lambda: max_api.answers.get(forged), bot, what="the forged press's answer")
    await said(boris, bot, "")
    assert all(count == 1 for count in max_api.answers.values()), max_api.answers

    assert await bot.stop() == 0
    responses = read_rows(launcher.db_path, "responses")
    assert len(responses) == 2
    assert {r["service_code"] for r in responses} == {"licensing"}
    probes = (ANNA, BORIS)
    written = [launcher.db_path.parent, launcher.workdir / "cwd", launcher.workdir / "home"]
    # The one place a MAX user id may be: the subscription Anna asked for (issue 13), with
    # its messenger beside it and nothing of her answers.
    [opt_in] = read_rows(launcher.db_path, "opt_ins")
    assert (opt_in["messenger"], opt_in["chat_id"], opt_in["topic"]) == ("max", ANNA.id, "changes")
    subscribed = f"opt_ins.chat_id holds id of {ANNA.username}"
    at_rest = [hit for hit in scan_tables(launcher.db_path, probes) if hit != subscribed]
    in_files = scan_files(written, (BORIS,), with_ids=True) + scan_files(
        written, (ANNA,), with_ids=False
    )
    in_log = [hit for p in launcher.processes for hit in scan_log(p.log_text(), probes)]
    assert not at_rest, "\n".join(at_rest)
    assert not in_files, "\n".join(in_files)
    assert not in_log, "\n".join(in_log)
    assert all("Authorization" not in call.query for call in max_api.calls)


# ---- 2. MAX alone: staff /join and a staff poll window ---------------------------------------


async def seed_staff_window(db_path: Path) -> tuple[int, str]:
    """An open staff window and one invite code, made by the project's own services."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{db_path}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        settings = Settings(db={"url": url})
        content = load_content(
            settings.content.questionnaires_dir,
            settings.content.catalog_path,
            settings.content.campaigns_path,
        )
        await CatalogStore(sessions).sync(*catalog_rows(content.catalog))
        services = build_services(settings, content, sessions=sessions, pepper=PEPPER.encode())
        window = await services.campaigns.open_now("staff")
        [code] = await services.campaigns.enrolment.create_invite_codes("licensing", 1)
        return window.id, code
    finally:
        await engine.dispose()


async def answer_anything(user: MaxUser, bot: BotProcess, outro: str) -> int:
    """Answer every question with its first option or a short text, until `outro`."""
    for asked in range(60):
        message = user.last()
        if outro in message.text:
            return asked
        labels = [b["text"] for b in message.buttons]
        options = [label for label in labels if not label.startswith(("← Назад", "Пропустить"))]
        if not options:  # a text question (perhaps with Back and Skip)
            await type_text(user, bot, "Нужно больше оборудования")
        elif any(label.startswith("Готово") for label in options):
            await click(user, bot, options[0])
            await click(user, bot, "Готово")
        else:
            await click(user, bot, options[0])
    raise AssertionError(f"the poll did not end: {user.last().text!r}")


async def test_max_alone_staff_member_joins_and_completes_the_staff_poll(
    max_api: MaxApiEmulator, launcher: BotLauncher
) -> None:
    window, code = await seed_staff_window(launcher.db_path)
    bot = await start(launcher, max_api, telegram=False)
    anna = max_user(max_api, ANNA)

    anna.start(f"w{window}")
    await said(anna, bot, "")  # not enrolled yet: refused, nothing started
    assert not anna.last().buttons
    anna.send(f"/join {code}")
    await said(anna, bot, "Готово: вы участвуете")
    anna.send("/polls")
    polls = await said(anna, bot, "Открытые опросы")
    [poll] = [b["text"] for b in polls.buttons if "Ежегодный опрос сотрудников" in b["text"]]
    await click(anna, bot, poll)
    await said(anna, bot, "Вопрос 1 из")
    asked = await answer_anything(anna, bot, "Спасибо! Обобщённые результаты опроса")
    assert asked > 5
    assert not anna.last().buttons  # staff hear of changes inside the body: no news offer
    assert await bot.stop() == 0

    [row] = [r for r in read_rows(launcher.db_path, "responses") if r["window_id"] == window]
    assert row["questionnaire_id"] == "staff"
    at_rest = scan_tables(launcher.db_path, (ANNA,))
    in_log = scan_log(bot.log_text(), (ANNA,))
    assert not at_rest, "\n".join(at_rest)
    assert not in_log, "\n".join(in_log)


# ---- 3. A MAX officer's commands in the real process (the composition root wires them) ----


async def test_max_officer_gets_their_help_and_issues_invite_codes_in_max(
    max_api: MaxApiEmulator, launcher: BotLauncher
) -> None:
    bot = await start(launcher, max_api, telegram=False, MAX__OFFICER_IDS=str(ANNA.id))
    anna = max_user(max_api, ANNA)
    anna.send("/help")
    await said(anna, bot, "/poll_open — ")
    anna.send("/invite 1")
    choose = await said(anna, bot, "Выберите подразделение")
    await click(anna, bot, choose.buttons[0]["text"])
    await said(anna, bot, "Одноразовые коды")
    assert await bot.stop() == 0
