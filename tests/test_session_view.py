"""GET /session/ shows a visitor their own session, and nobody else's; /session/forget/."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from shop.session_cart import CART_SESSION_KEY
from shop.stores import STORES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def db_sessions():
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


def add(client: Client, product, quantity: int = 1) -> None:
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": quantity})
    assert response.status_code == HTTPStatus.FOUND


def test_two_visitors_each_see_only_their_own_session(make_product):
    kettle, tea = make_product(name="Kettle"), make_product(name="Tea")
    ada, bob = Client(), Client()
    add(ada, kettle, 2)
    add(bob, tea, 3)

    seen_by_ada = ada.get("/session/").json()
    seen_by_bob = bob.get("/session/").json()

    ada_key, bob_key = ada.cookies["sessionid"].value, bob.cookies["sessionid"].value
    assert seen_by_ada["key_prefix"] == ada_key[:8]
    assert seen_by_bob["key_prefix"] == bob_key[:8]
    assert seen_by_ada["cart"] == [{"product_id": kettle.pk, "name": "Kettle", "quantity": 2}]
    assert seen_by_bob["cart"] == [{"product_id": tea.pk, "name": "Tea", "quantity": 3}]
    assert seen_by_ada["data"] == {CART_SESSION_KEY: [[kettle.pk, 2]]}
    assert bob_key not in str(seen_by_ada) and ada_key not in str(seen_by_bob)


def test_the_view_shows_the_row_the_store_holds(client, product):
    add(client, product, 2)
    body = client.get("/session/").json()
    row = Session.objects.get(session_key=client.cookies["sessionid"].value)
    assert body["has_session"] is True
    assert body["store"] == "db"
    assert body["server_bytes"] == len(row.session_data.encode())
    assert body["expires_at"] == row.expire_date.isoformat()
    assert body["data"] == row.get_decoded()


def test_a_visitor_without_a_session_gets_none_and_no_cookie(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/session/")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["has_session"] is False
    assert response.json()["data"] == {}
    assert not response.cookies
    assert not response.has_header("Set-Cookie")
    assert Session.objects.count() == 0


def test_no_query_parameter_or_header_shows_another_visitors_session(make_product):
    ada, mallory = Client(), Client()
    add(ada, make_product())
    ada_key = ada.cookies["sessionid"].value
    body = mallory.get(f"/session/?session_key={ada_key}&key={ada_key}").json()
    assert body["has_session"] is False
    assert body["cart"] == []


@pytest.mark.parametrize("lines", [1, 30])
def test_the_view_costs_the_same_queries_for_1_or_30_lines(
    client, make_product, django_assert_num_queries, lines
):
    for product in [make_product(stock=50) for _ in range(lines)]:
        add(client, product)
    # the session, its row's size, the products' names
    with django_assert_num_queries(3):
        body = client.get("/session/").json()
    assert len(body["cart"]) == lines


def test_a_logged_in_visitor_sees_their_name_and_not_the_password_hash(
    client, product, django_assert_num_queries
):
    user = get_user_model().objects.create_user(username="ada", password="a-long-password-1")
    client.force_login(user)
    add(client, product)
    with django_assert_num_queries(4):  # + the user
        body = client.get("/session/").json()
    assert body["user"] == "ada"
    assert body["data"]["_auth_user_id"] == str(user.pk)
    assert body["data"]["_auth_user_hash"].startswith("(hidden")
    assert user.get_session_auth_hash() not in str(body)


def test_reading_the_view_consumes_the_shops_messages_once(client, product):
    add(client, product)
    first = client.get("/session/").json()["messages"]
    assert [m["level"] for m in first] == ["success"]
    assert "Added 1" in first[0]["text"]
    assert client.get("/session/").json()["messages"] == []


def test_the_view_is_never_cached(client):
    assert "no-store" in client.get("/session/")["Cache-Control"]


def test_forgetting_deletes_this_visitors_session_and_keeps_the_cookie(make_product):
    ada, bob = Client(), Client()
    add(ada, make_product())
    add(bob, make_product())
    ada_key = ada.cookies["sessionid"].value

    response = ada.post("/session/forget/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["forgotten"] is True
    assert not response.has_header("Set-Cookie")
    assert not Session.objects.filter(session_key=ada_key).exists()
    assert Session.objects.filter(session_key=bob.cookies["sessionid"].value).exists()
    # The browser still sends the cookie; looking at the session does not delete it.
    seen = ada.get("/session/")
    assert seen.json()["has_session"] is False
    assert not seen.has_header("Set-Cookie")


def test_after_forgetting_the_next_add_starts_a_new_session(client, make_product):
    add(client, make_product())
    old_key = client.cookies["sessionid"].value
    client.post("/session/forget/")
    fresh = make_product(name="Fresh")
    add(client, fresh)
    body = client.get("/session/").json()
    assert client.cookies["sessionid"].value != old_key
    assert body["cart"] == [{"product_id": fresh.pk, "name": "Fresh", "quantity": 1}]


def test_forgetting_without_a_session_forgets_nothing(client):
    body = client.post("/session/forget/").json()
    assert body["forgotten"] is False


def test_forgetting_needs_the_csrf_token(product):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/session/forget/").status_code == HTTPStatus.FORBIDDEN


def test_with_signed_cookies_there_is_nothing_on_the_server_to_forget(client, product, settings):
    settings.SESSION_ENGINE = STORES["signed_cookies"].engine
    add(client, product)
    response = client.post("/session/forget/")
    assert response.status_code == HTTPStatus.CONFLICT
    body = client.get("/session/").json()
    assert body["store"] == "signed_cookies"
    assert body["server_bytes"] is None
    assert body["cart"][0]["product_id"] == product.pk


@pytest.mark.parametrize(
    "engine",
    ["shop.cache_session", "django.contrib.sessions.backends.cached_db"],
)
def test_forgetting_works_in_the_cache_stores_too(make_product, settings, engine):
    settings.SESSION_ENGINE = engine
    client = Client()
    add(client, make_product())
    assert client.get("/session/").json()["has_session"] is True
    assert client.post("/session/forget/").json()["forgotten"] is True
    body = client.get("/session/").json()
    assert body["has_session"] is False
    assert body["cart"] == []
