"""Tests for deep-link payloads: encoding, decoding, links and the list of targets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questionnaires.catalog import (
    CATALOG_FILE,
    MAX_PAYLOAD_LENGTH,
    Catalog,
    load_catalog,
    parse_catalog,
)
from questionnaires.deeplinks import (
    LinkTarget,
    all_targets,
    decode_payload,
    encode_payload,
    start_link,
)

CATALOG = load_catalog(CATALOG_FILE)
PAYLOAD_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

LONG_CODES = f"""\
services:
  - code: {"s" * 20}
    group: appeals
    title: {{ru: Очень длинный код}}
    life_situations: [{"l" * 20}]
  - code: no-situations
    group: internal
    title: {{ru: Без жизненных ситуаций}}
channels:
  - code: {"c" * 20}
    kind: online
    title: {{ru: Канал}}
life_situations:
  - code: {"l" * 20}
    title: {{ru: Ситуация}}
  - code: other
    title: {{ru: Другая ситуация}}
"""


@pytest.fixture(scope="module")
def long_catalog() -> Catalog:
    return parse_catalog(LONG_CODES, "long.yaml")


@pytest.mark.parametrize("target", all_targets(CATALOG, with_life_situations=True), ids=str)
def test_every_catalog_target_round_trips(target: LinkTarget) -> None:
    payload = encode_payload(target)
    assert len(payload) <= MAX_PAYLOAD_LENGTH
    assert set(payload) <= set(PAYLOAD_CHARACTERS)
    assert decode_payload(payload, CATALOG) == target


def test_longest_codes_still_fit_the_telegram_limit(long_catalog: Catalog) -> None:
    target = LinkTarget("s" * 20, "c" * 20, "l" * 20)
    payload = encode_payload(target)
    assert len(payload) == 62
    assert decode_payload(payload, long_catalog) == target


def test_payload_is_service_channel_and_optional_life_situation() -> None:
    assert encode_payload(LinkTarget("licensing", "mfc")) == "licensing_mfc"
    assert encode_payload(LinkTarget("licensing", "mfc", "license")) == "licensing_mfc_license"
    assert decode_payload("licensing_mfc", CATALOG) == LinkTarget("licensing", "mfc")


@pytest.mark.parametrize(
    "target",
    [
        LinkTarget("", "mfc"),
        LinkTarget("Licensing", "mfc"),
        LinkTarget("licensing", "m_fc"),
        LinkTarget("licensing", "mfc", "-license"),
        LinkTarget("x" * 21, "mfc"),
        LinkTarget("лицензия", "mfc"),
    ],
)
def test_encoding_an_invalid_code_is_refused(target: LinkTarget) -> None:
    with pytest.raises(ValueError, match="not a valid code"):
        encode_payload(target)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "licensing",  # channel missing
        "licensing_",
        "_mfc",
        "licensing__mfc",
        "licensing_mfc_",
        "licensing_mfc_license_extra",  # one part too many
        "nosuch_mfc",  # unknown service
        "licensing_nosuch",  # unknown channel
        "licensing_mfc_nosuch",  # unknown life situation
        "licensing_mfc_buying",  # known, but licensing does not list it
        "LICENSING_MFC",  # codes are lowercase and matched exactly
        "licensing mfc",
        "licensing_mfc\n",
        "licensing_mfc!",
        "licensing_мфц",
        "licensing_mfc_license" + "-" * 50,  # too long
        "licensing-mfc",
    ],
)
def test_unknown_or_malformed_payload_decodes_to_none(payload: str) -> None:
    assert decode_payload(payload, CATALOG) is None


def test_service_without_life_situations_accepts_any_known_one(long_catalog: Catalog) -> None:
    channel = "c" * 20
    assert decode_payload(f"no-situations_{channel}_other", long_catalog) == LinkTarget(
        "no-situations", channel, "other"
    )
    assert decode_payload(f"no-situations_{channel}_nosuch", long_catalog) is None
    assert decode_payload(f"{'s' * 20}_{channel}_other", long_catalog) is None


@given(st.text(max_size=100))
def test_decoding_arbitrary_text_never_raises(payload: str) -> None:
    decode_payload(payload, CATALOG)


@given(st.text(alphabet=PAYLOAD_CHARACTERS, max_size=80))
def test_decoding_payload_characters_never_raises(payload: str) -> None:
    target = decode_payload(payload, CATALOG)
    if target is not None:
        assert encode_payload(target) == payload


codes = st.sampled_from(
    [s.code for s in CATALOG.services]
    + [c.code for c in CATALOG.channels]
    + [s.code for s in CATALOG.life_situations]
    + ["", "x", "Mfc", "-", "licensing-"]
)


@given(st.lists(codes, max_size=5), st.sampled_from(["_", "-", "__"]))
def test_decoding_mixed_known_codes_never_raises(parts: list[str], separator: str) -> None:
    payload = separator.join(parts)
    target = decode_payload(payload, CATALOG)
    if target is not None:
        assert encode_payload(target) == payload


def test_start_link_drops_a_leading_at() -> None:
    assert (
        start_link("@otklik_bot", "licensing_mfc") == "https://t.me/otklik_bot?start=licensing_mfc"
    )
    assert start_link("otklik_bot", "a-b_c") == "https://t.me/otklik_bot?start=a-b_c"


@pytest.mark.parametrize("username", ["", "@", "otklik bot", "https://t.me/otklik_bot"])
def test_start_link_refuses_something_that_is_not_a_username(username: str) -> None:
    with pytest.raises(ValueError, match="username"):
        start_link(username, "licensing_mfc")


@pytest.mark.parametrize("payload", ["", "a b", "x" * 65, "мфц"])
def test_start_link_refuses_an_invalid_payload(payload: str) -> None:
    with pytest.raises(ValueError, match="payload"):
        start_link("otklik_bot", payload)


def test_all_targets_is_every_service_times_channel_in_catalog_order() -> None:
    targets = all_targets(CATALOG)
    assert targets == [
        LinkTarget(service.code, channel.code)
        for service in CATALOG.services
        for channel in CATALOG.channels
    ]
    assert len(set(targets)) == len(CATALOG.services) * len(CATALOG.channels)


def test_all_targets_with_life_situations_follows_each_pair_with_its_situations() -> None:
    targets = all_targets(CATALOG, with_life_situations=True)
    channels = len(CATALOG.channels)
    situations = sum(len(service.life_situations) for service in CATALOG.services)
    assert len(targets) == len(CATALOG.services) * channels + situations * channels
    assert set(all_targets(CATALOG)) <= set(targets)
    site = CATALOG.channels[0].code
    assert targets[:3] == [
        LinkTarget("licensing", site),
        LinkTarget("licensing", site, "license"),
        LinkTarget("licensing", CATALOG.channels[1].code),
    ]
    index = targets.index(LinkTarget("license-register", site))
    assert targets[index : index + 4] == [
        LinkTarget("license-register", site),
        LinkTarget("license-register", site, "license"),
        LinkTarget("license-register", site, "buying"),
        LinkTarget("license-register", site, "management"),
    ]
    for target in targets:
        if target.life_situation is not None:
            service = CATALOG.service(target.service)
            assert service is not None
            assert target.life_situation in service.life_situations
