"""The web shop's cart store: the compact Cart kept in the visitor's Django session.

The session holds only `Cart.to_compact()` (a plain JSON list) under
CART_SESSION_KEY. Reading never fails: a malformed stored value is an empty cart.

Django sessions are last-write-wins: two requests of one visitor that each load
the session, change it and save it lose one change. `change_cart` makes a cart
change atomic per session, as far as each store allows, with no lock where the
store can compare and set:

- db: compare-and-set on the session row. The row is read, the cart changed,
  and the new data written with `UPDATE ... WHERE session_key = %s AND
  session_data = <what was read>`: if another request wrote in between, nothing
  is written and the change is made again on what is stored now. Two statements,
  no transaction and no row lock, on PostgreSQL and SQLite alike.
- cached_db: the session row is locked (SELECT ... FOR UPDATE) inside a
  transaction, reloaded, changed and written, and the cache copy rewritten under
  the lock, so that the copy can never be older than the row.
- cache on Redis (django-redis): compare-and-set on the session's key. The value
  is read (GET), the cart changed, and a short Lua script sets the new value only
  if the key still holds the bytes that were read, else the change is made again.
  Two round trips, as a plain read and write; every web process sees the same key.
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

import functools
import json
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.db import connections, router, transaction
from django.utils import timezone
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from . import stores
from .cart import Cart, CartError
from .server_timing import timed

CART_SESSION_KEY = "cart"
LOCK_WAIT_SECONDS = 5  # how long a change waits for a lock, or retries a compare-and-set
CAS_ATTEMPTS = 200  # at most this many compare-and-set tries of one change (each is real work)


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

    `change` gets the cart as stored right now (reloaded under the guard) and
    returns the new cart. If it raises CartError nothing is written and the
    error propagates. `also`, if given, makes further changes to the reloaded
    session in the same guarded write (checkout records the order id with it).
    Under compare-and-set both may run more than once: each try starts from what
    is stored then, and only the last try's result is written.
    Returns the saved cart.
    """
    session = request.session
    store = stores.current()
    if not store.lockable:
        sent = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        return _change_unlocked(session, change, also, sent=sent)
    try:
        if session.session_key is None:
            # A new visitor: nobody else knows this session yet, so there is nothing to race.
            return _change_new_session(session, change, also)
        if store.in_table and store.uses_cache:
            return _change_locked_row(session, change, also)
        if store.in_table:
            return _change_row_compare_and_set(session, change, also)
        if store.cache is stores.REDIS:
            return _change_redis_compare_and_set(session, change, also)
        return _change_locked_local(session, change, also)
    except STORE_ERRORS as error:
        session.modified = False  # the middleware must not try to save it either
        raise CartStoreUnavailable() from error


def signed_cookie_bytes(session: SessionBase) -> int:
    """Bytes of the session cookie (name and value) a signed-cookie session makes now.

    Browsers count the name and the value against their 4096-byte limit. The value
    is the session itself, signed and compressed: what the store's key function makes.
    """
    return _cookie_bytes(session._get_session_key() if session.keys() else "")


def _cookie_bytes(value: str) -> int:
    """What a browser counts of a session cookie with this value: its name and the value."""
    return len(settings.SESSION_COOKIE_NAME) + len(value.encode())


def _change_unlocked(
    session: SessionBase, change: ChangeFn, also: AlsoFn | None, *, sent: str
) -> Cart:
    """A store with nothing to lock (signed cookies): change, then check the cookie still fits.

    `sent` is the session cookie the request came with: its size is the size before.
    """
    before = dict(session.items())
    size_before = _cookie_bytes(sent) if sent else 0
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


