"""The real `python -m bot run` process against the Bot API emulator: dialogs, crash, anonymity."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.botapi.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import (
    BotLauncher,
    press,
    read_rows,
    wait_for_button,
    wait_for_message,
)

pytestmark = pytest.mark.e2e

LINK = "/start licensing_office"
THANKS_RU = "Спасибо! Обобщённые результаты"


def answer_cells(db_path: Path) -> set[tuple[object, ...]]:
    return {
        (row["question_id"], row["option_id"], row["number"], row["text"])
        for row in read_rows(db_path, "answers")
    }


def assert_clean_log(log: str) -> None:
    assert "Traceback" not in log, log
    assert " ERROR " not in log and " CRITICAL " not in log, log


# ---- 1. the whole dialog through the real process ---------------------------------------------


async def test_deep_link_dialog_end_to_end_stores_one_response(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    bot = await launcher.start()
    anna = api.user(7770000101, "Анна", username="anna_e2e", language_code="ru")
    comment = "Долго ждала ответа из управления <и> «кавычки» & всё"

    await anna.send_text(LINK)
    first = await wait_for_message(anna, "Вопрос 1 из")
    _start, intro, dialog = api.history(anna.id)
    assert "Лицензирование" in (intro.text or "") and dialog.message_id == first.message_id
    assert [b["text"] for b in first.buttons][:5] == ["1", "2", "3", "4", "5"]

    await press(anna, "2", "Ваш вопрос решён?")
    back = await press(anna, "← Назад", "Вопрос 1 из")
    assert "• 2 •" in [b["text"] for b in back.buttons]  # the earlier answer is shown
    await press(anna, "3", "Ваш вопрос решён?")
    await press(anna, "Нет", "Что помешало?")
    await anna.click("Долго ждать результата")
    await wait_for_button(anna, "☑️ Долго ждать результата")
    await anna.click("Невежливые сотрудники")
    await wait_for_button(anna, "☑️ Невежливые сотрудники")
    contacts = await press(anna, "Готово", "Сколько раз вы обращались")
    step = await press(anna, "2", "Что пошло не так?")  # overall 3: the "what went wrong" text
    # Every button press edited the one dialog message in place.
    assert contacts.message_id == step.message_id == first.message_id
    await anna.send_text(comment)

    thanks = await wait_for_message(anna, THANKS_RU)
    assert thanks.message_id > first.message_id  # a typed answer moves the dialog down
    assert [b["text"] for b in thanks.buttons] == [
        "Да, сообщите мне",
        # Issue 11 item 3: the rated service's own news, a separate choice.
        "Сообщать, что изменилось по услуге "
        "«Лицензирование деятельности по управлению многоквартирными домами»",
        "Нет, спасибо",
    ]
    by_id = {message.message_id: message for message in api.history(anna.id)}
    assert by_id[first.message_id].buttons == []  # only one live keyboard remains

    [response] = read_rows(launcher.db_path, "responses")
    assert (response["service_code"], response["channel_code"]) == ("licensing", "office")
    assert response["questionnaire_id"] == "post_service"
    assert response["life_situation_code"] is None
    assert answer_cells(launcher.db_path) == {
        ("overall", None, 3, None),
        ("solved", "no", None, None),
        ("obstacles", "result_time", None, None),
        ("obstacles", "impolite_staff", None, None),
        ("contacts", "two", None, None),
        ("comment", None, None, comment),
    }
    assert {row["response_id"] for row in read_rows(launcher.db_path, "answers")} == {
        response["id"]
    }
    assert read_rows(launcher.db_path, "fsm_states") == []  # forgotten once stored
    # The ballot-stuffing guard keeps its keys in memory only (issue 8); the one key is the
    # completed dialog's (a keyed hash of its random id, so a repeated completion is not
    # stored twice).
    assert [row["scope"] for row in read_rows(launcher.db_path, "dedup_keys")] == ["completed"]

    await press(anna, "Нет, спасибо", "Хорошо. Спасибо за отзыв!")
    assert read_rows(launcher.db_path, "opt_ins") == []
    assert await bot.stop() == 0  # SIGTERM ends polling cleanly
    assert_clean_log(bot.log_text())


# ---- 2. a crash in the middle of a dialog ------------------------------------------------------


async def test_dialog_survives_a_crash_and_continues_on_the_same_message(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    first = await launcher.start()
    boris = api.user(7770000202, "Борис", language_code="ru")
    await boris.send_text(LINK)
    dialog = await wait_for_message(boris, "Вопрос 1 из")
    await press(boris, "2", "Ваш вопрос решён?")
    await press(boris, "Частично", "Что помешало?")

    await first.kill()  # SIGKILL right after the second answer was shown: a crash
    assert first.returncode == -signal.SIGKILL
    second = await launcher.start()

    # The person simply goes on pressing buttons of the message already on their screen.
    await boris.click("Долгое ожидание")
    await wait_for_button(boris, "☑️ Долгое ожидание в очереди или на линии")
    await press(boris, "Готово", "Сколько раз вы обращались")
    await press(boris, "4 и больше", "Что пошло не так?")
    await press(boris, "Пропустить", THANKS_RU)

    after_restart = api.requests[second.first_request :]
    edited = {c.params["message_id"] for c in after_restart if c.method == "editMessageText"}
    assert edited == {dialog.message_id}
    [response] = read_rows(launcher.db_path, "responses")
    assert (response["service_code"], response["channel_code"]) == ("licensing", "office")
    assert answer_cells(launcher.db_path) == {
        ("overall", None, 2, None),  # answered before the crash
        ("solved", "partly", None, None),  # answered before the crash
        ("obstacles", "queue", None, None),
        ("contacts", "four_plus", None, None),
    }
    assert read_rows(launcher.db_path, "fsm_states") == []
    log = second.log_text()
    assert "Stale dialog state dropped" not in log
    assert_clean_log(log)


# ---- 3. nothing in the database or the logs says who answered ----------------------------------


@dataclass(frozen=True)
class Probe:
    """A person with distinctive identifiers that must never be found at rest."""

    id: int
    username: str
    first_name: str
    last_name: str
    language: str

    def texts(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }

    def id_bytes(self) -> list[bytes]:
        # SQLite keeps integers as big-endian two's complement of 1-8 bytes (6 for these ids);
        # little-endian 8 bytes covers pickles and struct dumps.
        return [
            str(self.id).encode(),
            self.id.to_bytes(6, "big"),
            self.id.to_bytes(8, "big"),
            self.id.to_bytes(8, "little"),
        ]

    def other_bytes(self) -> dict[str, bytes]:
        texts = self.texts()
        return {name: texts[name].encode() for name in ("username", "first_name", "last_name")}

    def user(self, api: BotApiEmulator) -> EmulatedUser:
        return api.user(
            self.id,
            self.first_name,
            username=self.username,
            last_name=self.last_name,
            language_code=self.language,
        )


ALPHA = Probe(7770001234, "anon_probe_alpha", "Zyfirstalpha", "Qxlastalpha", "ru")
BETA = Probe(7770005678, "anon_probe_beta", "Zyfirstbeta", "Qxlastbeta", "en")
GAMMA = Probe(7770009012, "anon_probe_gamma", "Zyfirstgamma", "Qxlastgamma", "ru")  # opts in
PROBES = (ALPHA, BETA, GAMMA)
#: The one documented exception: opt_ins holds the chat id of whoever asked for news. That is
#: its purpose; it has no link to any answer (tests/storage/test_anonymity.py checks the schema).
#: The messenger beside it says whose id it is (Telegram or MAX, migration 0029).
OPT_IN_COLUMNS = {"messenger", "chat_id", "topic", "created_on"}


def scan_tables(db_path: Path) -> list[str]:
    """Every cell of every table, cast to text, searched for every probe's identifiers."""
    hits: list[str] = []
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            selected = ", ".join(f'CAST("{column}" AS TEXT)' for column in columns)
            for row in db.execute(f'SELECT {selected} FROM "{table}"'):
                for column, cell in zip(columns, row, strict=True):
                    for probe in PROBES:
                        for what, needle in probe.texts().items():
                            if cell is not None and needle in cell:
                                hits.append(f"{table}.{column} holds {what} of {probe.username}")
    return hits


