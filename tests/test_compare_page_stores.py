"""What /admin/compare/ can say about each session store: listed, counted, or nothing held."""

import os
import uuid
from http import HTTPStatus

import pytest
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore

from compare import figures
from shop.cart import Cart
from shop.stores import STORES

URL = "/admin/compare/"
REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture
def redis_cache_store(settings):
    """Sessions in Redis under a key prefix of this test alone; its keys are removed after."""
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: the Redis session count needs a Redis server")
    prefix = f"admintest-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.SESSION_ENGINE = STORES["cache"].engine
    yield prefix
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def test_redis_sessions_are_counted_with_their_carts_and_bytes(redis_cache_store, make_product):
    first, second = make_product(), make_product()
    for cart in (Cart([(first.pk, 2), (second.pk, 1)]), Cart([(second.pk, 5)]), Cart()):
        session = CacheSessionStore()
        session["cart"] = cart.to_compact()
        session.create()

    result = figures.session_figures()

    assert result.store == "cache"
    assert result.sessions == 3
    assert result.carts == 2
    assert result.cart_items == 3 + 5
    assert result.cart_bytes > 0
    assert result.abandoned_carts is None  # Redis drops expired sessions: nothing to count
    assert "SCAN" in result.source
    assert result.oldest_cart_written is not None


def test_local_memory_cache_store_says_it_cannot_be_listed(settings):
    settings.SESSION_ENGINE = STORES["cache"].engine
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    result = figures.session_figures()
    assert result.carts is None
    assert "cannot be listed" in result.note


def test_signed_cookie_store_says_the_server_holds_nothing(client, admin_user, settings):
    settings.SESSION_ENGINE = STORES["signed_cookies"].engine
    client.force_login(admin_user)
    result = figures.session_figures()
    assert result.carts == 0 and result.cart_bytes == 0
    assert "the server holds nothing" in result.note
    response = client.get(URL)
    assert response.status_code == HTTPStatus.OK
    assert "the server holds nothing" in response.content.decode()


def test_cached_db_sessions_are_listed_from_the_table(settings, make_product):
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore

    settings.SESSION_ENGINE = STORES["cached_db"].engine
    product = make_product()
    session = CachedDbStore()
    session["cart"] = Cart([(product.pk, 4)]).to_compact()
    session.create()
    try:
        result = figures.session_figures()
    finally:
        session.delete()  # also drops its copy in the cache (Redis in CI)
    assert result.carts == 1
    assert result.cart_items == 4
    assert "django_session" in result.where
