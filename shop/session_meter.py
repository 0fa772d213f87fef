"""The cart page's panel "What the server keeps": the visitor's session, measured where it lives.

Reading only; the store itself is `shop.session_cart`, its description `shop.stores`.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import db as db_backend
from django.core import signing
from django.core.cache import caches
from django.utils import timezone

from . import stores
from .server_timing import timed
from .session_cart import STORE_ERRORS


def _db_row(session):
    model = db_backend.SessionStore.get_model_class()
    return (
        model.objects.filter(session_key=session.session_key)
        .values_list("session_data", "expire_date")
        .first()
    )


def _cache_entry(session, *, on_redis: bool) -> tuple[int | None, datetime | None]:
    """(bytes, expiry) of the session's cache entry, measured where the cache allows."""
    backend = caches[settings.SESSION_CACHE_ALIAS]
    key = session.cache_key
    if on_redis:
        from django_redis import get_redis_connection

        client = get_redis_connection(settings.SESSION_CACHE_ALIAS)
        size = client.strlen(backend.make_key(key))
        ttl = backend.ttl(key)
        expires = timezone.now() + timedelta(seconds=ttl) if ttl and ttl > 0 else None
        return (size or None), expires
    # Local memory keeps each value pickled; this is the size of that pickle.
    data = backend.get(key)
    if data is None:
        return None, None
    return len(pickle.dumps(data, pickle.HIGHEST_PROTOCOL)), session.get_expiry_date()


def _signed_cookie_expiry(value: str) -> datetime | None:
    try:
        timestamp = signing.b62_decode(value.rsplit(":", 2)[-2])
    except (IndexError, ValueError):
        return None
    born = datetime.fromtimestamp(timestamp, tz=timezone.get_current_timezone())
    return born + timedelta(seconds=settings.SESSION_COOKIE_AGE)


@timed("session")
def session_state(request) -> dict[str, Any]:
    """What this channel keeps for the visitor, measured, for the cart page's panel.

    Keys: store, where, lock, has_session, key_prefix, server_bytes, cache_bytes,
    cookie_bytes, expires_at, unavailable. Sizes are None where nothing is held;
    unavailable is True when the store did not answer the measurement.
    """
    session = request.session
    store = stores.current()
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    state: dict[str, Any] = {
        "store": store.name,
        "where": store.where,
        "lock": store.lock,
        "has_session": False,
        "key_prefix": "",
        "server_bytes": None,
        "cache_bytes": None,
        "cookie_bytes": len(cookie.encode()) if cookie else 0,
        "expires_at": None,
        "unavailable": False,
    }
    if not store.lockable:  # signed cookies: the cookie is the session
        if cookie and session.keys():
            state["has_session"] = True
            state["expires_at"] = _signed_cookie_expiry(cookie)
        return state
    key = session.session_key
    if not key:
        if cookie and store.uses_cache:
            # The cookie named a session the cache did not return: gone, or the cache is down?
            try:
                caches[settings.SESSION_CACHE_ALIAS].has_key("session-store-probe")
            except STORE_ERRORS:
                state["unavailable"] = True
        return state
    state["key_prefix"] = key[:8]
    try:
        _measure(session, store, state)
    except STORE_ERRORS:
        state["unavailable"] = True
    return state


def _measure(session, store: stores.Store, state: dict[str, Any]) -> None:
    on_redis = store.cache is stores.REDIS
    if store.in_table:
        row = _db_row(session)
        if row:
            state["has_session"] = True
            state["server_bytes"] = len(row[0].encode())
            state["expires_at"] = row[1]
        if store.uses_cache:
            state["cache_bytes"] = _cache_entry(session, on_redis=on_redis)[0]
    else:
        size, expires = _cache_entry(session, on_redis=on_redis)
        if size is not None:
            state["has_session"] = True
            state["server_bytes"] = size
            state["expires_at"] = expires
