"""The schema itself keeps respondents anonymous: no identity columns, no link to opt-ins."""

from __future__ import annotations

import re

from sqlalchemy import Date, DateTime, Table

from storage.registry import Base

#: Column names that point at a Telegram identity (or any personal handle).
IDENTITY_PATTERN = re.compile(
    r"user|chat|telegram|(^|_)tg(_|$)|username|phone|first_name|last_name|full_name|nick"
)
#: The only places a Telegram id may live, each for a stated reason.
ALLOWED_IDENTITY_COLUMNS = {
    "opt_ins.chat_id",  # the person asked to be told about changes, apart from any answer
    # The person asked for one service's news with its own button: no date, no answer
    # (issue 11 item 3, docs/anonymity.md).
    "service_news.chat_id",
    "services.officer_telegram_id",  # a responsible officer, staff, not a respondent
    # Recipients of an invitation (all who opted in, answered or not): no answer content, no
    # link to responses; the rows are the outbox of one broadcast.
    "broadcast_outbox.chat_id",
    # A configured officer's chat and the language of their deliveries (issue 12); nobody
    # else is ever written (tests/officer_languages/), no date, no link to answers.
    "officer_languages.chat_id",
}
ANSWER_TABLES = ("responses", "answers")


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def test_no_column_outside_the_allow_list_suggests_a_telegram_identity() -> None:
    suspicious = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if IDENTITY_PATTERN.search(column.name.lower())
    }
    assert suspicious == ALLOWED_IDENTITY_COLUMNS


def test_no_table_name_suggests_a_telegram_identity_except_opt_ins() -> None:
    assert [name for name in Base.metadata.tables if IDENTITY_PATTERN.search(name)] == []


def test_responses_and_answers_lead_nowhere_near_opt_ins() -> None:
    for name in ANSWER_TABLES:
        table = _table(name)
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert targets <= {"responses"}, f"{name} references {targets}"
        assert not [c.name for c in table.columns if re.search(r"opt_?in|subscri", c.name.lower())]
    # …and nothing leads from opt-ins (or a service's news) back to the answers either.
    for subscriptions in ("opt_ins", "service_news"):
        assert not _table(subscriptions).foreign_keys
        for table in Base.metadata.tables.values():
            assert all(fk.column.table.name != subscriptions for fk in table.foreign_keys)


def test_a_subscribers_chat_id_is_always_read_with_its_messenger() -> None:
    # Issue 13: a MAX user id and a Telegram chat id may be the same number; the messenger is
    # part of the key, so neither can be taken for the other, and nothing else joins them.
    for subscriptions in ("opt_ins", "service_news"):
        key = [column.name for column in _table(subscriptions).primary_key.columns]
        assert key[:2] == ["messenger", "chat_id"], subscriptions
        messenger = _table(subscriptions).c.messenger
        assert not messenger.nullable and messenger.server_default is None


def test_responses_do_not_reference_the_catalog() -> None:
    # A service removed from the catalog must not break or rewrite history.
    assert {fk.column.table.name for fk in _table("responses").foreign_keys} == set()


def test_responses_keep_a_day_never_a_moment() -> None:
    for name in ANSWER_TABLES:
        for column in _table(name).columns:
            assert not isinstance(column.type, DateTime), f"{name}.{column.name} has a time"
    assert isinstance(_table("responses").c.submitted_on.type, Date)


def test_responses_hold_only_the_agreed_columns() -> None:
    # A new column here needs a conscious decision about anonymity, not just a migration.
    assert set(_table("responses").columns.keys()) == {
        "id",
        "questionnaire_id",
        "questionnaire_version",
        "kind",
        "audience",
        "service_code",
        "channel_code",
        "life_situation_code",
        "submitted_on",
        # The poll window (a campaign's days, shared by everyone who answered in it) and a
        # staff member's coarse department from enrollment; reports hide small groups.
        "window_id",
        "department",
        # Issue 13: the messenger (telegram, max, web), a property of the response like its
        # channel; its groups pass the same disclosure plan (docs/anonymity.md, "The
        # messenger (front) of a response").
        "front",
    }
    assert set(_table("answers").columns.keys()) == {
        "id",
        "response_id",
        "question_id",
        "option_id",
        "number",
        "text",
    }


def test_the_reports_copy_holds_only_the_agreed_columns() -> None:
    # The reports' copy of the answers (revision 0015): each answer, without its text, with its
    # response's context and day (and the coarser month and week piece). A new column here
    # needs a conscious decision about anonymity too.
    assert set(_table("report_answers").columns.keys()) == {
        "response_id",
        "id",
        "question_id",
        "option_id",
        "number",
        "questionnaire_id",
        "audience",
        "service_code",
        "channel_code",
        "life_situation_code",
        "front",
        "submitted_on",
        "month_on",
        "segment_on",
        "window_id",
        "department",
        # Revision 0030: whether the answer has a text (answers.text IS NOT NULL), never the
        # text; it says nothing the answer row it copies does not, and no order or time.
        "has_text",
        # Revision 0031 (issue 15 item 3): the response's overall score on each of its copies,
        # and whether it was set yet. The response's own overall answer row says as much; no
        # order, no time; the copy keeps its window_id, so window answers stay window-only.
        "overall_score",
        "scored",
    }


#: Tables whose row order would line rows up with people or with answers (docs/anonymity.md,
#: "Database reader and backups"): no rowid on SQLite, stored in the order of a random or keyed
#: primary key.
UNORDERED_TABLES = (
    "responses",
    "answers",
    "report_answers",
    "opt_ins",
    # Issue 11 item 3: a service's news follows a rating of that service by seconds.
    "service_news",
    "dedup_keys",
    "fsm_states",
    "initiative_queue",
    # Review: enrolment order and the order codes were made (migration 0016).
    "staff_members",
    "invite_codes",
)


def test_tables_that_would_order_people_have_no_rowid_on_sqlite() -> None:
    with_rowid = [
        name
        for name in UNORDERED_TABLES
        if _table(name).dialect_options["sqlite"].get("with_rowid", True)
    ]
    assert with_rowid == []


def test_no_table_that_holds_a_respondents_chat_keeps_their_language() -> None:
    # Issue 12, item 2 (docs/anonymity.md, «Вы сказали — мы сделали» to subscribers): an `en`
    # beside a subscriber's chat would pair it with the month's (or the service's) few
    # comments typed in English. Only officers' chats (configured, not anonymous) have one.
    for name in ("opt_ins", "service_news", "broadcast_outbox", "staff_members"):
        columns = {column.name.lower() for column in _table(name).columns}
        assert not {c for c in columns if re.search(r"lang|locale", c)}, name