def _change_locked_row(session, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """cached_db: lock the row, change it, write the row and then the cache copy under the lock."""
    model = session.model
    using = router.db_for_write(model)

    def read():
        rows = list(
            model.objects.using(using)
            .select_for_update()
            .filter(session_key=session.session_key, expire_date__gt=timezone.now())
            .order_by()[:1]
        )
        return (rows[0].session_data, session.decode(rows[0].session_data)) if rows else None

    with transaction.atomic(using=using):
        # The row, then the cache copy, both under the row lock.
        return _guarded_change(session, read, _save_under_lock(session), change, also)


def _save_under_lock(session: SessionBase) -> Callable[[Any], bool]:
    """The write of a locked change: nobody else can write meanwhile, so it always succeeds."""

    def write(stored: Any) -> bool:
        session.save()
        return True

    return write


def _guarded_change(session, read, write, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """Read, change, write; under compare-and-set, again on what is there now if it changed.

    `read()` gives (stored, data): the stored value as the store holds it and its
    decoded data, or None when the session is not in the store. `write(stored)`
    writes the session's data if the store still holds `stored`; True if it did
    (a write under a lock always does). Every try reruns `change` on the data read
    then, so no other change is lost.
    """
    give_up = time.monotonic() + LOCK_WAIT_SECONDS
    for _ in range(CAS_ATTEMPTS):
        found = read()
        if found is None:
            # Expired, logged out elsewhere, or a key the server never issued:
            # never adopt it; start a new session instead.
            session.flush()
            return _change_new_session(session, change, also)
        stored, data = found
        cart = change(cart_from_session_data(data))
        _replace_data(session, data, cart, also)
        if write(stored):
            _skip_redundant_save(session)
            return cart
        if time.monotonic() > give_up:
            break
    raise CartBusy()


@functools.cache
def _row_statements(model: type, alias: str) -> tuple[str, str]:
    """The read and the conditional write of a session row, as SQL for this model and database.

    Every web cart change runs both, so they are written once as SQL: building the same
    statements with the ORM (`filter(...).values_list(...)`, `filter(...).update(...)`)
    cost several times the CPU of running them. Identifiers come from the model only,
    quoted as the database `alias` quotes them; every value is a query parameter.
    """
    quote = connections[alias].ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    key, data, expires = (
        quote(meta.get_field(name).column)
        for name in ("session_key", "session_data", "expire_date")
    )
    read = f"SELECT {data} FROM {table} WHERE {key} = %s AND {expires} > %s"  # noqa: S608
    write = f"UPDATE {table} SET {data} = %s, {expires} = %s WHERE {key} = %s AND {data} = %s"  # noqa: S608
    return read, write


def _change_row_compare_and_set(session, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """db: the row is rewritten only if its session_data is still what was read."""
    db = connections[router.db_for_write(session.model)]
    read_sql, write_sql = _row_statements(session.model, db.alias)
    key = session.session_key

    def read():
        with db.cursor() as cursor:
            cursor.execute(read_sql, [key, db.ops.adapt_datetimefield_value(timezone.now())])
            row = cursor.fetchone()
        return (row[0], session.decode(row[0])) if row else None

    def write(stored: str) -> bool:
        # What Django's db store writes (SessionStore.create_model_instance), as parameters.
        data = session.encode(dict(session.items()))
        expires = db.ops.adapt_datetimefield_value(session.get_expiry_date())
        with db.cursor() as cursor:
            cursor.execute(write_sql, [data, expires, key, stored])
            return cursor.rowcount == 1

    return _guarded_change(session, read, write, change, also)


# Sets KEYS[1] to ARGV[2] (for ARGV[3] seconds) only if it still holds ARGV[1].
_REDIS_SET_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


def _change_redis_compare_and_set(session, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """cache on Redis: the key is rewritten only if it still holds the bytes that were read."""
    cache = caches[settings.SESSION_CACHE_ALIAS]
    redis = get_redis_connection(settings.SESSION_CACHE_ALIAS)  # the primary: reads and writes
    key = cache.make_key(session.cache_key)
    set_if_unchanged = redis.register_script(_REDIS_SET_IF_UNCHANGED)

    def read():
        stored = redis.get(key)
        return None if stored is None else (stored, cache.client.decode(stored))

    def write(stored: bytes) -> bool:
        value = cache.client.encode(dict(session.items()))
        ttl = max(int(session.get_expiry_age()), 1)
        return set_if_unchanged(keys=[key], args=[stored, value, ttl]) == 1

    return _guarded_change(session, read, write, change, also)


# Local-memory caches live in one process, so one process-wide set of locks covers them.
_LOCAL_LOCKS = [threading.Lock() for _ in range(64)]


def _change_locked_local(session, change: ChangeFn, also: AlsoFn | None) -> Cart:
    """cache in local memory: reload, change and save under a lock of this process."""

    def read():
        fresh = type(session)(session.session_key)
        data = fresh.load()
        if getattr(fresh, "unavailable", False):
            # Never take a failed read for a missing session: that would replace the cart.
            raise CartStoreUnavailable()
        # Not in the cache: expired, evicted or never issued.
        return None if fresh.session_key is None else (None, data)

    lock = _LOCAL_LOCKS[zlib.crc32(session.session_key.encode()) % len(_LOCAL_LOCKS)]
    if not lock.acquire(timeout=LOCK_WAIT_SECONDS):
        raise CartBusy()
    try:
        return _guarded_change(session, read, _save_under_lock(session), change, also)
    finally:
        lock.release()


def _snapshot(session: SessionBase) -> str:
    """The session's data as canonical JSON: what its serializer writes, compared cheaply."""
    return json.dumps(dict(session.items()), sort_keys=True, separators=(",", ":"), default=repr)


def _skip_redundant_save(session: SessionBase) -> None:
    """Keep SessionMiddleware from writing the session again after the guarded write.

    The middleware saves every modified session when the response leaves; that
    second write would put back this request's copy over a change another request
    made in between. The session stays "modified" so that the cookie is still sent
    (with a fresh expiry); its save becomes a no-op unless something changed the
    data after the guarded write.
    """
    written = _snapshot(session)
    key = session.session_key
    save = type(session).save.__get__(session)

    def save_unless_unchanged(must_create: bool = False) -> None:
        if must_create or session.session_key != key or _snapshot(session) != written:
            save(must_create=must_create)

    session.save = save_unless_unchanged
