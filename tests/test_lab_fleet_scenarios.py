"""The fleet scenarios' pure parts: key roll steps, header-cliff bisection, shoppers' records."""

import pytest

from compare.lab.fleet import Shopper, cart_on_page, totals
from compare.lab.history import FAILED, OK, UNKNOWN
from compare.lab.scenarios import scenarios
from compare.lab.scenarios.header_cliff import longest_accepted
from compare.lab.scenarios.rolling_keys import key_phases, roll
from compare.measure.clients import Product


def test_the_bisection_finds_the_longest_accepted_cart_in_few_probes():
    probes = []

    def accepted(n):
        probes.append(n)
        return n <= 711

    assert longest_accepted(2001, accepted) == 711
    assert len(probes) <= 13


def test_the_bisection_says_none_when_the_hop_never_refused():
    assert longest_accepted(100, lambda n: True) is None


def test_the_naive_roll_switches_each_instance_once_and_the_two_phase_roll_learns_first():
    assert roll("naive") == [(0, "new"), (1, "new"), (2, "new")]
    two_phase = roll("two-phase")
    assert [phase for _, phase in two_phase] == ["learn"] * 3 + ["new"] * 3
    assert [index for index, _ in two_phase] == [0, 1, 2, 0, 1, 2]


def test_the_learning_phase_accepts_the_new_keys_without_signing_with_them():
    phases = key_phases()
    old, learn, new = phases["old"], phases["learn"], phases["new"]
    assert learn["CART_TOKEN_KEYS"] == old["CART_TOKEN_KEYS"]  # still signs with old
    assert learn["CART_TOKEN_VERIFY_KEYS"] == new["CART_TOKEN_KEYS"].split(",")[0]
    assert learn["DJANGO_SECRET_KEY"] == old["DJANGO_SECRET_KEY"]
    assert learn["DJANGO_SECRET_KEY_FALLBACKS"] == new["DJANGO_SECRET_KEY"]
    assert new["DJANGO_SECRET_KEY_FALLBACKS"] == old["DJANGO_SECRET_KEY"]


def test_the_fleet_scenarios_are_listed_by_their_names():
    assert {"balancer", "rolling-keys", "header-cliff"} <= set(scenarios())


class ScriptedShopper(Shopper):
    """A shopper whose adds end as scripted and whose cart reads as given: no network."""

    def __init__(self, outcomes, cart):
        super().__init__("http://lab.invalid", [Product(1, "a", "A"), Product(2, "b", "B")])
        self.outcomes, self.cart = list(outcomes), cart

    def send_add(self, product):
        return self.outcomes.pop(0), None

    def held(self):
        return dict(self.cart)


def test_a_fleet_shopper_loses_its_cart_when_an_acknowledged_unit_is_missing():
    shopper = ScriptedShopper([OK, OK, OK], cart={1: 2, 2: 1})
    for _ in range(3):
        shopper.add()
    assert [c.product_id for c in shopper.history.changes] == [1, 2, 1]
    assert shopper.check() is True
    shopper.cart = {1: 1, 2: 1}  # one acknowledged unit of product 1 is gone
    assert shopper.check() is False
    assert shopper.carts_lost == 1
    assert shopper.check() is True  # the record starts again from the cart as it is


def test_a_fleet_shopper_does_not_expect_what_was_refused_or_unknown():
    shopper = ScriptedShopper([OK, FAILED, UNKNOWN], cart={1: 1})
    for _ in range(3):
        shopper.add()
    assert shopper.check() is True
    assert totals([shopper], ("carts_lost",)) == {"carts_lost": 0}


@pytest.mark.django_db
def test_the_cart_page_reads_back_as_products_and_quantities(client, make_product):
    first, second = make_product(stock=9), make_product(stock=9)
    client.post("/cart/add/", {"product_id": first.pk, "quantity": 2})
    client.post("/cart/add/", {"product_id": second.pk, "quantity": 1})
    assert cart_on_page(client.get("/cart/").content.decode()) == {first.pk: 2, second.pk: 1}
