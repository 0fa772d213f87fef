"""One cart behaviour for every session store: db, cache, cached_db and signed_cookies."""

from http import HTTPStatus
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from shop.cart import Cart
from shop.session_cart import CART_SESSION_KEY, cart_from_session_data, load_cart
from shop.stores import STORES
from tests.helpers import checkout_fields

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-42"


def cookie_value(client) -> str | None:
    morsel = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel and morsel.value else None


def stored_cart(client) -> Cart:
    """The cart as the store holds it, read through a fresh SessionStore (not the client's)."""
    value = cookie_value(client)
    if value is None:
        return Cart()
    store = import_module(settings.SESSION_ENGINE).SessionStore(value)
    return load_cart(store)


@pytest.fixture(params=list(STORES))
def store(request):
    with override_settings(SESSION_ENGINE=STORES[request.param].engine):
        yield request.param


@pytest.fixture
def shopper(store):
    """A browser-like client on the chosen store; its session is deleted from the store after."""
    client = Client()
    yield client
    value = cookie_value(client)
    if value and store != "signed_cookies":
        import_module(settings.SESSION_ENGINE).SessionStore(value).delete()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="ada", password=PASSWORD, first_name="Ada")


def test_add_set_and_remove_round_trip_through_the_store(shopper, product, make_product):
    other = make_product(stock=50)
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    shopper.post("/cart/add/", {"product_id": other.pk, "quantity": 1})
    assert stored_cart(shopper) == Cart([(product.pk, 2), (other.pk, 1)])
    shopper.post(f"/cart/items/{other.pk}/", {"quantity": 7})
    assert stored_cart(shopper) == Cart([(product.pk, 2), (other.pk, 7)])
    shopper.post(f"/cart/items/{product.pk}/remove/")
    assert stored_cart(shopper) == Cart([(other.pk, 7)])
    html = shopper.get("/cart/").content.decode()
    assert html.count('data-testid="cart-line"') == 1


def test_the_session_holds_only_plain_json(shopper, product, store):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 3})
    value = cookie_value(shopper)
    session = import_module(settings.SESSION_ENGINE).SessionStore(value)
    data = dict(session.items())
    assert data == {CART_SESSION_KEY: [[product.pk, 3]]}
    assert cart_from_session_data(data) == Cart([(product.pk, 3)])


def test_a_refused_change_leaves_the_stored_cart_untouched(shopper, make_product):
    scarce = make_product(stock=3)
    shopper.post("/cart/add/", {"product_id": scarce.pk, "quantity": 2})
    before = cookie_value(shopper)
    response = shopper.post("/cart/add/", {"product_id": scarce.pk, "quantity": 2}, follow=True)
    assert "Only 3 of" in response.content.decode()
    assert stored_cart(shopper) == Cart([(scarce.pk, 2)])
    assert cookie_value(shopper) == before


def test_cart_survives_login_with_a_new_session_cookie(shopper, product, user):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    before = cookie_value(shopper)
    response = shopper.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    after = cookie_value(shopper)
    assert after != before
    assert stored_cart(shopper) == Cart([(product.pk, 2)])
    page = shopper.get("/cart/")
    assert page.context["user"] == user


def test_the_old_session_key_is_dead_after_login(shopper, product, user, store):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    before = cookie_value(shopper)
    shopper.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    engine = import_module(settings.SESSION_ENGINE)
    if store == "signed_cookies":
        # What signed cookies cannot promise: the server keeps nothing to delete, so the
        # pre-login cookie still decodes (anonymous, with the cart) until it expires.
        old = engine.SessionStore(before)
        assert load_cart(old) == Cart([(product.pk, 2)])
        assert "_auth_user_id" not in old
    else:
        assert not engine.SessionStore().exists(before)


def test_logout_deletes_the_session_and_the_cart(shopper, product, user, store):
    shopper.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    key = cookie_value(shopper)
    shopper.post("/accounts/logout/")
    assert stored_cart(shopper) == Cart()
    assert 'aria-label="0 items in your cart"' in shopper.get("/").content.decode()
    if store != "signed_cookies":
        assert not import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


@pytest.mark.parametrize(
    "garbage", ["x", "garbage-cookie-value-1234567890", "a:b:c", "caf\xe9-\xff-junk-value"]
)
def test_garbage_session_cookie_is_an_empty_cart_never_an_error(shopper, product, garbage):
    shopper.cookies[settings.SESSION_COOKIE_NAME] = garbage
    assert shopper.get("/cart/").status_code == HTTPStatus.OK
    response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    assert cookie_value(shopper) != garbage
    assert stored_cart(shopper) == Cart([(product.pk, 1)])


def test_an_attacker_chosen_session_key_never_becomes_a_session(shopper, product, store):
    chosen = "attackerchosensessionkey0123456"
    shopper.cookies[settings.SESSION_COOKIE_NAME] = chosen
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert cookie_value(shopper) != chosen
    assert not import_module(settings.SESSION_ENGINE).SessionStore().exists(chosen) or (
        store == "signed_cookies"
    )
    if store in ("db", "cached_db"):
        assert not Session.objects.filter(session_key=chosen).exists()


def test_a_forged_signed_cookie_is_refused(product):
    with override_settings(SESSION_ENGINE=STORES["signed_cookies"].engine):
        honest = Client()
        honest.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
        payload, timestamp, signature = cookie_value(honest).rsplit(":", 2)
        forged = Client()
        forged.cookies[settings.SESSION_COOKIE_NAME] = (
            f"{payload}:{timestamp}:{'A' * len(signature)}"
        )
        response = forged.get("/cart/")
        assert response.status_code == HTTPStatus.OK
        assert response.context["priced"].cart == Cart()


def test_the_panel_is_honest_about_the_store(shopper, product, store):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    response = shopper.get("/cart/")
    state = response.context["state"]
    html = response.content.decode()
    assert state["store"] == store
    assert f"<code>{store}</code>" in html
    value = cookie_value(shopper)
    assert state["cookie_bytes"] == len(value)
    if store == "signed_cookies":
        assert state["server_bytes"] is None
        assert "On the server</dt>\n        <dd>Nothing." in html
        assert f"<strong>{len(value)} bytes</strong>" in html
        assert state["expires_at"] is not None
    else:
        assert state["key_prefix"] == value[:8]
        assert state["server_bytes"] > 0
        assert f"<strong>{state['server_bytes']} bytes</strong>" in html
        assert state["expires_at"] is not None
    if store in ("db", "cached_db"):
        assert state["server_bytes"] == len(Session.objects.get(pk=value).session_data)
    if store == "cached_db":
        assert state["cache_bytes"] > 0


def test_an_emptied_cart_stays_empty(shopper, product):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    shopper.post(f"/cart/items/{product.pk}/remove/")
    assert stored_cart(shopper) == Cart()
    assert "Your cart is empty." in shopper.get("/cart/").content.decode()


def test_checkout_works_on_every_store(shopper, product):
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    response = shopper.post(
        "/checkout/",
        {
            **checkout_fields(shopper),
            "name": "Ada",
            "email": "ada@example.com",
            "address": "12 Analytical St",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    assert shopper.get(response["Location"]).status_code == HTTPStatus.OK
    assert stored_cart(shopper) == Cart()
