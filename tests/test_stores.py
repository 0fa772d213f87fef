"""The registry of session stores: one row per store, and the row in use follows Django's engine."""

from importlib import import_module

import pytest

from shop import stores
from shop.stores import STORES


@pytest.mark.parametrize("name", list(STORES))
def test_every_store_row_names_an_engine_django_can_import(name):
    store = STORES[name]
    assert import_module(store.engine).SessionStore
    assert store.name == name
    for text in (store.where, store.lock, store.logout, store.shared, store.listing):
        assert text.strip()


@pytest.mark.parametrize("name", list(STORES))
def test_the_store_in_use_is_the_row_of_djangos_session_engine(settings, name):
    settings.SESSION_ENGINE = STORES[name].engine
    assert stores.current().name == name


def test_cache_store_on_local_memory_says_its_lock_covers_one_process(settings):
    settings.SESSION_ENGINE = STORES["cache"].engine
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    store = stores.current()
    assert store.cache is stores.LOCAL_MEMORY
    assert store.where == "this server process's memory"
    assert "{" not in store.lock + store.shared + store.where
    assert store.label == "cache (local memory)"


def test_cache_store_on_redis_says_the_lock_is_shared_by_every_process(settings):
    settings.SESSION_ENGINE = STORES["cached_db"].engine
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    store = stores.current()  # no connection is made to tell Redis from local memory
    assert stores.cache_on_redis()
    assert store.cache is stores.REDIS
    assert store.where.endswith("with a copy in Redis")


def test_signed_cookies_cannot_lock_and_logout_cannot_delete_a_copied_cookie():
    store = STORES["signed_cookies"]
    assert not store.lockable and not store.in_table
    assert "stays valid until it expires" in store.logout


def test_an_engine_without_a_row_is_described_by_its_path(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.file"
    assert stores.current().name == "django.contrib.sessions.backends.file"
