"""The in-memory ballot-stuffing guard: per-day secret, nothing on disk, restart forgets."""

from __future__ import annotations

from datetime import date, timedelta

from services.rating_guard import RatingGuard

DAY = date(2026, 11, 23)


def test_a_person_rates_a_service_once_a_day_and_other_services_freely() -> None:
    guard = RatingGuard(1)
    assert guard.may_rate(1, "passport", DAY)
    assert guard.reserve(1, "passport", DAY)
    assert not guard.may_rate(1, "passport", DAY)
    assert not guard.reserve(1, "passport", DAY)
    assert guard.reserve(1, "licensing", DAY)
    assert guard.reserve(2, "passport", DAY)


def test_the_limit_allows_that_many_ratings() -> None:
    guard = RatingGuard(2)
    assert guard.reserve(1, "passport", DAY)
    assert guard.reserve(1, "passport", DAY)
    assert not guard.reserve(1, "passport", DAY)


def test_zero_turns_the_guard_off() -> None:
    guard = RatingGuard(0)
    assert all(guard.reserve(1, "passport", DAY) for _ in range(5))


def test_a_rating_given_back_can_be_taken_again() -> None:
    guard = RatingGuard(1)
    assert guard.reserve(1, "passport", DAY)
    guard.release(1, "passport", DAY)
    assert guard.reserve(1, "passport", DAY)


def test_a_new_day_starts_afresh_and_forgets_the_old_one() -> None:
    guard = RatingGuard(1)
    assert guard.reserve(1, "passport", DAY)
    assert guard.reserve(1, "passport", DAY + timedelta(days=1))
    assert guard.may_rate(1, "passport", DAY)  # yesterday and its secret are gone


def test_keys_come_from_a_secret_of_the_day_not_from_the_pepper() -> None:
    # Issue 8: a reader with the pepper must not be able to recompute the guard's keys, and a
    # restart (a new guard) draws a new secret, so yesterday's process's keys mean nothing.
    secrets = iter([b"a" * 32, b"b" * 32])
    first = RatingGuard(1, secret=lambda: next(secrets))
    first.reserve(1, "passport", DAY)
    second = RatingGuard(1, secret=lambda: next(secrets))
    assert second.may_rate(1, "passport", DAY)
    [[key_a]] = [list(day.counts) for day in first._days.values()]
    second.reserve(1, "passport", DAY)
    [[key_b]] = [list(day.counts) for day in second._days.values()]
    assert key_a != key_b
