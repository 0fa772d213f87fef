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
import threading
import zlib
from collections.abc import Callable
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.db import router, transaction
from django.utils import timezone
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from . import stores
from .cart import Cart, CartError
from .server_timing import timed

CART_SESSION_KEY = "cart"
LOCK_TIMEOUT_SECONDS = 10  # a Redis lock frees itself after this, even if its holder died
LOCK_WAIT_SECONDS = 5  # how long a request waits for the lock before giving up


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


# Errors that mean "the cache holding the sessions is not answering".
STORE_ERRORS: tuple[type[BaseException], ...] = (OSError, ConnectionInterrupted, RedisError)


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
    store = stores.current()
    if not store.lockable:
        return _change_unlocked(session, change, also)
    try:
        if session.session_key is None:
            # A new visitor: nobody else knows this session yet, so there is nothing to race.
            return _change_new_session(session, change, also)
        if store.in_table:
            return _change_locked_row(session, change, also, cached=store.uses_cache)
        return _change_locked_cache(session, change, also, on_redis=store.cache is stores.REDIS)
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


def _change_unlocked(session: SessionBase, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """A store with nothing to lock (signed cookies): change, then check the cookie still fits."""
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
def _cache_lock(session, *, on_redis: bool):
    if on_redis:
        lock = caches[settings.SESSION_CACHE_ALIAS].lock(
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


def _change_locked_cache(session, change: ChangeFn, also: AlsoFn | None, *, on_redis: bool) -> Cart:
    with _cache_lock(session, on_redis=on_redis):
        fresh = type(session)(session.session_key)
        data = fresh.load()
        if getattr(fresh, "unavailable", False):
            # Never take a failed read for a missing session: that would replace the cart.
            raise CartStoreUnavailable()
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
