"""Sample appeals registers with known counts: `python -m tests.appeals.generate` rewrites
tests/fixtures/appeals/. The counts below are what the tests assert, by hand.

Every file carries columns with (invented) personal data and free text beside the mapped ones,
as real exports do: the import must never read them.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from openpyxl import Workbook

FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures" / "appeals"
HEADER: Final = (
    "№ п/п",
    "Регистрационный номер",
    "Дата регистрации",
    "ФИО заявителя",
    "Адрес",
    "Телефон",
    "Вид обращения",
    "Канал поступления",
    "Тематика",
    "Причина обращения",
    "Результат рассмотрения",
    "Услуга",
    "Жизненная ситуация",
    "Текст обращения",
)
PERSON: Final = (
    "Тестов Тест Тестович",
    "г. Пермь, ул. Примерная, д. 1, кв. 2",
    "+7 912 000-00-00",
)
FREE_TEXT: Final = "Прошу разобраться: сосед Петров П. П. затопил квартиру"

KIND_WORDS: Final = {"appeal": "Обращение", "complaint": "Жалоба", "suggestion": "Предложение"}
OUTCOME_WORDS: Final = {
    "satisfied": "Удовлетворено",
    "explained": "Разъяснено",
    "rejected": "Отказано",
    "in_progress": "На рассмотрении",
}
CHANNEL_WORDS: Final = {
    "gosuslugi": "Портал Госуслуг",
    "pos": "Платформа обратной связи",
    "email": "Электронная почта",
    "in_person": "Личный приём",
    "phone": "Телефон",
}
TOPIC_WORDS: Final = {
    "capital_repair": "Капитальный ремонт",
    "common_property": "Содержание общего имущества",
    "utility_bills": "Плата за коммунальные услуги",
    "management_company": "Управляющая организация",
}
REASON_WORDS: Final = {
    "deadline": "Нарушение сроков",
    "quality": "Некачественная услуга",
    "billing": "Неверное начисление платы",
    "inaction": "Бездействие управляющей организации",
    None: "",
}

# --- the known counts ---------------------------------------------------------------------
#: 3rd quarter of 2026 (the quarter the tests report on).
Q3_CHANNELS: Final = {"gosuslugi": 1000, "pos": 600, "email": 300, "in_person": 200, "phone": 100}
Q3_OUTCOMES: Final = {  # by kind
    "complaint": {"satisfied": 210, "rejected": 280, "explained": 140, "in_progress": 70},
    "appeal": {"explained": 1000, "satisfied": 200, "in_progress": 100},
    "suggestion": {"satisfied": 50, "explained": 150},
}
Q3_TOPICS: Final = {
    "capital_repair": 800,
    "common_property": 700,
    "utility_bills": 500,
    "management_company": 200,
}
Q3_REASONS: Final[dict[str | None, int]] = {
    "deadline": 900,
    "quality": 600,
    "billing": 400,
    "inaction": 200,
    None: 100,
}
#: 2nd quarter of 2026 (the trend's base).
Q2_CHANNELS: Final = {"gosuslugi": 500, "pos": 300}
Q2_OUTCOMES: Final = {
    "complaint": {"satisfied": 100, "rejected": 200, "explained": 100},
    "appeal": {"explained": 400},
}
Q2_TOPICS: Final = {"capital_repair": 800}
Q2_REASONS: Final[dict[str | None, int]] = {"deadline": 800}
#: October 2026: outside both quarters.
Q4_ROWS: Final = 50
#: Bad rows appended at the end of each file (row number, field).
BAD_ROWS: Final = ("date", "kind", "register_no")


@dataclass(frozen=True)
class Record:
    number: str
    day: date
    kind: str
    outcome: str
    channel: str
    topic: str
    reason: str | None


def _expand(counts: dict[str, int] | dict[str | None, int]) -> list[str | None]:
    return [code for code, count in counts.items() for _ in range(count)]


def _quarter(
    rng: random.Random,
    start: date,
    days: int,
    channels: dict[str, int],
    outcomes: dict[str, dict[str, int]],
    topics: dict[str, int],
    reasons: dict[str | None, int],
    prefix: str,
) -> list[Record]:
    pairs = [(kind, outcome) for kind, split in outcomes.items() for outcome in _expand(split)]
    columns = [_expand(channels), _expand(topics), _expand(reasons)]
    rng.shuffle(pairs)
    for column in columns:
        rng.shuffle(column)
    assert all(len(column) == len(pairs) for column in columns)
    return [
        Record(
            number=f"{prefix}-{index:05d}",
            day=start + timedelta(days=rng.randrange(days)),
            kind=kind,
            outcome=outcome,
            channel=str(channel),
            topic=str(topic),
            reason=reason,
        )
        for index, ((kind, outcome), channel, topic, reason) in enumerate(
            zip(pairs, *columns, strict=True), start=1
        )
    ]


def records(seed: int = 2026) -> list[Record]:
    rng = random.Random(seed)
    q3 = _quarter(rng, date(2026, 7, 1), 92, Q3_CHANNELS, Q3_OUTCOMES, Q3_TOPICS, Q3_REASONS, "Q3")
    q2 = _quarter(rng, date(2026, 4, 1), 91, Q2_CHANNELS, Q2_OUTCOMES, Q2_TOPICS, Q2_REASONS, "Q2")
    q4 = _quarter(
        rng,
        date(2026, 10, 1),
        31,
        {"phone": Q4_ROWS},
        {"complaint": {"rejected": Q4_ROWS}},
        {"utility_bills": Q4_ROWS},
        {"billing": Q4_ROWS},
        "Q4",
    )
    rows = q2 + q3 + q4
    rng.shuffle(rows)
    return rows


def _line(record: Record, index: int, iso: bool = False) -> list[object]:
    day: object = record.day.isoformat() if iso else record.day.strftime("%d.%m.%Y")
    return [
        index,
        record.number,
        day,
        *PERSON,
        KIND_WORDS[record.kind],
        CHANNEL_WORDS[record.channel],
        TOPIC_WORDS[record.topic],
        REASON_WORDS[record.reason],
        OUTCOME_WORDS[record.outcome],
        "",
        "",
        FREE_TEXT,
    ]


def _bad_lines(start: int) -> list[list[object]]:
    good = Record(
        "BAD-1", date(2026, 8, 1), "complaint", "satisfied", "pos", "capital_repair", None
    )
    lines = []
    for offset, field in enumerate(BAD_ROWS):
        line = _line(good, start + offset)
        line[1] = f"BAD-{offset + 1}"
        if field == "date":
            line[2] = "31.02.2026"
        elif field == "kind":
            line[6] = "Жалобища"
        else:
            line[1] = ""
        lines.append(line)
    return lines


def csv_bytes(
    rows: list[Record], *, encoding: str, delimiter: str, title: bool = False, bad: bool = True
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if title:
        writer.writerow(["Реестр обращений граждан за 2026 год"])
        writer.writerow([])
    writer.writerow(HEADER)
    for index, record in enumerate(rows, start=1):
        writer.writerow(_line(record, index))
    if bad:
        writer.writerows(_bad_lines(len(rows) + 1))
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[Record], *, bad: bool = True) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Инспекция государственного жилищного надзора"])
    sheet.append(["Реестр обращений граждан за 2026 год"])
    sheet.append([])
    sheet.append(list(HEADER))
    for index, record in enumerate(rows, start=1):
        line = _line(record, index)
        # Half the dates as real date cells, half as text: exports do both.
        if index % 2:
            line[2] = datetime(record.day.year, record.day.month, record.day.day)
        sheet.append(line)
    if bad:
        for line in _bad_lines(len(rows) + 1):
            sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Data rows start below the header: the CSV's header is line 1, the XLSX's row 4.
FIRST_DATA_ROW: Final = {"register_cp1251.csv": 2, "register_utf8.csv": 4, "register.xlsx": 5}


def write(folder: Path = FIXTURES) -> None:
    rows = records()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "register_cp1251.csv").write_bytes(csv_bytes(rows, encoding="cp1251", delimiter=";"))
    (folder / "register_utf8.csv").write_bytes(
        csv_bytes(rows, encoding="utf-8", delimiter=",", title=True)
    )
    (folder / "register.xlsx").write_bytes(xlsx_bytes(rows))


if __name__ == "__main__":
    write()
