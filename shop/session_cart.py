"""The web shop's cart store: the compact Cart kept in the visitor's Django session.

The session holds only `Cart.to_compact()` (a plain JSON list) under
CART_SESSION_KEY. Reading never fails: a malformed stored value is an empty cart.

Django sessions are last-write-wins: two requests of one visitor that each load
the session, change it and save it lose one change. `change_cart` makes a cart
change atomic per session, as far as each store allows:

- db: the session row is locked (SELECT ... FOR UPDATE) inside a transaction,
  reloaded, changed and written back before the lock is released. On SQLite,
  whose transactions here start with BEGIN IMMEDIATE, the transaction itself
  serialises writers.
- cached_db: the same lock on the database row; the cache copy is rewritten
  under it.
- cache on Redis (django-redis): a Redis lock per session key around reload,
  change, save. Every web process sees the same lock.
- cache on local memory: a lock in this process. The store itself lives only in
  this process, so that covers every request that can see the session.
- signed_cookies: nothing can be locked, because the server keeps nothing. Two
  requests that start from the same cookie each send back their own new cookie
  and the browser keeps the last one, so one change can be lost. What it does
  promise: the cookie cannot be forged or altered (it is signed) and it expires.
  A browser drops, without a word, a cookie longer than 4096 bytes and keeps the
  old one: a change that would grow the cookie past SESSION_COOKIE_MAX_BYTES is
  refused with a message instead, and the cart stays as it was.
"""

from __future__ import annotations

import copy
import pickle
import threading
import zlib
from collections.abc import Callable
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cache as cache_backend
from django.contrib.sessions.backends import cached_db as cached_db_backend
from django.contrib.sessions.backends import db as db_backend
from django.contrib.sessions.backends import signed_cookies as signed_cookies_backend
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.db import router, transaction
from django.utils import timezone

from .cart import Cart, CartError
from .server_timing import timed

CART_SESSION_KEY = "cart"
LOCK_TIMEOUT_SECONDS = 10  # a Redis lock frees itself after this, even if its holder died
LOCK_WAIT_SECONDS = 5  # how long a request waits for the lock before giving up

STORE_NAMES = {
    "django.contrib.sessions.backends.db": "db",
    "django.contrib.sessions.backends.cache": "cache",
    "django.contrib.sessions.backends.cached_db": "cached_db",
    "django.contrib.sessions.backends.signed_cookies": "signed_cookies",
}


class CartBusy(CartError):
    """Another request of the same visitor held the cart for too long."""

    code = "cart_busy"

    def __init__(self) -> None:
        super().__init__(
            "Your cart is being changed by another request (another tab?); please try again."
        )


class CartStoreUnavailable(CartError):
    """The session store did not answer (Redis down, for example); nothing was changed."""

    code = "store_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Your cart cannot be reached right now (the session store is not answering); "
            "nothing was changed. Please try again in a moment."
        )


class CartTooBigForCookie(CartError):
    """The signed-cookie session would outgrow what a browser keeps; nothing was changed."""

    code = "cookie_too_large"

    def __init__(self, *, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"Your cart no longer fits in your browser's cookie: with this change it would take "
            f"{size} bytes, and browsers keep at most {limit}. Nothing was changed; your cart is "
            "as it was. Remove a line or check out what you have."
        )


def _store_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the cache holding the sessions is not answering"."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from django_redis.exceptions import ConnectionInterrupted
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - django-redis is a dependency
        return tuple(errors)
    return (*errors, ConnectionInterrupted, RedisError)


STORE_ERRORS = _store_errors()


# --- Reading and writing ------------------------------------------------------


def cart_from_session_data(data: dict[str, Any]) -> Cart:
    """The cart inside decoded session data; anything malformed is an empty cart."""
    try:
        return Cart.from_compact(data.get(CART_SESSION_KEY))
    except (CartError, TypeError, ValueError, AttributeError):
        return Cart()


def load_cart(session: SessionBase) -> Cart:
    """The visitor's cart; a missing or malformed stored value is an empty cart."""
    try:
        stored = session.get(CART_SESSION_KEY)
    except (TypeError, ValueError):  # pragma: no cover - defensive: a store returning junk
        return Cart()
    return cart_from_session_data({CART_SESSION_KEY: stored})


def save_cart(session: SessionBase, cart: Cart) -> None:
    """Put `cart` in the session as plain JSON; an empty cart leaves no key behind."""
    if cart:
        session[CART_SESSION_KEY] = cart.to_compact()
    elif CART_SESSION_KEY in session:
        del session[CART_SESSION_KEY]


