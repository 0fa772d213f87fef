"""Limits against inventory denial: orders per address and per account in a window,
units of a product per order, the value of an order without an account. Both channels."""

from http import HTTPStatus

import pytest
from django.core.cache import caches

from shop.models import Order, Product
from tests.helpers import checkout_fields

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}


@pytest.fixture(autouse=True)
def fresh_counts(settings, db):
    """The counters live in a shared store; each test starts with none of its own."""
    settings.CHECKOUTS_PER_ADDRESS = 2
    settings.CHECKOUTS_PER_ACCOUNT = 2
    cache = caches["limits"]
    if hasattr(cache, "delete_pattern"):  # Redis: only this cache's counter keys
        cache.delete_pattern("checkouts:*")
    else:
        cache.clear()


def api_order(api, product, quantity=1, **headers):
    api.token = None
    api.post("/api/cart/", **headers)
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": quantity}, **headers)
    return api.post("/api/checkout/", CUSTOMER, **headers)


def web_order(client, product, quantity=1, address="10.0.0.1"):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": quantity})
    form = {**checkout_fields(client), **CUSTOMER}
    return client.post("/checkout/", form, REMOTE_ADDR=address)


def test_the_counters_are_in_a_store_every_process_shares(settings):
    backend = type(caches["limits"]).__module__
    expected = "django_redis" if settings.REDIS_URL else "django.core.cache.backends.db"
    assert backend.startswith(expected)


def test_an_address_gets_its_orders_per_window_then_429_with_the_limit(api, product):
    placed = [api_order(api, product).status_code for _ in range(2)]
    refused = api_order(api, product)

    assert placed == [HTTPStatus.CREATED] * 2
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused.json()["code"] == "too_many_checkouts"
    assert refused.json()["limit"] == 2
    assert (
        "Too many orders from your address: at most 2 every 60 minutes."
        in (refused.json()["detail"])
    )
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Order.objects.count() == 2
    other = api_order(api, product, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == HTTPStatus.CREATED


def test_the_address_count_is_one_for_both_channels(api, client, product):
    api_order(api, product)
    web_order(client, product, address="127.0.0.1")
    refused = web_order(client, product, address="127.0.0.1")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many orders from your address: at most 2 every 60 minutes." in (
        refused.content.decode()
    )
    assert Order.objects.count() == 2


def test_an_account_gets_its_orders_per_window_from_any_address(client, product, settings):
    from django.contrib.auth import get_user_model

    settings.CHECKOUTS_PER_ADDRESS = 100
    user = get_user_model().objects.create_user("ada", password="a-long-password-1")
    client.force_login(user)
    statuses = [web_order(client, product, address=f"10.0.1.{n}").status_code for n in range(3)]

    assert statuses == [HTTPStatus.FOUND, HTTPStatus.FOUND, HTTPStatus.TOO_MANY_REQUESTS]
    assert Order.objects.filter(user=user).count() == 2


def test_more_units_of_a_product_than_an_order_may_hold_is_a_409(api, client, make_product):
    plenty = make_product(price="1.00", stock=500)
    refused = api_order(api, plenty, quantity=11)
    web = web_order(client, plenty, quantity=11)

    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json()["code"] == "order_too_large"
    assert "At most 10 of each product per order" in refused.json()["detail"]
    assert web.status_code == HTTPStatus.OK
    assert "At most 10 of each product per order" in web.content.decode()
    assert Product.objects.get(pk=plenty.pk).stock == 500
    assert Order.objects.count() == 0


def test_an_anonymous_order_over_the_value_cap_is_a_409_and_an_account_may_order_it(
    api, client, make_product, django_user_model
):
    dear = make_product(price="300.00", stock=10)
    refused = api_order(api, dear, quantity=2)

    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json()["code"] == "order_too_large"
    assert (
        "without an account can be at most €500.00 (this one is €600.00)"
        in (refused.json()["detail"])
    )
    client.force_login(django_user_model.objects.create_user("ada", password="a-long-pass-1"))
    assert web_order(client, dear, quantity=2).status_code == HTTPStatus.FOUND
    assert Order.objects.count() == 1


def test_a_refused_or_replayed_checkout_is_not_counted(api, make_product, product):
    plenty = make_product(stock=500)
    for _ in range(3):
        api_order(api, plenty, quantity=11)
    api.token = None
    api.post("/api/cart/items/", {"product_id": product.pk})
    ordered = api.token
    assert api.post("/api/checkout/", CUSTOMER).status_code == HTTPStatus.CREATED
    again = api.post("/api/checkout/", CUSTOMER, token=ordered)
    assert again.json()["code"] == "cart_already_ordered"
    assert api_order(api, product).status_code == HTTPStatus.CREATED
