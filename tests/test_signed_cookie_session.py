"""The signed-cookie store signs one state of a session's data once, and every change again."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.sessions.backends import signed_cookies as django_store
from django.core import signing
from django.test import Client, override_settings

from shop import signed_cookie_session
from shop.cart import Cart
from shop.session_cart import load_cart
from shop.stores import STORES

SALT = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def session_signings(monkeypatch) -> list[object]:
    """Every session cookie signed from now on (Django's signing.dumps with the store's salt)."""
    signed: list[object] = []
    dumps = signing.dumps

    def counting_dumps(obj, *args, **kwargs):
        if kwargs.get("salt") == SALT:
            signed.append(obj)
        return dumps(obj, *args, **kwargs)

    monkeypatch.setattr(signing, "dumps", counting_dumps)
    return signed


def test_adding_to_the_cart_signs_the_session_once_for_the_size_check_and_the_cookie(
    db, product, session_signings
):
    with override_settings(SESSION_ENGINE=STORES["signed_cookies"].engine):
        client = Client()
        answer = client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
        assert answer.status_code == HTTPStatus.FOUND
        assert len(session_signings) == 1
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert load_cart(django_store.SessionStore(cookie)) == Cart([(product.pk, 2)])


def test_a_change_after_signing_is_signed_again():
    session = signed_cookie_session.SessionStore()
    session["cart"] = [[1, 1]]
    first = session._get_session_key()
    assert session._get_session_key() is first  # the same state: not signed again
    session["cart"] = [[1, 2]]
    second = session._get_session_key()
    assert second != first
    assert signed_cookie_session.SessionStore(second)["cart"] == [[1, 2]]


def test_a_value_changed_in_place_is_signed_again_once_marked_modified():
    session = signed_cookie_session.SessionStore()
    session["orders"] = [1]
    first = session._get_session_key()
    session["orders"].append(2)  # Django's rule: changing a value in place needs modified
    session.modified = True
    assert signed_cookie_session.SessionStore(session._get_session_key())["orders"] == [1, 2]
    assert session._get_session_key() != first


def test_cookies_of_djangos_store_and_of_this_one_read_in_each_other():
    ours = signed_cookie_session.SessionStore()
    ours["cart"] = [[3, 1]]
    ours.save()
    djangos = django_store.SessionStore()
    djangos["cart"] = [[4, 2]]
    djangos.save()
    assert django_store.SessionStore(ours.session_key)["cart"] == [[3, 1]]
    assert signed_cookie_session.SessionStore(djangos.session_key)["cart"] == [[4, 2]]
