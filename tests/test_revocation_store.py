"""The denylist of revoked cart ids: shared, checked per request, and never growing for ever."""

import time

import pytest
from django.conf import settings

from api import revocation
from api.models import RevokedCart

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_store(settings):
    settings.REDIS_URL = ""
    store = revocation.denylist()
    store.clear()
    return store


@pytest.fixture
def redis_store(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the Redis denylist)")
    store = revocation.denylist()
    store.clear()
    yield store
    store.clear()


def test_without_redis_the_denylist_is_the_database(database_store):
    assert isinstance(database_store, revocation.DatabaseDenylist)


def test_a_revoked_cart_is_refused_until_its_entry_expires(database_store):
    now = int(time.time())
    database_store.revoke("cart-one-abc", until=now + 60)
    assert database_store.is_revoked("cart-one-abc", now=now)
    assert not database_store.is_revoked("cart-two-abc", now=now)
    assert not database_store.is_revoked("cart-one-abc", now=now + 61)


def test_each_check_counts_one_lookup(database_store):
    revocation.reset_lookups()
    database_store.is_revoked("cart-one-abc", now=int(time.time()))
    database_store.is_revoked("cart-one-abc", now=int(time.time()))
    assert revocation.lookups() == {"denylist": 2}


def test_expired_entries_are_deleted_so_the_store_does_not_grow(database_store):
    now = int(time.time())
    past = revocation.datetime.fromtimestamp(now - 1, tz=revocation.UTC)
    RevokedCart.objects.bulk_create(
        RevokedCart(cid=f"old-cart-{n:04d}", expires_at=past) for n in range(20)
    )
    assert database_store.size().entries == 20
    database_store.revoke("new-cart-0001", until=now + 60)  # each revoke purges first
    size = database_store.size()
    assert size.entries == 1
    assert 0 < size.bytes < 200
    assert list(RevokedCart.objects.values_list("cid", flat=True)) == ["new-cart-0001"]


def test_an_entry_lasts_as_long_as_the_latest_token_of_the_cart(settings):
    settings.CART_TOKEN_TTL, settings.CART_TOKEN_MAX_AGE, settings.CART_TOKEN_LEEWAY = 300, 3600, 30
    assert revocation.revoked_until(orig_iat=1000, now=2000) == 2000 + 300 + 30
    assert revocation.revoked_until(orig_iat=1000, now=4500) == 1000 + 3600 + 30


def test_redis_entries_expire_by_themselves(redis_store):
    now = int(time.time())
    redis_store.revoke("cart-redis-1", until=now + 2)
    assert redis_store.is_revoked("cart-redis-1", now=now)
    assert redis_store.size().entries == 1
    assert redis_store.size().bytes > 0
    deadline = time.monotonic() + 5
    while redis_store.size().entries and time.monotonic() < deadline:
        time.sleep(0.2)
    assert redis_store.size().entries == 0
    assert not redis_store.is_revoked("cart-redis-1", now=now)


def test_settings_refuse_an_unknown_revocation_mode():
    assert settings.CART_TOKEN_REVOCATION in revocation.MODES
