"""Drill verdicts: what counts as a cart kept or lost, and when a drill passes."""

import pytest

from compare.measure.clients import Product, token_kid
from compare.measure.drills import (
    BREAKS,
    KEPT,
    LOST,
    PARTLY_LOST,
    WORKS,
    DrillOutcome,
    cart_outcome,
    describe,
    failed_drill,
    split,
    verdict,
)

A, B, C = Product(1, "a", "Alpha"), Product(2, "b", "Beta"), Product(3, "c", "Gamma")


def test_a_cart_with_every_line_after_the_failure_is_kept():
    assert cart_outcome([A, B], [A, B]) == KEPT
    assert cart_outcome([A, B], [B, A, C]) == KEPT


def test_a_cart_with_no_line_left_is_lost():
    assert cart_outcome([A, B], []) == LOST
    assert cart_outcome([A, B], [C]) == LOST


def test_a_cart_with_some_lines_left_is_partly_lost():
    assert cart_outcome([A, B], [A]) == PARTLY_LOST


def test_a_drill_without_a_cart_before_the_failure_proves_nothing():
    with pytest.raises(ValueError, match="build a cart"):
        cart_outcome([], [])


def test_verdict_passes_only_when_observed_matches_expected():
    assert verdict(expected=KEPT, observed=KEPT, errors=[])
    assert not verdict(expected=KEPT, observed=LOST, errors=[])
    assert verdict(expected=BREAKS, observed=BREAKS, errors=[])
    assert not verdict(expected=BREAKS, observed=WORKS, errors=[])


def test_a_server_error_fails_the_drill_even_when_the_outcome_matches():
    assert not verdict(expected=LOST, observed=LOST, errors=[500])
    outcome = DrillOutcome("store_lost", "web", "db", LOST, LOST, server_errors=[502])
    assert not outcome.passed


def test_describe_and_split_say_what_was_kept_and_lost():
    assert describe([]) == "nothing"
    assert describe([A]) == "1 line (Alpha)"
    assert split([A, B], [B]) == ("1 line (Beta)", "1 line (Alpha)")
    assert split([A, B], [A, B]) == ("2 lines (Alpha, Beta)", "nothing")


def test_a_drill_that_crashed_is_reported_as_a_failure_with_its_reason():
    outcome = failed_drill("restart", "web", "db", KEPT, RuntimeError("server did not start"))
    assert not outcome.passed
    assert outcome.observed == "error"
    assert "server did not start" in outcome.details


def test_token_kid_reads_the_header_without_verifying():
    header = "eyJhbGciOiJIUzI1NiIsImtpZCI6Im5ldyJ9"  # {"alg":"HS256","kid":"new"}
    assert token_kid(f"{header}.e30.sig") == "new"
