"""Query budgets of the web shop's pages, pinned: they do not grow with the page."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from shop.cart import Cart
from shop.session_cart import save_cart

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def db_sessions():
    """The budgets are for the default store, whose session row costs one query."""
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


# session row, categories, product count, the page of products
CATALOGUE_QUERIES = 4
# session row, the priced lines (one in_bulk), the panel's measure of the session row
CART_QUERIES = 3


def with_cart(client, cart: Cart) -> None:
    session = client.session
    save_cart(session, cart)
    session.save()
    client.cookies["sessionid"] = session.session_key


@pytest.mark.parametrize("count", [1, 24])
def test_catalogue_costs_the_same_queries_for_1_or_24_products(
    client, make_product, django_assert_num_queries, count
):
    products = [make_product() for _ in range(count)]
    with_cart(client, Cart([(products[0].pk, 1)]))
    with django_assert_num_queries(CATALOGUE_QUERIES):
        response = client.get("/")
    assert response.status_code == HTTPStatus.OK
    assert len(response.context["products"]) == count


@pytest.mark.parametrize("lines", [1, 50])
def test_cart_page_costs_three_queries_for_1_or_50_lines(
    client, make_product, django_assert_num_queries, lines
):
    products = [make_product(stock=100) for _ in range(lines)]
    with_cart(client, Cart((p.pk, 2) for p in products))
    with django_assert_num_queries(CART_QUERIES):
        response = client.get("/cart/")
    assert response.content.decode().count('data-testid="cart-line"') == lines


@pytest.mark.parametrize("lines", [1, 50])
def test_cart_page_of_a_logged_in_user_adds_only_the_user_query(
    client, make_product, django_assert_num_queries, lines
):
    user = get_user_model().objects.create_user(username="ada", password="x-long-password-1")
    client.force_login(user)
    products = [make_product(stock=100) for _ in range(lines)]
    session = client.session
    save_cart(session, Cart((p.pk, 1) for p in products))
    session.save()
    with django_assert_num_queries(CART_QUERIES + 1):
        response = client.get("/cart/")
    assert response.content.decode().count('data-testid="cart-line"') == lines


def test_adding_to_the_cart_reads_one_product_and_writes_the_session_once(client, product):
    with_cart(client, Cart([(product.pk, 1)]))
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    # The test's own transaction turns the view's transaction into a savepoint; skip those.
    statements = [q["sql"].split()[0] for q in captured if "SAVEPOINT" not in q["sql"].upper()]
    assert statements == ["SELECT", "SELECT", "UPDATE"]  # product, session row, write
    # The write is a compare-and-set: only if the row still holds what was read; no row lock.
    update = captured[-1]["sql"]
    assert "session_data" in update.split("WHERE", 1)[1]
    assert not any("FOR UPDATE" in q["sql"] for q in captured)


def test_picture_costs_one_query_and_no_session(client, product, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(f"/products/{product.slug}/picture.svg")
    assert response.status_code == HTTPStatus.OK
    assert response.wsgi_request.session.accessed is False