def scan_files(folders: list[Path], probes: tuple[Probe, ...], with_ids: bool) -> list[str]:
    """Raw bytes of every file the bot wrote (database, -wal, -shm, data/), stale pages too."""
    hits: list[str] = []
    for path in sorted(p for folder in folders if folder.exists() for p in folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for probe in probes:
            needles = dict(probe.other_bytes())
            if with_ids:
                needles.update({f"id as {n!r}": n for n in probe.id_bytes()})
            hits += [f"{path.name} holds {what} of {probe.username}"
                     for what, needle in needles.items() if needle in data]  # fmt: skip
    return hits


def scan_log(log: str) -> list[str]:
    hits = []
    for number, line in enumerate(log.splitlines(), 1):
        for probe in PROBES:
            for what, needle in probe.texts().items():
                if needle in line:
                    hits.append(f"log line {number} holds {what} of {probe.username}: {line}")
    return hits


async def complete_dialog(api: BotApiEmulator, probe: Probe) -> EmulatedUser:
    """A whole post-service dialog; ends on the thank-you, opt-in not yet answered."""
    user = probe.user(api)
    await user.send_text(LINK)
    if probe.language == "en":
        await wait_for_message(user, "Question 1 of")
        await press(user, "2", "Has your issue been resolved?")
        await press(user, "No", "What got in the way?")
        await user.click("Long wait for the result")
        await wait_for_button(user, "☑️ Long wait for the result")
        await press(user, "Done", "How many times")
        await press(user, "3", "What went wrong?")
        await press(user, "Skip", "Thank you!")
        return user
    await wait_for_message(user, "Вопрос 1 из")
    await press(user, "5", "Ваш вопрос решён?")
    await press(user, "Да", "Сколько раз вы обращались")  # obstacles hidden after 5 and "yes"
    await press(user, "1", "Что вам понравилось")
    await user.send_text("Всё понравилось, спасибо")
    await wait_for_message(user, THANKS_RU)
    return user


async def test_database_files_and_debug_log_hold_no_user_ids_or_usernames(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    """Three people answer; no id, username or name of theirs is found at rest or in the log."""
    bot = await launcher.start(log_level="DEBUG")
    written = [launcher.db_path.parent, launcher.workdir / "cwd", launcher.workdir / "home"]

    # ALPHA (ru) and BETA (en) answer at the same time and both decline news.
    alpha, beta = await asyncio.gather(complete_dialog(api, ALPHA), complete_dialog(api, BETA))
    await press(alpha, "Нет, спасибо", "Хорошо. Спасибо за отзыв!")
    await press(beta, "No, thanks", "Fine. Thank you!")

    # GAMMA stops half-way: dialog state is in the database now and must be anonymous too.
    gamma = GAMMA.user(api)
    await gamma.send_text(LINK)
    await wait_for_message(gamma, "Вопрос 1 из")
    await press(gamma, "4", "Ваш вопрос решён?")
    await press(gamma, "Частично", "Что помешало?")
    assert len(read_rows(launcher.db_path, "fsm_states")) == 1
    mid_dialog = scan_tables(launcher.db_path)
    await gamma.click("Невежливые сотрудники")
    await wait_for_button(gamma, "☑️ Невежливые сотрудники")
    await press(gamma, "Готово", "Сколько раз вы обращались")
    await press(gamma, "3", "Что можно улучшить?")
    await gamma.send_text("Больше окон приёма")
    await wait_for_message(gamma, THANKS_RU)
    # Before GAMMA opts in, the raw files are checked for every id, GAMMA's included; after
    # it, GAMMA's id is legitimately in opt_ins, so later byte scans look for the others only.
    # (VACUUM before scanning would erase exactly the stale pages this scan is meant to read.)
    before_opt_in = scan_files(written, PROBES, with_ids=True)
    await press(gamma, "Да, сообщите мне", "сообщим об изменениях")

    while_running = scan_files(written, (ALPHA, BETA), with_ids=True)
    while_running += scan_files(written, (GAMMA,), with_ids=False)
    # The subscription waits in memory for a batch (issue 8); a graceful stop writes it.
    assert read_rows(launcher.db_path, "opt_ins") == []
    assert await bot.stop() == 0  # the graceful stop checkpoints the WAL into the database
    after_stop = scan_files(written, (ALPHA, BETA), with_ids=True)
    after_stop += scan_files(written, (GAMMA,), with_ids=False)

    assert len(read_rows(launcher.db_path, "responses")) == 3
    with contextlib.closing(sqlite3.connect(f"file:{launcher.db_path}?mode=ro", uri=True)) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert {"responses", "answers", "dedup_keys", "opt_ins", "fsm_states"} <= tables
    with contextlib.closing(sqlite3.connect(f"file:{launcher.db_path}?mode=ro", uri=True)) as db:
        columns = {row[1] for row in db.execute('PRAGMA table_info("opt_ins")')}
    assert columns == OPT_IN_COLUMNS
    [opt_in] = read_rows(launcher.db_path, "opt_ins")
    assert (opt_in["messenger"], opt_in["chat_id"], opt_in["topic"]) == (
        "telegram",
        GAMMA.id,
        "changes",
    )
    expected = f"opt_ins.chat_id holds id of {GAMMA.username}"
    at_rest = [hit for hit in scan_tables(launcher.db_path) if hit != expected]

    assert not mid_dialog, "\n".join(mid_dialog)
    assert not at_rest, "\n".join(at_rest)
    assert not before_opt_in, "\n".join(before_opt_in)
    assert not while_running, "\n".join(while_running)
    assert not after_stop, "\n".join(after_stop)
    log = bot.log_text()
    assert " DEBUG " in log  # the chattiest level really was on
    in_log = scan_log(log)
    assert not in_log, "\n".join(in_log)


def test_scanners_find_identifiers_planted_in_rows_stale_pages_and_logs(tmp_path: Path) -> None:
    """The scans above would catch a leak: a test of the test, no bot process needed."""
    db_path = tmp_path / "db" / "planted.db"
    db_path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE planted (n INTEGER, t TEXT)")
        db.execute("INSERT INTO planted VALUES (?, ?)", (ALPHA.id, BETA.username))
        db.execute("INSERT INTO planted VALUES (?, ?)", (GAMMA.id, "kept"))
        db.execute("DELETE FROM planted WHERE t = ?", (BETA.username,))
        # Open connection: the WAL still holds the deleted row's page images.
        assert scan_tables(db_path) == ["planted.n holds id of anon_probe_gamma"]
        in_files = scan_files([db_path.parent], (ALPHA, BETA), with_ids=True)
    # SQLite stores the deleted id as a 6-byte integer, never as decimal text: only the binary
    # needles find it.
    alpha = [hit for hit in in_files if ALPHA.username in hit]
    assert any("-wal holds id as" in hit for hit in alpha)
    assert all(str(ALPHA.id) not in hit for hit in alpha)
    assert any("-wal holds username of anon_probe_beta" in hit for hit in in_files)
    assert scan_log(f"x INFO y: chat {BETA.id}\nclean line") == [
        f"log line 1 holds id of anon_probe_beta: x INFO y: chat {BETA.id}"
    ]


# ---- 4. no token ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_missing_token_exits_2_and_explains_where_to_get_one(
    launcher: BotLauncher, token: str | None
) -> None:
    env = launcher.env()
    if token is None:
        del env["BOT__TOKEN"]
    else:
        env["BOT__TOKEN"] = token
    code, output = await launcher.run_to_exit(env)
    assert code == 2, output
    assert "@BotFather" in output and "BOT__TOKEN" in output
    assert "Traceback" not in output
    assert not launcher.db_path.exists()  # refused before touching anything


@pytest.mark.parametrize("token", ["not-a-token", "123456:REJECTED-BY-SERVER"])
async def test_bad_token_exits_2_and_explains_where_to_get_one(
    launcher: BotLauncher, token: str
) -> None:
    code, output = await launcher.run_to_exit(launcher.env(BOT__TOKEN=token))
    assert "Traceback" not in output, output
    assert code == 2, output
    assert "@BotFather" in output and "BOT__TOKEN" in output
