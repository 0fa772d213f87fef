"""Checkout, replays, idempotency, login and order history through the JSON API."""

import threading
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.tokens import decode_cart
from shop.models import Order, Product

from .conftest import ApiClient

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)


pytestmark = pytest.mark.usefixtures("login_throttle_reset")


@pytest.fixture
def filled(api, product, make_product):
    """A cart of 2 × product (24.00) and 1 × a 5.50 product."""
    other = make_product(price="5.50", stock=4)
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    api.post("/api/cart/items/", {"product_id": other.pk})
    return api.token


def test_checkout_places_the_order_at_database_prices(api, filled, product):
    token = decode_cart(filled)
    response = api.post("/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    order = Order.objects.get()
    assert body["order"]["id"] == order.pk
    assert body["order"]["total"] == "53.50"
    assert [(line["quantity"], line["unit_price"]) for line in body["order"]["lines"]] == [
        (2, "24.00"),
        (1, "5.50"),
    ]
    assert order.channel == Order.Channel.API
    assert order.cart_id == token.cid
    assert order.token_bytes == token.size == len(filled.encode())
    assert order.total == Decimal("53.50")
    product.refresh_from_db()
    assert product.stock == 18


def test_checkout_answers_with_a_fresh_empty_cart(api, filled):
    old_cid = decode_cart(filled).cid
    body = api.post("/api/checkout/", CUSTOMER).json()
    fresh = decode_cart(body["token"])
    assert fresh.cart.to_compact() == []
    assert fresh.cid != old_cid
    assert body["cart"]["items"] == []


def test_prices_in_the_checkout_body_are_ignored(api, filled):
    body = {**CUSTOMER, "total": "0.01", "lines": [{"unit_price": "0.01", "quantity": 2}]}
    response = api.post("/api/checkout/", body)
    assert response.status_code == HTTPStatus.CREATED
    assert Order.objects.get().total == Decimal("53.50")
    assert {line.unit_price for line in Order.objects.get().lines.all()} == {
        Decimal("24.00"),
        Decimal("5.50"),
    }


def test_price_change_after_adding_is_charged_at_the_new_price(api, filled, product):
    product.price = Decimal("30.00")
    product.save()
    assert api.post("/api/checkout/", CUSTOMER).json()["order"]["total"] == "65.50"


def test_same_token_checked_out_twice_makes_one_order(api, filled):
    assert api.post("/api/checkout/", CUSTOMER, token=filled).status_code == HTTPStatus.CREATED
    response = api.post("/api/checkout/", CUSTOMER, token=filled)
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": "This cart has already been checked out; start a new cart.",
        "code": "cart_already_ordered",
    }
    assert Order.objects.count() == 1


def test_an_older_token_of_an_ordered_cart_is_refused(api, product, make_product):
    api.post("/api/cart/items/", {"product_id": product.pk})
    older = api.token
    api.post("/api/cart/items/", {"product_id": make_product().pk})
    assert api.post("/api/checkout/", CUSTOMER).status_code == HTTPStatus.CREATED
    response = api.post("/api/checkout/", CUSTOMER, token=older)
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "cart_already_ordered"
    assert Order.objects.count() == 1


