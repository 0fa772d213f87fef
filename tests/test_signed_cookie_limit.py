"""Signed-cookie sessions past the browser's cookie limit: refused with a message, cart kept."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import Client, override_settings

from shop.cart import Cart
from shop.session_cart import CartTooBigForCookie, load_cart, signed_cookie_bytes
from shop.stores import STORES

LIMIT = 120  # a cookie this small holds a cart of one or two lines


@pytest.fixture
def shopper(db):
    with override_settings(
        SESSION_ENGINE=STORES["signed_cookies"].engine,
        SESSION_COOKIE_MAX_BYTES=LIMIT,
    ):
        yield Client()


def stored_cart(client) -> Cart:
    return load_cart(SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value))


def cookie_bytes(client) -> int:
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    return len(morsel.key) + len(morsel.value)


def fill_until_refused(client, products) -> tuple[Cart, str]:
    """Add products one by one; return the cart before the refused add and its message."""
    for product in products:
        before = stored_cart(client) if client.cookies.get(settings.SESSION_COOKIE_NAME) else Cart()
        answer = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1}, follow=True)
        assert answer.status_code == HTTPStatus.OK
        texts = [m.message for m in get_messages(answer.wsgi_request)]
        texts += [answer.content.decode()]
        if any("no longer fits in your browser" in text for text in texts):
            return before, next(t for t in texts if "no longer fits" in t)
    raise AssertionError("the cookie never reached the limit")


def test_a_change_that_would_outgrow_the_cookie_is_refused_and_the_cart_kept(shopper, make_product):
    products = [make_product(stock=50) for _ in range(12)]
    before, message = fill_until_refused(shopper, products)
    assert before  # some lines fit
    assert stored_cart(shopper) == before
    assert cookie_bytes(shopper) <= LIMIT
    assert "Nothing was changed" in message


def test_a_change_that_shrinks_an_oversized_cookie_is_allowed(shopper, make_product):
    products = [make_product(stock=50) for _ in range(12)]
    before, _ = fill_until_refused(shopper, products)
    first = before.product_ids[0]
    with override_settings(SESSION_COOKIE_MAX_BYTES=10):  # now every cookie is too big
        answer = shopper.post(f"/cart/items/{first}/remove/", follow=True)
    assert answer.status_code == HTTPStatus.OK
    assert first not in stored_cart(shopper).product_ids


def test_the_refusal_names_the_sizes_in_bytes():
    error = CartTooBigForCookie(size=4130, limit=4096)
    assert error.code == "cookie_too_large"
    assert "4130 bytes" in error.message and "at most 4096" in error.message


def test_cookie_bytes_count_the_name_and_the_signed_value():
    session = SessionStore()
    assert signed_cookie_bytes(session) == len(settings.SESSION_COOKIE_NAME)
    session["cart"] = [[1, 2]]
    assert signed_cookie_bytes(session) == len(settings.SESSION_COOKIE_NAME) + len(
        session._get_session_key()
    )
