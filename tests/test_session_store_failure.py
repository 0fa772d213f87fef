"""A session store that fails for a moment (a Redis failover) costs the visitor no cart."""

from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings

from shop.cache_session import SessionStore
from shop.cart import Cart
from shop.session_cart import load_cart

pytestmark = pytest.mark.django_db


class FlakyCache(LocMemCache):
    """Local memory whose reads fail while `failing` is set, as Redis does during a failover."""

    failing = False

    def get(self, *args, **kwargs):
        if FlakyCache.failing:
            raise ConnectionError("the session store is failing over")
        return super().get(*args, **kwargs)


FLAKY = {"default": {"BACKEND": "tests.test_session_store_failure.FlakyCache"}}


@pytest.fixture
def flaky_store():
    FlakyCache.failing = False
    with override_settings(CACHES=FLAKY, SESSION_ENGINE="shop.cache_session"):
        yield FlakyCache
    FlakyCache.failing = False


def add(client: Client, product) -> str:
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def test_a_failed_session_read_keeps_the_cookie_and_the_cart(client, product, flaky_store):
    add(client, product)
    key = client.cookies["sessionid"].value

    flaky_store.failing = True
    message = add(client, product)
    page = client.get("/cart/")
    flaky_store.failing = False

    assert message.startswith("Your cart cannot be reached right now")
    assert page.status_code == HTTPStatus.OK
    assert "The session store is not answering right now" in page.content.decode()
    assert client.cookies["sessionid"].value == key  # not deleted, not replaced
    assert load_cart(client.session) == Cart([(product.pk, 1)])
    assert add(client, product).startswith("Added 1")
    assert load_cart(client.session) == Cart([(product.pk, 2)])


def test_djangos_own_cache_store_would_drop_the_cookie(client, product, flaky_store):
    """Why the shop has its own: the stock store deletes the cookie on a failed read."""
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache"):
        add(client, product)
        flaky_store.failing = True
        client.get("/cart/")
        flaky_store.failing = False
    assert client.cookies["sessionid"].value == ""


def test_a_session_that_could_not_be_read_is_never_written_back(flaky_store):
    session = SessionStore()
    session["cart"] = [[1, 2]]
    session.save()
    flaky_store.failing = True
    stale = SessionStore(session.session_key)
    assert stale.load() == {}
    assert stale.session_key == session.session_key
    assert stale.unavailable is True
    with pytest.raises(UpdateError):
        stale.save()
    flaky_store.failing = False
    assert SessionStore(session.session_key).load() == {"cart": [[1, 2]]}


def test_a_session_missing_from_the_store_is_still_a_new_one(flaky_store):
    session = SessionStore("keyofasessionthestorenevergave01")
    assert session.load() == {}
    assert session.session_key is None
    assert session.unavailable is False
