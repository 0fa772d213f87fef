"""The history checker finds acknowledged cart changes that a failover lost, and only those."""

from compare.lab.history import FAILED, OK, UNKNOWN, Change, History, check, missing


def history(*changes: tuple[int, str, float], final: dict[int, int] | None) -> History:
    record = History("shopper")
    for product_id, outcome, at in changes:
        record.record(Change(product_id, at, at + 0.1, outcome))
    record.final = final
    return record


def test_a_cart_holding_every_acknowledged_change_loses_nothing():
    verdict = check([history((1, OK, 0), (2, OK, 1), (1, OK, 2), final={1: 2, 2: 1})])
    assert verdict.acknowledged == 3
    assert verdict.lost_acknowledged == 0
    assert verdict.carts_lost == 0
    assert verdict.errors == 0
    assert verdict.unavailable_s == 0


def test_an_acknowledged_change_missing_from_the_cart_is_a_lost_write():
    verdict = check([history((1, OK, 0), (2, OK, 1), (2, OK, 2), final={1: 1, 2: 1})])
    assert verdict.lost_acknowledged == 1
    assert verdict.carts_lost == 0


def test_a_cart_without_any_acknowledged_change_is_a_lost_cart():
    lost = history((1, OK, 0), (2, OK, 1), final={})
    unreadable = history((3, OK, 0), final=None)
    kept = history((4, OK, 0), final={4: 1})
    verdict = check([lost, unreadable, kept])
    assert verdict.carts_lost == 2
    assert verdict.lost_acknowledged == 3


def test_a_change_of_unknown_outcome_may_or_may_not_be_in_the_cart():
    applied = history((1, OK, 0), (1, UNKNOWN, 1), final={1: 2})
    not_applied = history((1, OK, 0), (1, UNKNOWN, 1), final={1: 1})
    verdict = check([applied, not_applied])
    assert verdict.lost_acknowledged == 0
    assert verdict.not_acknowledged_but_kept == 0
    assert verdict.errors == 2
    assert verdict.unclear == 2


def test_a_refused_change_that_shows_up_in_the_cart_is_flagged():
    verdict = check([history((1, OK, 0), (1, FAILED, 1), final={1: 2})])
    assert verdict.not_acknowledged_but_kept == 1
    assert verdict.lost_acknowledged == 0


def test_unavailability_spans_the_first_to_the_last_failed_change():
    verdict = check(
        [
            history((1, OK, 0), (1, FAILED, 3.0), (1, OK, 6), final={1: 2}),
            history((2, UNKNOWN, 3.5), (2, FAILED, 5.0), final={}),
        ]
    )
    assert verdict.unavailable_s == 2.1  # 3.0 -> 5.1
    assert verdict.errors == 3
    assert verdict.carts_lost == 0  # the second shopper never had an acknowledged change


def test_missing_gives_the_acknowledged_units_a_cart_read_mid_run_lacks():
    changes = [Change(1, 0, 1, OK), Change(1, 1, 2, OK), Change(2, 2, 3, OK)]
    changes += [Change(3, 3, 4, FAILED), Change(4, 4, 5, UNKNOWN)]
    assert missing(changes, {1: 2, 2: 1}) == {}
    assert missing(changes, {1: 1}) == {1: 1, 2: 1}
    assert missing(changes, {}) == {1: 2, 2: 1}