def store_name(session: SessionBase | None = None) -> str:
    """db, cache, cached_db or signed_cookies: the store `session` (or the setting) uses."""
    if session is not None:
        # cached_db's store is a subclass of db's: test it first.
        for module, name in (
            (cached_db_backend, "cached_db"),
            (signed_cookies_backend, "signed_cookies"),
            (cache_backend, "cache"),
            (db_backend, "db"),
        ):
            if isinstance(session, module.SessionStore):
                return name
    return STORE_NAMES.get(settings.SESSION_ENGINE, settings.SESSION_ENGINE)


def logout_promise(store: str) -> str:
    """What logging out does to the session and its cart, said truthfully for `store`."""
    if store == "signed_cookies":
        return (
            "Logging out clears the session cookie in this browser; the cart in it is kept "
            "with your account for your next login. The server keeps no session it could "
            "delete: a copy of the cookie made before stays valid until it expires."
        )
    return (
        "Logging out deletes your session on the server; the cart in it is kept with your "
        "account for your next login."
    )


# --- The atomic read-modify-write ------------------------------------------------

ChangeFn = Callable[[Cart], Cart]
AlsoFn = Callable[[SessionBase], None]


@timed("session")
def change_cart(request, change: ChangeFn, *, also: AlsoFn | None = None) -> Cart:
    """Apply `change` to the visitor's current cart atomically and save the result.

    `change` gets the cart as stored right now (reloaded under the lock) and
    returns the new cart. If it raises CartError nothing is written and the
    error propagates. `also`, if given, makes further changes to the reloaded
    session in the same locked write (checkout records the order id with it).
    Returns the saved cart.
    """
    session = request.session
    name = store_name(session)
    if name == "signed_cookies":
        return _change_signed_cookie(session, change, also)
    try:
        if session.session_key is None:
            # A new visitor: nobody else knows this session yet, so there is nothing to race.
            return _change_new_session(session, change, also)
        if name in ("db", "cached_db"):
            return _change_locked_row(session, change, also, cached=name == "cached_db")
        return _change_locked_cache(session, change, also)
    except STORE_ERRORS as error:
        session.modified = False  # the middleware must not try to save it either
        raise CartStoreUnavailable() from error


def signed_cookie_bytes(session: SessionBase) -> int:
    """Bytes of the session cookie (name and value) a signed-cookie session makes now.

    Browsers count the name and the value against their 4096-byte limit. The value
    is the session itself, signed and compressed: what the store's key function makes.
    """
    value = session._get_session_key() if session.keys() else ""
    return len(settings.SESSION_COOKIE_NAME) + len(value.encode())


def _change_signed_cookie(session: SessionBase, change: ChangeFn, also: AlsoFn | None) -> Cart:
    before = dict(session.items())
    size_before = signed_cookie_bytes(session)
    cart = change(load_cart(session))
    save_cart(session, cart)
    if also is not None:
        also(session)
    size = signed_cookie_bytes(session)
    limit = settings.SESSION_COOKIE_MAX_BYTES
    if size > limit and size > size_before:  # a change that shrinks it is never refused
        session.clear()
        session.update(before)
        raise CartTooBigForCookie(size=size, limit=limit)
    return cart


def _change_new_session(session: SessionBase, change: ChangeFn, also: AlsoFn | None) -> Cart:
    cart = change(load_cart(session))
    save_cart(session, cart)
    if also is not None:
        also(session)
    if cart or also is not None:
        session.save()  # creates the session with a fresh key
        _skip_redundant_save(session)
    return cart


def _replace_data(
    session: SessionBase, data: dict[str, Any], cart: Cart, also: AlsoFn | None
) -> None:
    session.clear()  # drops the in-memory copy without loading the stale one
    session.update(data)
    save_cart(session, cart)
    if also is not None:
        also(session)


def _change_locked_row(session, change: ChangeFn, also: AlsoFn | None, *, cached: bool) -> Cart:
    model = session.model
    using = router.db_for_write(model)
    with transaction.atomic(using=using):
        rows = list(
            model.objects.using(using)
            .select_for_update()
            .filter(session_key=session.session_key, expire_date__gt=timezone.now())
            .order_by()[:1]
        )
        row = rows[0] if rows else None
        if row is None:
            # Expired, logged out elsewhere, or a key the server never issued:
            # never adopt it; start a new session instead.
            session.flush()
            return _change_new_session(session, change, also)
        data = session.decode(row.session_data)
        cart = change(cart_from_session_data(data))
        _replace_data(session, data, cart, also)
        if cached:
            session.save()  # the row, then the cache copy, both under the row lock
        else:
            row = session.create_model_instance(dict(session.items()))
            row.save(force_update=True, using=using)
    _skip_redundant_save(session)
    return cart


# Local-memory caches live in one process, so one process-wide set of locks covers them.
_LOCAL_LOCKS = [threading.Lock() for _ in range(64)]


