"""The in-memory ballot-stuffing guard: per-day secret, nothing on disk, restart forgets."""

from __future__ import annotations

from datetime import date, timedelta

from services.rating_guard import RatingGuard

DAY = date(2026, 11, 23)


def test_a_person_rates_a_service_once_a_day_and_other_services_freely() -> None:
    guard = RatingGuard(1)
    assert guard.may_rate(1, "passport", DAY)
    assert guard.reserve(1, "passport", DAY, attempt="a1")
    assert not guard.may_rate(1, "passport", DAY)
    assert not guard.reserve(1, "passport", DAY, attempt="a2")
    assert guard.reserve(1, "licensing", DAY, attempt="a3")
    assert guard.reserve(2, "passport", DAY, attempt="a4")


def test_the_limit_allows_that_many_ratings() -> None:
    guard = RatingGuard(2)
    assert guard.reserve(1, "passport", DAY, attempt="a5")
    assert guard.reserve(1, "passport", DAY, attempt="a6")
    assert not guard.reserve(1, "passport", DAY, attempt="a7")


def test_zero_turns_the_guard_off() -> None:
    guard = RatingGuard(0)
    assert all(guard.reserve(1, "passport", DAY, attempt=str(i)) for i in range(5))


def test_a_rating_given_back_can_be_taken_again() -> None:
    guard = RatingGuard(1)
    assert guard.reserve(1, "passport", DAY, attempt="a8")
    guard.release(1, "passport", DAY, attempt="a8")
    assert guard.reserve(1, "passport", DAY, attempt="a9")


def test_a_new_day_starts_afresh_and_forgets_the_old_one() -> None:
    guard = RatingGuard(1)
    assert guard.reserve(1, "passport", DAY, attempt="a10")
    assert guard.reserve(1, "passport", DAY + timedelta(days=1), attempt="a11")
    assert guard.may_rate(1, "passport", DAY)  # yesterday and its secret are gone


def test_keys_come_from_a_secret_of_the_day_not_from_the_pepper() -> None:
    # Issue 8: a reader with the pepper must not be able to recompute the guard's keys, and a
    # restart (a new guard) draws a new secret, so yesterday's process's keys mean nothing.
    secrets = iter([b"a" * 32, b"b" * 32])
    first = RatingGuard(1, secret=lambda: next(secrets))
    first.reserve(1, "passport", DAY, attempt="a12")
    second = RatingGuard(1, secret=lambda: next(secrets))
    assert second.may_rate(1, "passport", DAY)
    [[key_a]] = [list(day.counts) for day in first._days.values()]
    second.reserve(1, "passport", DAY, attempt="a13")
    [[key_b]] = [list(day.counts) for day in second._days.values()]
    assert key_a != key_b


def test_an_attempt_cut_off_before_its_store_takes_its_rating_again() -> None:
    """A completion reserved its rating and was killed before the store and the release: the
    same dialog (attempt) repeated takes it again, once; another dialog is refused."""
    guard = RatingGuard(1)
    assert guard.reserve(1, "passport", DAY, attempt="A")
    # the worker dies here: no save, no release
    assert guard.reserve(1, "passport", DAY, attempt="A")
    assert not guard.reserve(1, "passport", DAY, attempt="B")
    assert not guard.may_rate(1, "passport", DAY)
    # A failed store of A gives back A's rating only once, whatever the repeats.
    guard.release(1, "passport", DAY, attempt="A")
    assert guard.reserve(1, "passport", DAY, attempt="B")
    guard.release(1, "passport", DAY, attempt="A")  # not B's to give back
    assert not guard.reserve(1, "passport", DAY, attempt="C")


def test_with_a_limit_of_two_a_repeated_attempt_counts_once() -> None:
    guard = RatingGuard(2)
    assert guard.reserve(1, "passport", DAY, attempt="A")
    assert guard.reserve(1, "passport", DAY, attempt="A")
    assert guard.reserve(1, "passport", DAY, attempt="B")
    assert not guard.reserve(1, "passport", DAY, attempt="C")
