"""One behaviour for both channels: the same cart round trips through the web shop and the API.

The channels differ only in where the cart lives. Each test runs once per channel
and expects the same outcome: the same cart afterwards, and, for a refusal, the
same code (the web shop carries it on its message, the API in its answer).
"""

from dataclasses import dataclass
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from api.tokens import decode_cart
from shop.cart import Cart
from shop.models import Order
from shop.session_cart import load_cart
from tests.conftest import ApiClient
from tests.helpers import checkout_fields

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "12 Analytical Row"}


@dataclass
class Outcome:
    code: str | None  # None: done; otherwise the refusal's code


class WebShop:
    """The web shop through Django's test client: the cart lives in the session."""

    name = "web"

    def __init__(self) -> None:
        self.client = Client()

    def _outcome(self, response) -> Outcome:
        assert response.status_code == HTTPStatus.FOUND
        errors = [m for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
        return Outcome(errors[-1].extra_tags or "error" if errors else None)

    def add(self, product_id, quantity=1) -> Outcome:
        body = {"product_id": product_id, "quantity": quantity}
        return self._outcome(self.client.post("/cart/add/", body))

    def set(self, product_id, quantity) -> Outcome:
        path = f"/cart/items/{product_id}/"
        return self._outcome(self.client.post(path, {"quantity": quantity}))

    def remove(self, product_id) -> Outcome:
        return self._outcome(self.client.post(f"/cart/items/{product_id}/remove/"))

    def cart(self) -> Cart:
        return load_cart(self.client.session)

    def checkout(self) -> Outcome:
        self.form = {**CUSTOMER, **checkout_fields(self.client)}
        return self.replay()

    def replay(self) -> Outcome:
        response = self.client.post("/checkout/", self.form)
        errors = [m for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
        return Outcome(errors[-1].extra_tags or "error" if errors else None)


class Api:
    """The JSON API: the cart lives in the token the client sends back."""

    name = "api"

    def __init__(self) -> None:
        self.client = ApiClient()

    def _outcome(self, response) -> Outcome:
        if response.status_code < 300:
            return Outcome(None)
        body = response.json()
        return Outcome(body.get("code", "invalid"))  # a field error: an invalid body

    def add(self, product_id, quantity=1) -> Outcome:
        body = {"product_id": product_id, "quantity": quantity}
        return self._outcome(self.client.post("/api/cart/items/", body))

    def set(self, product_id, quantity) -> Outcome:
        return self._outcome(
            self.client.put(f"/api/cart/items/{product_id}/", {"quantity": quantity})
        )

    def remove(self, product_id) -> Outcome:
        return self._outcome(self.client.delete(f"/api/cart/items/{product_id}/"))

    def cart(self) -> Cart:
        return decode_cart(self.client.token).cart if self.client.token else Cart()

    def checkout(self) -> Outcome:
        self.ordered_token = self.client.token
        return self._outcome(self.client.post("/api/checkout/", CUSTOMER))

    def replay(self) -> Outcome:
        return self._outcome(self.client.post("/api/checkout/", CUSTOMER, token=self.ordered_token))


@pytest.fixture(params=[WebShop, Api], ids=["web", "api"])
def shopper(request):
    return request.param()


def test_adding_twice_sums_and_setting_and_removing_change_the_line(shopper, product):
    assert shopper.add(product.pk, 2) == Outcome(None)
    assert shopper.add(product.pk, 3) == Outcome(None)
    assert shopper.cart() == Cart([(product.pk, 5)])
    assert shopper.set(product.pk, 4) == Outcome(None)
    assert shopper.cart() == Cart([(product.pk, 4)])
    assert shopper.remove(product.pk) == Outcome(None)
    assert shopper.cart() == Cart()


def test_setting_zero_removes_the_line(shopper, product):
    shopper.add(product.pk, 2)
    assert shopper.set(product.pk, 0) == Outcome(None)
    assert shopper.cart() == Cart()


def test_more_than_the_stock_is_refused_at_add_and_at_change(shopper, make_product):
    scarce = make_product(stock=5)
    shopper.add(scarce.pk, 4)
    assert shopper.add(scarce.pk, 2) == Outcome("not_enough_stock")
    assert shopper.set(scarce.pk, 6) == Outcome("not_enough_stock")
    assert shopper.cart() == Cart([(scarce.pk, 4)])


def test_a_sold_out_product_is_refused(shopper, make_product):
    assert shopper.add(make_product(stock=0).pk) == Outcome("sold_out")
    assert shopper.cart() == Cart()


def test_more_than_the_limit_with_what_the_cart_holds_is_refused(shopper, make_product):
    plenty = make_product(stock=500)
    shopper.add(plenty.pk, 60)
    assert shopper.add(plenty.pk, 60) == Outcome("invalid_quantity")
    assert shopper.cart() == Cart([(plenty.pk, 60)])


@pytest.mark.parametrize("quantity", [0, 100, -1])
def test_a_quantity_outside_the_limits_is_an_invalid_request(shopper, product, quantity):
    assert shopper.add(product.pk, quantity) == Outcome("invalid")
    assert shopper.cart() == Cart()


def test_a_product_past_the_line_limit_is_refused(shopper, make_product, settings):
    settings.CART_MAX_LINES = 2
    first, second, third = (make_product() for _ in range(3))
    shopper.add(first.pk)
    shopper.add(second.pk)
    assert shopper.add(third.pk) == Outcome("too_many_lines")
    assert shopper.cart() == Cart([(first.pk, 1), (second.pk, 1)])


def test_an_unknown_or_withdrawn_product_is_not_for_sale(shopper, make_product):
    assert shopper.add(999_999) == Outcome("not_for_sale")
    assert shopper.add(make_product(active=False).pk) == Outcome("not_for_sale")
    assert shopper.cart() == Cart()


def test_setting_or_removing_a_line_not_in_the_cart_is_refused(shopper, product, make_product):
    other = make_product()
    shopper.add(product.pk)
    assert shopper.set(other.pk, 2) == Outcome("not_in_cart")
    assert shopper.remove(other.pk) == Outcome("not_in_cart")
    assert shopper.cart() == Cart([(product.pk, 1)])


def test_checkout_orders_once_and_a_replay_orders_nothing_more(shopper, product):
    shopper.add(product.pk, 3)
    assert shopper.checkout() == Outcome(None)
    assert shopper.cart() == Cart()
    order = Order.objects.get()
    assert (order.channel, order.lines.get().quantity) == (shopper.name, 3)
    shopper.replay()
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 20 - 3