@contextmanager
def _cache_lock(session):
    backend = session._cache
    if hasattr(backend, "lock"):  # django-redis
        lock = backend.lock(
            f"cart-lock:{session.session_key}",
            timeout=LOCK_TIMEOUT_SECONDS,
            blocking_timeout=LOCK_WAIT_SECONDS,
        )
        if not lock.acquire():
            raise CartBusy()
        try:
            yield
        finally:
            # Expired (held past its timeout) or Redis gone: either way it frees itself.
            with suppress(*STORE_ERRORS):
                lock.release()
    else:
        lock = _LOCAL_LOCKS[zlib.crc32(session.session_key.encode()) % len(_LOCAL_LOCKS)]
        if not lock.acquire(timeout=LOCK_WAIT_SECONDS):
            raise CartBusy()
        try:
            yield
        finally:
            lock.release()


def _change_locked_cache(session, change: ChangeFn, also: AlsoFn | None) -> Cart:
    with _cache_lock(session):
        fresh = type(session)(session.session_key)
        data = fresh.load()
        if fresh.session_key is None:  # not in the cache: expired, evicted or never issued
            session.flush()
            return _change_new_session(session, change, also)
        cart = change(cart_from_session_data(data))
        _replace_data(session, data, cart, also)
        session.save()
    _skip_redundant_save(session)
    return cart


def _skip_redundant_save(session: SessionBase) -> None:
    """Keep SessionMiddleware from writing the session again after the lock is gone.

    The middleware saves every modified session when the response leaves; that
    second write would put back this request's copy over a change another request
    made in between. The session stays "modified" so that the cookie is still sent
    (with a fresh expiry); its save becomes a no-op unless something changed the
    data after the locked write.
    """
    written = copy.deepcopy(dict(session.items()))
    key = session.session_key
    save = type(session).save.__get__(session)

    def save_unless_unchanged(must_create: bool = False) -> None:
        if must_create or session.session_key != key or dict(session.items()) != written:
            save(must_create=must_create)

    session.save = save_unless_unchanged


# --- What the server keeps ---------------------------------------------------------


def _db_row(session):
    model = db_backend.SessionStore.get_model_class()
    return (
        model.objects.filter(session_key=session.session_key)
        .values_list("session_data", "expire_date")
        .first()
    )


def _cache_entry(session) -> tuple[int | None, datetime | None]:
    """(bytes, expiry) of the session's cache entry, measured where the cache allows."""
    backend = session._cache
    key = session.cache_key
    if hasattr(backend, "ttl") and hasattr(backend, "client"):  # django-redis
        raw_key = backend.make_key(key)
        client = backend.client.get_client(write=False)
        size = client.strlen(raw_key)
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
    name = store_name(session)
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    backend = getattr(session, "_cache", None)
    on_redis = backend is not None and hasattr(backend, "lock")
    where = {
        "db": "the database (django_session table)",
        "cache": "Redis" if on_redis else "this server process's memory",
        "cached_db": "the database, with a copy in "
        + ("Redis" if on_redis else "this server process's memory"),
        "signed_cookies": "your browser's cookie (signed by the server, not encrypted)",
    }[name]
    state: dict[str, Any] = {
        "store": name,
        "where": where,
        "has_session": False,
        "key_prefix": "",
        "server_bytes": None,
        "cache_bytes": None,
        "cookie_bytes": len(cookie.encode()) if cookie else 0,
        "expires_at": None,
        "unavailable": False,
        "lock": {
            "db": "the session row is locked during each cart change",
            "cached_db": "the session row is locked during each cart change",
            "cache": "a Redis lock per session guards each cart change"
            if on_redis
            else "a lock in this process guards each cart change",
            "signed_cookies": "nothing can be locked: two changes at once can lose one",
        }[name],
    }
    if name == "signed_cookies":
        if cookie and session.keys():
            state["has_session"] = True
            state["expires_at"] = _signed_cookie_expiry(cookie)
        return state
    key = session.session_key
    if not key:
        if cookie and backend is not None:
            # The cookie named a session the cache did not return: gone, or the cache is down?
            try:
                backend.has_key("session-store-probe")
            except STORE_ERRORS:
                state["unavailable"] = True
        return state
    state["key_prefix"] = key[:8]
    try:
        _measure(session, name, state)
    except STORE_ERRORS:
        state["unavailable"] = True
    return state


def _measure(session, name: str, state: dict[str, Any]) -> None:
    if name in ("db", "cached_db"):
        row = _db_row(session)
        if row:
            state["has_session"] = True
            state["server_bytes"] = len(row[0].encode())
            state["expires_at"] = row[1]
        if name == "cached_db":
            state["cache_bytes"] = _cache_entry(session)[0]
    else:
        size, expires = _cache_entry(session)
        if size is not None:
            state["has_session"] = True
            state["server_bytes"] = size
            state["expires_at"] = expires
