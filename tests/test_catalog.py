"""Tests for the catalog of services, channels and life situations, and its defects."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from pydantic import ValidationError

from questionnaires.catalog import (
    CATALOG_FILE,
    MAX_CODE_LENGTH,
    MAX_PAYLOAD_LENGTH,
    PAYLOAD_SEPARATOR,
    Catalog,
    Channel,
    ChannelKind,
    LifeSituation,
    Service,
    ServiceGroup,
    load_catalog,
    parse_catalog,
)
from questionnaires.errors import Defect, DefinitionError, format_path
from questionnaires.loader import DEFINITIONS_DIR, load_questionnaire
from questionnaires.schema import MultiChoiceQuestion, SingleChoiceQuestion

PAYLOAD_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

VALID = """\
services:
  - code: appeals
    group: appeals
    title: {ru: Рассмотрение обращений, en: Handling appeals}
    life_situations: [buying]
channels:
  - code: site
    kind: online
    title: {ru: Сайт}
life_situations:
  - code: buying
    title: {ru: Покупка квартиры}
"""


def defects_of(text: str) -> list[Defect]:
    with pytest.raises(DefinitionError) as caught:
        parse_catalog(text, "catalog.yaml")
    return list(caught.value.defects)


def only(defects: list[Defect], path: str) -> Defect:
    found = [d for d in defects if format_path(d.path) == path]
    assert len(found) == 1, [str(d) for d in defects]
    return found[0]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG_FILE)


# --- the shipped catalog ------------------------------------------------------------------


def test_shipped_catalog_loads_with_every_group_and_channel_kind(catalog: Catalog) -> None:
    assert 6 <= len(catalog.services) <= 8
    assert 4 <= len(catalog.life_situations) <= 6
    assert {s.group for s in catalog.services} == set(ServiceGroup)
    assert {c.kind for c in catalog.channels} == set(ChannelKind)


def test_shipped_catalog_has_english_titles(catalog: Catalog) -> None:
    items: list[Service | Channel | LifeSituation] = [
        *catalog.services,
        *catalog.channels,
        *catalog.life_situations,
    ]
    assert all(item.title.en for item in items)


def test_shipped_catalog_names_no_real_officer(catalog: Catalog) -> None:
    # A made-up Telegram id would send summaries to a stranger.
    assert all(service.officer is None for service in catalog.services)


def test_every_deep_link_payload_of_shipped_catalog_fits_telegram(catalog: Catalog) -> None:
    payloads = []
    for service in catalog.services:
        for channel in catalog.channels:
            payloads.append(PAYLOAD_SEPARATOR.join((service.code, channel.code)))
            for situation in catalog.life_situations:
                payloads.append(
                    PAYLOAD_SEPARATOR.join((service.code, channel.code, situation.code))
                )
    assert payloads
    for payload in payloads:
        assert len(payload) <= MAX_PAYLOAD_LENGTH, payload
        assert set(payload) <= PAYLOAD_ALPHABET, payload


def test_longest_possible_codes_still_fit_one_payload() -> None:
    assert 3 * MAX_CODE_LENGTH + 2 * len(PAYLOAD_SEPARATOR) <= MAX_PAYLOAD_LENGTH


def test_payload_splits_back_into_its_codes(catalog: Catalog) -> None:
    for service, channel, situation in itertools.product(
        catalog.services, catalog.channels, catalog.life_situations
    ):
        payload = PAYLOAD_SEPARATOR.join((service.code, channel.code, situation.code))
        assert payload.split(PAYLOAD_SEPARATOR) == [service.code, channel.code, situation.code]


def test_lookups_return_items_or_none(catalog: Catalog) -> None:
    first = catalog.services[0]
    assert catalog.service(first.code) == first
    assert catalog.channel(catalog.channels[0].code) == catalog.channels[0]
    situation = catalog.life_situations[0]
    assert catalog.life_situation(situation.code) == situation
    assert catalog.service("nope") is None
    assert catalog.channel("nope") is None
    assert catalog.life_situation("nope") is None


def test_deep_poll_options_match_catalog_codes(catalog: Catalog) -> None:
    deep = load_questionnaire(DEFINITIONS_DIR / "deep_external.yaml")
    channels = deep.question("channels_used")
    situation = deep.question("situation")
    assert isinstance(channels, MultiChoiceQuestion)
    assert isinstance(situation, SingleChoiceQuestion)
    assert {o.id for o in channels.options} == {c.code for c in catalog.channels}
    assert {o.id for o in situation.options if not o.other} == {
        s.code for s in catalog.life_situations
    }


def test_load_catalog_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(VALID, encoding="utf-8")
    catalog = load_catalog(path)
    service = catalog.service("appeals")
    assert service is not None
    assert service.group is ServiceGroup.APPEALS
    assert service.life_situations == ("buying",)
    assert service.title.get("en") == "Handling appeals"


def test_missing_catalog_file_is_a_defect(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_catalog(tmp_path / "absent.yaml")
    assert "cannot read" in caught.value.defects[0].message


# --- broken catalogs ----------------------------------------------------------------------


def test_duplicate_code_is_reported_on_the_second_item() -> None:
    defects = defects_of(
        """\
