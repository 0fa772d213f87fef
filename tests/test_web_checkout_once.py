"""A web checkout form orders once, and at the total the buyer saw.

Each checkout page carries a random form id (recorded as the order's cart id,
unique) and the total it showed. A form sent twice — a double click, a retry,
a replayed signed cookie — cannot order twice; a price changed in between is
asked about, not charged silently.
"""

import threading
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection, connections
from django.test import Client

from shop.cart import Cart
from shop.models import Order, Product
from shop.session_cart import load_cart
from shop.stores import STORES
from tests.helpers import checkout_fields

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "12 Analytical St"}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def shopper(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    return client


def test_the_same_form_sent_again_shows_the_first_order_and_orders_nothing_more(shopper, product):
    form = {**checkout_fields(shopper), **CUSTOMER}
    first = shopper.post("/checkout/", form)
    order = Order.objects.get()
    # The cart is filled again (another tab, or a replayed cookie) and the old form re-sent.
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})

    again = shopper.post("/checkout/", form, follow=True)

    assert first["Location"] == f"/orders/{order.pk}/"
    assert again.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert f"This checkout was already placed as order #{order.pk}." in messages_of(again)
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 18
    assert load_cart(shopper.session) == Cart()


def test_a_replayed_signed_cookie_with_its_form_orders_once(settings, product):
    settings.SESSION_ENGINE = STORES["signed_cookies"].engine
    browser = Client()
    browser.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    form = {**checkout_fields(browser), **CUSTOMER}
    before = browser.cookies[settings.SESSION_COOKIE_NAME].value

    browser.post("/checkout/", form)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = before
    answer = replay.post("/checkout/", form, follow=True)

    order = Order.objects.get()
    assert answer.status_code == HTTPStatus.OK
    assert answer.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert Product.objects.get(pk=product.pk).stock == 19


def test_a_price_change_after_the_page_was_shown_asks_to_confirm_again(shopper, product):
    confirmed = checkout_fields(shopper)
    assert confirmed["expected_total"] == "48.00"
    Product.objects.filter(pk=product.pk).update(price=Decimal("72.00"))

    response = shopper.post("/checkout/", {**confirmed, **CUSTOMER})

    assert response.status_code == HTTPStatus.OK
    assert (
        "Prices changed since you confirmed: the total is now €144.00, not €48.00. "
        "Check the cart and confirm again. Your cart was kept; nothing was charged."
    ) in messages_of(response)
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 20
    # The page now shows, and asks to confirm, the new total.
    form = response.context["form"]
    assert form["expected_total"].value() == "144.00"
    assert form["name"].value() == CUSTOMER["name"]
    retry = {**{f.name: str(f.value()) for f in form.hidden_fields()}, **CUSTOMER}
    assert shopper.post("/checkout/", retry).status_code == HTTPStatus.FOUND
    assert Order.objects.get().total == Decimal("144.00")


@pytest.mark.parametrize("hidden", [{}, {"checkout_id": "not-a-uuid"}, {"expected_total": "x"}])
def test_a_form_without_its_confirmation_fields_is_asked_again(shopper, hidden):
    response = shopper.post("/checkout/", {**CUSTOMER, **hidden})
    assert response.status_code == HTTPStatus.OK
    assert "This checkout page is out of date" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_five_simultaneous_posts_of_one_checkout_form_make_one_order(make_product):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL=postgres://... (CI does)")
    product = make_product(stock=50, price="8.40")
    browser = Client()
    browser.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    form = {**checkout_fields(browser), **CUSTOMER}
    cookies = {name: morsel.value for name, morsel in browser.cookies.items()}
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def post():
        tab = Client()
        for name, value in cookies.items():
            tab.cookies[name] = value
        try:
            barrier.wait()
            statuses.append(tab.post("/checkout/", form).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 49
    assert len(statuses) == 5
    assert set(statuses) <= {HTTPStatus.FOUND}


def test_another_buyers_checkout_id_shows_nothing_of_their_order_and_keeps_the_cart(
    shopper, make_product
):
    victim_form = {**checkout_fields(shopper), **CUSTOMER}
    shopper.post("/checkout/", victim_form)
    order = Order.objects.get()
    attacker = Client()
    other = make_product(price="5.00", stock=3)
    attacker.post("/cart/add/", {"product_id": other.pk, "quantity": 1})
    own_form = checkout_fields(attacker)
    forged = {
        **own_form,
        "checkout_id": victim_form["checkout_id"],
        "name": "Mallory",
        "email": "mallory@example.com",
        "address": "Elsewhere",
    }

    answer = attacker.post("/checkout/", forged)

    assert answer.status_code == HTTPStatus.OK
    assert "This checkout form was already used; nothing was ordered. Confirm again." in (
        messages_of(answer)
    )
    assert CUSTOMER["address"] not in answer.content.decode()
    assert load_cart(attacker.session) == Cart([(other.pk, 1)])
    assert attacker.get(f"/orders/{order.pk}/").status_code == HTTPStatus.NOT_FOUND
    assert Order.objects.count() == 1
    assert answer.context["form"]["checkout_id"].value() != victim_form["checkout_id"]
