"""Signed form tokens, the browser person key, CSRF tokens and the in-memory rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from web.security import (
    BadToken,
    RateLimiter,
    Signer,
    csrf_token,
    csrf_valid,
    new_browser_id,
    person_of,
    valid_browser_id,
    web_key,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_signed_value_comes_back_unchanged() -> None:
    signer = Signer(b"k" * 32)
    token = signer.sign("form", {"n": "abc", "t": 3})
    assert signer.unsign("form", token, max_age=60) == {"n": "abc", "t": 3}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t,
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: "e30." + t.split(".")[1],  # another body under the same signature
    ],
)
def test_a_changed_token_is_refused_as_forged(tamper: object) -> None:
    signer = Signer(b"k" * 32)
    token = signer.sign("form", {"t": 1})
    with pytest.raises(BadToken) as caught:
        signer.unsign("form", tamper(token), max_age=60)  # type: ignore[operator]
    assert caught.value.reason == "forged"


def test_a_token_from_another_key_or_purpose_is_forged() -> None:
    token = Signer(b"k" * 32).sign("form", {"t": 1})
    with pytest.raises(BadToken, match="forged"):
        Signer(b"j" * 32).unsign("form", token, max_age=60)
    with pytest.raises(BadToken, match="forged"):
        Signer(b"k" * 32).unsign("other", token, max_age=60)


def test_an_old_token_is_expired() -> None:
    clock = Clock()
    signer = Signer(b"k" * 32, clock=clock)
    token = signer.sign("form", {"t": 1})
    clock.now += 61
    with pytest.raises(BadToken, match="expired"):
        signer.unsign("form", token, max_age=60)


def test_the_person_of_a_browser_is_stable_negative_and_never_the_cookie() -> None:
    signer = Signer(web_key(b"pepper" * 4))
    one, two = new_browser_id(), new_browser_id()
    assert person_of(signer, one) == person_of(signer, one)
    assert person_of(signer, one) != person_of(signer, two)
    # Telegram ids are positive: a web person never collides with one.
    assert all(person_of(signer, new_browser_id()) < 0 for _ in range(200))
    assert one not in str(person_of(signer, one))


def test_only_well_formed_cookies_are_taken() -> None:
    assert valid_browser_id(new_browser_id()) is not None
    for bad in (None, "", "short", "a" * 44, "a" * 42 + "!", "a" * 42 + "\n"):
        assert valid_browser_id(bad) is None


def test_the_csrf_token_belongs_to_one_browser() -> None:
    signer = Signer(b"k" * 32)
    one, two = new_browser_id(), new_browser_id()
    assert csrf_valid(signer, one, csrf_token(signer, one))
    assert not csrf_valid(signer, two, csrf_token(signer, one))
    assert not csrf_valid(signer, one, "")


def test_the_rate_limit_counts_each_address_apart_and_forgets_after_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=3, window=60, clock=clock)
    assert [limiter.allow("10.0.0.1") for _ in range(3)] == [None, None, None]
    wait = limiter.allow("10.0.0.1")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.allow("10.0.0.2") is None
    clock.now += 61
    assert limiter.allow("10.0.0.1") is None


def test_the_rate_limit_keeps_no_address_in_clear_and_sweeps_old_entries() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=5, window=60, clock=clock)
    for number in range(100):
        limiter.allow(f"192.0.2.{number}")
    assert len(limiter) == 100
    assert not any(b"192.0.2" in key for key in limiter._counts)
    clock.now += 61
    limiter.allow("192.0.2.200")
    assert len(limiter) == 1


def test_tokens_and_keyed_hashes_stay_those_already_issued() -> None:
    """The one-shot HMAC and the prebuilt JSON encoder give the bytes of the construction
    pages, cookies and stored persons were made with (hmac.new, json.dumps): nothing issued
    before becomes invalid, and a person keeps their key."""
    signer = Signer(b"k" * 32, clock=lambda: 1_700_000_000)
    reference = hmac.new(b"k" * 32, b"person\x1fbrowser", hashlib.sha256).digest()
    assert signer.digest("person", "browser") == reference
    body = json.dumps(
        {"p": "form", "t": 1_700_000_000, "v": {"n": "дуб", "t": 2}}, separators=(",", ":")
    ).encode()
    mac = hmac.new(b"k" * 32, b"sig\x1f" + base64.urlsafe_b64encode(body).rstrip(b"="), "sha256")
    expected = (
        base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        + "."
        + (base64.urlsafe_b64encode(mac.digest()[:18]).rstrip(b"=").decode())
    )
    assert signer.sign("form", {"n": "дуб", "t": 2}) == expected