services:
  - code: appeals
    group: appeals
    title: {ru: Обращения}
  - code: appeals
    group: control
    title: {ru: Проверки}
channels:
  - code: site
    kind: online
    title: {ru: Сайт}
  - code: site
    kind: online
    title: {ru: Сайт ещё раз}
"""
    )
    service = only(defects, "services[1].code")
    assert "duplicate code 'appeals'" in service.message
    assert service.hint is not None and "services[0]" in service.hint
    assert (service.line, service.column) == (5, 11)
    channel = only(defects, "channels[1].code")
    assert (channel.line, channel.column) == (12, 11)
    assert len(defects) == 2


def test_unknown_life_situation_hints_the_closest_code() -> None:
    defects = defects_of(VALID.replace("life_situations: [buying]", "life_situations: [buyng]"))
    defect = only(defects, "services[0].life_situations[0]")
    assert "unknown life situation 'buyng'" in defect.message
    assert defect.hint == "did you mean 'buying'?"
    assert defect.expected == "one of buying"
    assert (defect.line, defect.column) == (5, 23)


def test_same_life_situation_twice_in_one_service() -> None:
    defects = defects_of(VALID.replace("[buying]", "[buying, buying]"))
    defect = only(defects, "services[0].life_situations[1]")
    assert "listed twice" in defect.message
    assert defect.line == 5


@pytest.mark.parametrize(
    ("code", "words", "suggestion"),
    [
        ("buy_flat", "'_' separates codes", "buy-flat"),
        ("Appeals", "lowercase", "appeals"),
        ("a-code-much-longer-than-twenty", "at most 20", "a-code-much-longer-t"),
        ("site-", "inside", "site"),
        ("сайт", "latin", None),
    ],
)
def test_bad_code_pattern_is_explained(code: str, words: str, suggestion: str | None) -> None:
    defects = defects_of(VALID.replace("code: site", f"code: {code}"))
    defect = only(defects, "channels[0].code")
    assert f"'{code}' is not a valid code" in defect.message
    assert words in defect.message
    if suggestion:
        assert f"try '{suggestion}'" in defect.message
    assert (defect.line, defect.column) == (7, 11)


def test_bad_code_in_a_life_situation_reference_is_located() -> None:
    defects = defects_of(VALID.replace("[buying]", "[buying, Major_Repairs]"))
    defect = only(defects, "services[0].life_situations[1]")
    assert "try 'major-repairs'" in defect.message
    assert (defect.line, defect.column) == (5, 31)


def test_unknown_key_suggests_the_known_one() -> None:
    defects = defects_of(VALID.replace("life_situations: [buying]", "lifesituations: [buying]"))
    defect = only(defects, "services[0].lifesituations")
    assert defect.message == "unknown key 'lifesituations'"
    assert defect.hint == "did you mean 'life_situations'?"
    assert defect.expected is not None and "life_situations" in defect.expected
    assert (defect.line, defect.column) == (5, 5)


def test_unknown_key_in_a_title_suggests_en() -> None:
    defects = defects_of(VALID.replace("{ru: Сайт}", "{ru: Сайт, eng: Site}"))
    defect = only(defects, "channels[0].title.eng")
    assert defect.hint == "did you mean 'en'?"
    assert defect.line == 9


def test_missing_russian_title_is_reported() -> None:
    defects = defects_of(VALID.replace("{ru: Покупка квартиры}", "{en: Buying a flat}"))
    defect = only(defects, "life_situations[0].title.ru")
    assert "Russian text ('ru') is required" in defect.message
    assert defect.line == 12


def test_every_structural_defect_is_reported_at_once() -> None:
    defects = defects_of(
        """\
services:
  - code: Appeals
    group: apeals
    title: {en: Appeals}
    officer: "123"
channels:
  - code: site
    knd: online
    title: {ru: Сайт}
