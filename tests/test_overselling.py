"""Concurrent checkouts on a real database: no overselling, no deadlock, no double order.

These need row locks (SELECT ... FOR UPDATE) and real parallel transactions, so
they run on PostgreSQL (CI sets DATABASE_URL) and skip on SQLite, which
serialises all writers and cannot show the race.
"""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from shop.cart import Cart
from shop.checkout import CartAlreadyOrdered, CheckoutError, Customer, OutOfStock, place_order
from shop.models import Order, Product

CUSTOMER = Customer(name="Racer", email="racer@example.com", address="1 Fast Lane")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL=postgres://... (CI does)")


def run_at_once(jobs):
    """Run each callable in its own thread, released together; return outcome names."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait()
            job()
            outcomes[index] = "ordered"
        except CheckoutError as refused:
            outcomes[index] = type(refused).__name__
        except Exception as error:  # a deadlock or any other failure is what we look for
            outcomes[index] = f"error: {type(error).__name__}: {error}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_twenty_buyers_of_the_last_item_make_exactly_one_order(make_product):
    last = make_product(stock=1)
    cart = Cart().add(last.pk, 1)

    outcomes = run_at_once([lambda: place_order(cart=cart, customer=CUSTOMER, channel="web")] * 20)

    assert Counter(outcomes) == {"ordered": 1, OutOfStock.__name__: 19}
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=last.pk).stock == 0


def test_stock_never_goes_below_zero_when_buyers_want_more_than_is_left(make_product):
    scarce = make_product(stock=5)
    cart = Cart().add(scarce.pk, 2)

    outcomes = run_at_once([lambda: place_order(cart=cart, customer=CUSTOMER, channel="api")] * 10)

    assert outcomes.count("ordered") == 2
    assert not [o for o in outcomes if o.startswith("error")]
    assert Product.objects.get(pk=scarce.pk).stock == 1


def test_carts_holding_two_products_in_opposite_order_do_not_deadlock(make_product):
    first, second = make_product(stock=100), make_product(stock=100)
    forward = Cart().add(first.pk, 1).add(second.pk, 1)
    backward = Cart().add(second.pk, 1).add(first.pk, 1)

    outcomes = []
    for _ in range(5):
        outcomes += run_at_once(
            [
                lambda: place_order(cart=forward, customer=CUSTOMER, channel="web"),
                lambda: place_order(cart=backward, customer=CUSTOMER, channel="api"),
            ]
            * 3
        )

    assert outcomes == ["ordered"] * 30
    assert Product.objects.get(pk=first.pk).stock == 70
    assert Product.objects.get(pk=second.pk).stock == 70


def test_opposite_carts_competing_for_the_last_items_fail_cleanly(make_product):
    first, second = make_product(stock=1), make_product(stock=1)
    forward = Cart().add(first.pk, 1).add(second.pk, 1)
    backward = Cart().add(second.pk, 1).add(first.pk, 1)

    outcomes = run_at_once(
        [
            lambda: place_order(cart=forward, customer=CUSTOMER, channel="web"),
            lambda: place_order(cart=backward, customer=CUSTOMER, channel="web"),
        ]
    )

    assert sorted(outcomes) == sorted(["ordered", OutOfStock.__name__])
    assert Order.objects.count() == 1
    assert list(Product.objects.values_list("stock", flat=True)) == [0, 0]


def test_one_cart_id_checked_out_at_once_from_ten_clients_orders_once(make_product):
    tea = make_product(stock=100)
    cart = Cart().add(tea.pk, 1)

    outcomes = run_at_once(
        [lambda: place_order(cart=cart, customer=CUSTOMER, channel="api", cart_id="c-42")] * 10
    )

    assert Counter(outcomes) == {"ordered": 1, CartAlreadyOrdered.__name__: 9}
    assert Order.objects.filter(cart_id="c-42").count() == 1
    assert Product.objects.get(pk=tea.pk).stock == 99
