"""The hidden-state drills against a live server: forked carts, replay guards, stale claims."""

import pytest

from compare.measure.clients import Product
from compare.measure.hidden_state import HiddenState, render
from tests.helpers import measurement_stage


@pytest.fixture(scope="module")
def stage(django_db_blocker):
    with measurement_stage(django_db_blocker) as stage:
        yield stage


@pytest.fixture(scope="module")
def part(stage, django_db_blocker) -> HiddenState:
    with django_db_blocker.unblock():
        rows = stage.db.query("SELECT id, slug, name FROM shop_product WHERE active ORDER BY id")
    products = [Product(*row) for row in rows]
    return HiddenState(stage, products, seconds=3, users=2, workers=1, log=lambda line: None)


def test_the_hidden_state_drills_go_as_the_design_predicts(part, django_db_blocker):
    with django_db_blocker.unblock():
        outcomes, kept = part.drills(pairs=3)
    observed = {(o.drill, o.store): o.observed for o in outcomes}
    assert observed[("forked_cart", "")] == "3 of 6 changes in no order"
    assert observed[("replay", "spent ids kept")] == "refused (409 cart_already_ordered)"
    assert observed[("replay", "spent ids deleted")] == "a second order of the same cart"
    assert observed[("stale_claims", "deactivated sub")] == "refused with 401"
    assert observed[("stale_claims", "withdrawn product")] == "dropped with a notice"
    assert observed[("stale_claims", "repriced product")] == "new price shown"
    assert all(o.passed for o in outcomes), [o.details for o in outcomes if not o.passed]
    spent = next(k for k in kept if k.item == "spent cart ids")
    assert spent.rows >= 4  # three forked carts and the replayed one, before it was deleted
    assert spent.bytes == spent.rows * 16
    assert "What the stateless channel still keeps" in render([], outcomes, kept)