"""
    )
    paths = {format_path(d.path): d for d in defects}
    assert set(paths) >= {
        "services[0].code",
        "services[0].group",
        "services[0].title.ru",
        "services[0].officer",
        "channels[0].knd",
    }
    assert all(d.line is not None for d in defects)
    assert paths["services[0].officer"].line == 5
    assert paths["channels[0].knd"].hint == "did you mean 'kind'?"


def test_catalog_without_services_or_channels_is_refused() -> None:
    defects = defects_of("life_situations: []\n")
    assert {format_path(d.path) for d in defects} == {"services", "channels"}


def test_empty_catalog_file_is_a_defect() -> None:
    defects = defects_of("")
    assert defects[0].message == "the file is empty"


# --- departments --------------------------------------------------------------------------


def test_shipped_catalog_lists_departments_with_english_titles(catalog: Catalog) -> None:
    assert len(catalog.departments) >= 2
    assert all(department.title.en for department in catalog.departments)
    hr = catalog.department("hr")
    assert hr is not None and hr.title.ru == "Отдел кадров"
    assert catalog.department("nosuch") is None


def test_department_title_with_a_latin_look_alike_is_a_located_defect() -> None:
    # "Отдeл кадров" with a Latin e reads exactly like "Отдел кадров".
    defects = defects_of(
        VALID
        + """\
departments:
  - code: hr
    title: {ru: Отдел кадров}
  - code: hr-two
    title: {ru: Отдeл кадров, en: HR}
"""
    )
    mixed = [d for d in defects if "mixes Latin and Cyrillic" in d.message]
    assert len(mixed) == 1 and "'Отдeл'" in mixed[0].message
    assert format_path(mixed[0].path) == "departments[1].title.ru"
    assert (mixed[0].line, mixed[0].column) == (17, 17)
    assert any("reads the same as departments[0]" in d.message for d in defects)
    assert len(defects) == 2


def test_department_titles_that_read_the_same_are_refused() -> None:
    defects = defects_of(
        VALID
        + """\
departments:
  - code: hr
    title: {ru: Отдел  кадров}
  - code: staff
    title: {ru: отдел кадров}
  - code: hr
    title: {ru: Юридический отдел}
"""
    )
    assert "reads the same as departments[0]" in only(defects, "departments[1].title.ru").message
    assert "duplicate code 'hr'" in only(defects, "departments[2].code").message


def test_department_code_follows_the_code_rules() -> None:
    defects = defects_of(VALID + "departments:\n  - code: Отдел\n    title: {ru: Отдел}\n")
    assert "not a valid code" in only(defects, "departments[0].code").message


def test_validate_reports_a_look_alike_department_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    shipped = CATALOG_FILE.read_text(encoding="utf-8")
    broken = shipped.replace("ru: Отдел кадров", "ru: Отдeл кадров")  # a Latin e
    assert broken != shipped
    path = tmp_path / "catalog.yaml"
    path.write_text(broken, encoding="utf-8")
    assert main(["validate", "--catalog", str(path)]) == 1
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "ru: Отдeл" in text)
    assert f"{path}:{line}:" in err and "mixes Latin and Cyrillic letters" in err


def test_a_service_officer_in_max_sees_only_their_service_and_hears_about_it() -> None:
    # Issue 13: a service's officer may read it in MAX; their address is the MAX dialog's
    # (2**62 + MAX user id), never the raw MAX id a Telegram user could have.
    from questionnaires.messengers import max_chat
    from reports.model import Scope
    from services.reporting import ReportingPolicy, ReportingService
    from tests.reports.conftest import ROLES

    catalog = Catalog.model_validate(
        {
            "services": [
                {"code": "a", "group": "state_service", "title": {"ru": "А"}, "max_officer": 77},
                {"code": "b", "group": "state_service", "title": {"ru": "Б"}, "officer": 77},
            ],
            "channels": [{"code": "office", "kind": "in_person", "title": {"ru": "Офис"}}],
        }
    )
    assert catalog.services[0].officer_chats == {max_chat(77)}
    reporting = ReportingService(
        sessions=None,  # type: ignore[arg-type]  # officers' rights read no database
        roles=ROLES,
        catalog=catalog,
        policy=ReportingPolicy(),
    )
    assert [s.code for s in reporting.services_of(max_chat(77))] == ["a"]
    assert [s.code for s in reporting.services_of(77)] == ["b"]  # Telegram 77: another person
    assert reporting.may_see(max_chat(77), Scope(service="a"))
    assert not reporting.may_see(max_chat(77), Scope(service="b"))
    assert reporting.officers_for("a") == {max_chat(77)}
    assert reporting.all_officers() == {77, max_chat(77)}
    with pytest.raises(ValidationError):
        Catalog.model_validate(
            {
                "services": [
                    {"code": "a", "group": "state_service", "title": {"ru": "А"},
                     "max_officer": 2**62}
                ],
                "channels": [{"code": "office", "kind": "in_person", "title": {"ru": "Офис"}}],
            }
        )  # fmt: skip
