"""Officer screens in the officer's Telegram language (issue 12, item 2): English when it is
English, Russian otherwise; the report itself follows."""

from __future__ import annotations

from datetime import date

from aiogram.methods import SendDocument

from tests.bot.conftest import OFFICER_ID, World
from tests.bot.test_officer import _seed

LAST_WEEK_DAY = date(2026, 11, 18)  # the clock says 2026-11-23


async def test_an_english_officer_gets_the_choices_and_the_report_in_english(
    world: World,
) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], LAST_WEEK_DAY)
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/report")
    assert officer.last_text() == "Report: choose a period"
    await officer.click("Last week")
    assert officer.last_text() == "Choose a service"
    await officer.click("Licensing of apartment building management")
    texts = "\n".join(world.harness.texts(OFFICER_ID))
    assert "Last week: 16.11.2026–22.11.2026, Report: Licensing of apartment building" in texts
    assert "Overall" in texts and "Итого" not in texts
    assert "Лицензирование" not in texts


async def test_a_russian_officer_still_gets_russian(world: World) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], LAST_WEEK_DAY)
    officer = world.harness.person(OFFICER_ID, language="ru")
    await officer.send("/report")
    assert officer.last_text() == "Отчёт: выберите период"
    await officer.click("Прошлая неделя")
    await officer.click("Все услуги")
    assert "Отчёт по всем услугам" in "\n".join(world.harness.texts(OFFICER_ID))


async def test_an_english_officer_gets_range_refusals_and_captions_in_english(
    world: World,
) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], LAST_WEEK_DAY)
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/report 01.01.2026-15.01.2026")
    assert officer.last_text().startswith("A custom period must consist of whole")
    await officer.send("/export 01.11.2026–30.11.2026")
    assert officer.last_text().startswith("The period has not ended yet")
    await officer.send("/export 01.10.2026–31.10.2026")
    assert officer.last_text() == "Period 01.10.2026–31.10.2026: choose a service"
    await officer.click("All services")
    [document] = world.harness.sent(SendDocument)
    assert document.caption == "Answers and summary for 01.10.2026–31.10.2026"


async def test_a_stale_button_is_refused_in_the_officers_language(world: World) -> None:
    from handlers.officer import ReportPress

    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/report")
    mid, _, _ = officer.live_message()
    await officer.press_data(ReportPress(export=False, period="z").pack(), mid)  # no such period
    assert officer.alerts()[-1] == "This button is out of date"


async def test_an_english_officer_opens_and_closes_polls_and_issues_codes_in_english(
    world: World,
) -> None:
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/poll_close")
    assert officer.last_text() == "No polls are open."
    await officer.send("/poll_open")
    assert officer.last_text() == "Open a poll now (including an extra quarterly one):"
    await officer.click(officer.buttons()[0])
    [window] = await world.campaigns.open_windows("external")
    assert officer.last_text().startswith(f"The poll “{window.title.get('en')}” is open until")
    assert f"Link: https://t.me/otklik_test_bot?start=w{window.id}" in officer.last_text()
    await officer.send("/invite")
    assert officer.last_text() == "Whom are the codes for (1)? Choose a department:"
    await officer.send("/invite 0")
    assert officer.last_text().startswith("You can issue from 1 to")


async def test_an_english_officer_gets_the_comment_periods_in_english(world: World) -> None:
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/comments")
    assert officer.last_text() == "Comments by category: choose a period"
    assert "Last month" in officer.buttons() and "Прошлый месяц" not in officer.buttons()


async def test_an_english_officers_export_is_an_english_workbook(world: World) -> None:
    import io

    from openpyxl import load_workbook

    from bot.content import load_content
    from bot.settings import ContentSettings

    await _seed(world, [5, 5, 4, 2, 1, 4], date(2026, 10, 14))
    officer = world.harness.person(OFFICER_ID, language="en")
    await officer.send("/export")
    await officer.click("Last month")
    await officer.click("All services")
    [sent] = world.harness.sent(SendDocument)
    book = load_workbook(io.BytesIO(sent.document.data))
    assert book.sheetnames[:6] == [
        "Summary",
        "Services",
        "Channels",
        "Life situations",
        "Messengers",
        "Problems",
    ]
    header = next(book["Responses"].iter_rows(values_only=True))
    settings = ContentSettings()
    content = load_content(
        settings.questionnaires_dir, settings.catalog_path, settings.campaigns_path
    )
    solved = next(q for q in content.questionnaires["post_service"].questions if q.id == "solved")
    assert solved.text.en and solved.text.en in header  # the question in English
    assert "Overall score" in header and "Service" in header
    services = [row[0] for row in book["Services"].iter_rows(min_row=2, values_only=True)]
    assert "Licensing of apartment building management" in " ".join(map(str, services))