def test_retry_with_the_same_idempotency_key_returns_the_same_order(api, filled):
    first = api.post("/api/checkout/", CUSTOMER, token=filled, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/checkout/", CUSTOMER, token=filled, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.OK
    assert again.json()["order"] == first.json()["order"]
    assert Order.objects.get().idempotency_key == "k-1"
    other = api.post("/api/checkout/", CUSTOMER, token=filled, HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == HTTPStatus.CONFLICT
    assert Order.objects.count() == 1


@pytest.mark.parametrize("key", ["has space", "", "k-1\n", "x" * 101])
def test_bad_idempotency_key_is_400(api, filled, key):
    response = api.post("/api/checkout/", CUSTOMER, token=filled, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in response.json()
    assert Order.objects.count() == 0


def test_short_stock_is_409_with_the_shortages_and_writes_nothing(api, filled, product):
    product.stock = 1
    product.save()
    response = api.post("/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.CONFLICT
    body = response.json()
    assert body["code"] == "out_of_stock"
    assert body["shortages"] == [
        {"product_id": product.pk, "name": product.name, "requested": 2, "available": 1}
    ]
    assert Order.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 1


def test_withdrawn_product_is_409_products_unavailable(api, filled, product):
    product.active = False
    product.save()
    response = api.post("/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "products_unavailable"
    assert response.json()["product_ids"] == [product.pk]
    assert Order.objects.count() == 0


def test_empty_cart_or_no_token_cannot_check_out(api):
    for token in (None, api.post("/api/cart/").json()["token"]):
        response = api.post("/api/checkout/", CUSTOMER, token=token)
        assert response.status_code == HTTPStatus.CONFLICT
        assert response.json()["code"] == "empty_cart"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"address": "x" * 1001}, "address"),
    ],
)
def test_bad_customer_fields_are_400(api, filled, change, field):
    response = api.post("/api/checkout/", {**CUSTOMER, **change})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert Order.objects.count() == 0


# --- Identity --------------------------------------------------------------------------


def test_login_returns_the_same_cart_now_carrying_the_user(api, filled, user):
    before = decode_cart(filled)
    response = api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == HTTPStatus.OK
    after = decode_cart(response.json()["token"])
    assert after.sub == user.pk
    assert (after.cid, after.cart, after.orig_iat) == (before.cid, before.cart, before.orig_iat)


def test_wrong_password_is_401_and_changes_nothing(api, filled, user):
    response = api.post("/api/auth/token/", {"username": "ada", "password": "wrong"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert api.token == filled


def test_order_of_a_logged_in_token_belongs_to_the_user_and_is_listed(api, filled, user):
    api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    order_id = api.post("/api/checkout/", CUSTOMER).json()["order"]["id"]
    assert Order.objects.get(pk=order_id).user == user
    response = api.get("/api/orders/")
    assert response.status_code == HTTPStatus.OK
    assert [o["id"] for o in response.json()["results"]] == [order_id]


def test_orders_of_other_users_are_not_listed(api, user, product):
    other = ApiClient()
    get_user_model().objects.create_user("bob", "bob@example.com", PASSWORD)
    other.post("/api/auth/token/", {"username": "bob", "password": PASSWORD})
    other.post("/api/cart/items/", {"product_id": product.pk})
    assert other.post("/api/checkout/", CUSTOMER).status_code == HTTPStatus.CREATED
    api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    assert api.get("/api/orders/").json()["results"] == []


def test_orders_need_a_token_with_a_user(api):
    for token in (None, api.post("/api/cart/").json()["token"]):
        response = api.get("/api/orders/", token=token)
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response.json()["code"] == "not_logged_in"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deleted_user_cannot_check_out(api, filled, user):
    api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    user.delete()
    response = api.post("/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "login_ended"
    assert Order.objects.count() == 0


def test_logout_is_forgetting_the_token_so_a_copied_token_still_works(api, filled, user):
    """The documented trade-off: the server cannot revoke a token before its exp."""
    api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    copied = api.token
    api.token = None  # the client "logs out"
    response = api.get("/api/orders/", token=copied)
    assert response.status_code == HTTPStatus.OK


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_of_one_cart_make_one_order(product):
    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrency (PostgreSQL)")
    api = ApiClient()
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    token = api.token
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def checkout():
        client = ApiClient()
        barrier.wait()
        statuses.append(client.post("/api/checkout/", CUSTOMER, token=token).status_code)
        connection.close()

    threads = [threading.Thread(target=checkout) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 18


def queries_of(api, method, path, body=None, *, limits=False):
    """The kinds of the request's queries; those of the order limits' counter table (its
    cost is the same for any cart) only with `limits`."""
    with CaptureQueriesContext(connection) as queries:
        response = api.call(method, path, body)
    return response, [
        q["sql"].lstrip().split()[0].upper()
        for q in queries
        if limits == ("shop_limits_cache" in q["sql"])
    ]


def test_login_and_order_history_only_read(api, filled, user):
    response, kinds = queries_of(
        api, "POST", "/api/auth/token/", {"username": "ada", "password": PASSWORD}
    )
    assert response.status_code == HTTPStatus.OK
    assert set(kinds) == {"SELECT"}
    response, kinds = queries_of(api, "GET", "/api/orders/")
    assert response.status_code == HTTPStatus.OK
    assert set(kinds) == {"SELECT"}


@pytest.mark.parametrize("lines", [1, 50])
def test_checkout_makes_the_same_number_of_queries_whatever_the_lines(api, make_product, lines):
    for _ in range(lines):
        api.post("/api/cart/items/", {"product_id": make_product().pk})
    response, kinds = queries_of(api, "POST", "/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.CREATED
    # Lock the products, check the cart id, one UPDATE of the stock, the order and its lines
    # in two INSERTs, the token's size recorded on the order, then read the order back.
    assert kinds.count("UPDATE") == 2
    assert kinds.count("INSERT") == 2
    # At most 10, and the savepoints of the limits' counter table when it is the database.
    assert len([k for k in kinds if k not in ("SAVEPOINT", "RELEASE")]) <= 10


def test_the_checkout_limits_cost_the_same_few_queries_whatever_the_lines(api, make_product):
    costs = []
    for lines in (1, 5):
        for _ in range(lines):
            api.post("/api/cart/items/", {"product_id": make_product().pk})
        response, kinds = queries_of(api, "POST", "/api/checkout/", CUSTOMER, limits=True)
        assert response.status_code == HTTPStatus.CREATED
        costs.append(len(kinds))
    assert costs[0] == costs[1] <= 8


def test_a_changed_total_is_refused_with_409_and_the_new_total(api, filled, product):
    stock = Product.objects.get(pk=product.pk).stock
    Product.objects.filter(pk=product.pk).update(price="30.00")

    refused = api.post("/api/checkout/", {**CUSTOMER, "expected_total": "53.50"})

    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json()["code"] == "prices_changed"
    assert refused.json()["total"] == "65.50"
    assert "the total is now €65.50, not €53.50" in refused.json()["detail"]
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=product.pk).stock == stock
    accepted = api.post("/api/checkout/", {**CUSTOMER, "expected_total": "65.50"})
    assert accepted.status_code == HTTPStatus.CREATED
    assert accepted.json()["order"]["total"] == "65.50"


def test_the_expected_total_is_optional_and_checked_when_sent(api, filled):
    assert api.post("/api/checkout/", {**CUSTOMER, "expected_total": "53.5"}).status_code == (
        HTTPStatus.CREATED
    )


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-1", "1e400", "abc", "12.345", [], {}])
def test_a_malformed_expected_total_is_a_400_on_that_field(api, filled, bad):
    response = api.post("/api/checkout/", {**CUSTOMER, "expected_total": bad})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "expected_total" in response.json()
    assert Order.objects.count() == 0
