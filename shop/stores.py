"""The web shop's session stores, one row each: the one place that says what a store is.

`SESSION_STORE` (an environment variable) names a row; settings turn it into
Django's own `SESSION_ENGINE`, and from then on everything (the cart panel, the
admin, the comparison page, the drills, the tests) finds the row of the engine
Django uses (`current()`), so no page can describe a store other than the one
serving the sessions. Adding a store is one row in STORES.

`cache` and `cached_db` depend on what backs the cache: Redis is shared by every
process, local memory lives in one. Their texts name it through `{cache.*}`,
filled in by `Store.on()`; `cache_on_redis()` is the one test for Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache


@dataclass(frozen=True)
class CacheBacking:
    """What holds the cache under the `cache` and `cached_db` stores."""

    key: str  # "redis" or "locmem"
    label: str
    where: str
    lock: str
    shared: str


REDIS = CacheBacking(
    key="redis",
    label="Redis",
    where="Redis",
    lock="each cart change is a compare-and-set on the session's key in Redis, shared by every "
    "web process: written only if nobody changed it since it was read, else made again",
    shared="the same Redis server",
)
LOCAL_MEMORY = CacheBacking(
    key="locmem",
    label="local memory",
    where="this server process's memory",
    lock="a lock in this process guards each cart change (the sessions exist only in it)",
    shared="nothing can be shared: each process keeps its own sessions, so a visitor must "
    "always reach the same process",
)

LOGOUT_DELETES = (
    "Logging out deletes your session on the server; the cart in it is kept with your "
    "account for your next login."
)


@dataclass(frozen=True)
class Store:
    """One session store. Texts are sentences for people; `{cache.*}` names the cache."""

    name: str  # the value of SESSION_STORE
    engine: str  # Django's SESSION_ENGINE
    where: str  # where the session data lives
    lock: str  # how one cart change is made atomic
    logout: str  # what logging out does to the session and its cart
    shared: str  # what several instances must share to serve one visitor
    listing: str  # what the session admin can list
    in_table: bool = False  # sessions are rows of django_session
    uses_cache: bool = False
    lockable: bool = True
    cache: CacheBacking | None = None  # set by on()

    def on(self, cache: CacheBacking) -> Store:
        """This row with its `{cache.*}` texts filled in for `cache`."""
        if not self.uses_cache:
            return self
        fill = {
            name: getattr(self, name).format(cache=cache)
            for name in ("where", "lock", "shared", "listing")
        }
        return replace(self, cache=cache, **fill)

    @property
    def label(self) -> str:
        """`db`, or `cache (Redis)` where the cache matters."""
        return f"{self.name} ({self.cache.label})" if self.cache else self.name


STORES: dict[str, Store] = {
    store.name: store
    for store in (
        Store(
            name="db",
            engine="django.contrib.sessions.backends.db",
            where="the database (django_session table)",
            lock="each cart change is a compare-and-set on the session row: written only if "
            "nobody changed it since it was read, else made again on what is stored now",
            logout=LOGOUT_DELETES,
            shared="the same database (its django_session table)",
            listing="This deployment keeps sessions in the django_session table "
            "(SESSION_STORE=db): every session is listed here.",
            in_table=True,
        ),
        Store(
            name="cache",
            # Django's cache store, except that a failed read keeps the cookie and the cart.
            engine="shop.cache_session",
            where="{cache.where}",
            lock="{cache.lock}",
            logout=LOGOUT_DELETES,
            shared="{cache.shared}",
            listing="This deployment keeps sessions in the cache (SESSION_STORE=cache), not in "
            "this table, so they are not listed here. Redis sessions are counted (SCAN) on the "
            "comparison page; a local-memory cache lives inside each server process and cannot "
            "be listed at all.",
            uses_cache=True,
        ),
        Store(
            name="cached_db",
            engine="django.contrib.sessions.backends.cached_db",
            where="the database (django_session table), with a copy in {cache.where}",
            lock="the session row is locked during each cart change",
            logout=LOGOUT_DELETES,
            shared="the same database, and one cache they all reach (Redis)",
            listing="This deployment uses cached_db: every session is written to django_session "
            "and read through the cache, so every session is listed here. Expiring one also "
            "drops its cached copy.",
            in_table=True,
            uses_cache=True,
        ),
        Store(
            name="signed_cookies",
            # Django's signed-cookie store, except that a change's data is signed once.
            engine="shop.signed_cookie_session",
            where="the browser's cookie (signed by the server, not encrypted)",
            lock="nothing can be locked: two changes at once can lose one",
            logout="Logging out clears the session cookie in this browser; the cart in it is "
            "kept with your account for your next login. The server keeps no session it could "
            "delete: a copy of the cookie made before stays valid until it expires.",
            shared="the same SECRET_KEY (nothing else: the server keeps no session)",
            listing="This deployment keeps sessions in signed cookies "
            "(SESSION_STORE=signed_cookies): the server holds nothing, so there is nothing to "
            "list or expire. Rows below, if any, are left from another store.",
            lockable=False,
        ),
    )
}
DEFAULT_STORE = "db"


def cache_on_redis(alias: str | None = None) -> bool:
    """Whether the cache `alias` (the sessions' cache by default) is django-redis."""
    from django.conf import settings
    from django.core.cache import caches
    from django_redis.cache import RedisCache

    return isinstance(caches[alias or settings.SESSION_CACHE_ALIAS], RedisCache)


def for_engine(engine: str) -> Store:
    """The row of a SESSION_ENGINE; an engine with no row is described by its path."""
    for store in STORES.values():
        if store.engine == engine:
            return store
    return Store(
        name=engine,
        engine=engine,
        where="a store this project does not describe",
        lock="no lock known to this project",
        logout=LOGOUT_DELETES,
        shared="whatever this store keeps",
        listing="",
    )


def current() -> Store:
    """The row of the store Django uses now (settings.SESSION_ENGINE), cache filled in."""
    from django.conf import settings

    store = for_engine(settings.SESSION_ENGINE)
    if not store.uses_cache:
        return store
    return _on(store, REDIS if cache_on_redis() else LOCAL_MEMORY)


@lru_cache(maxsize=32)
def _on(store: Store, cache: CacheBacking) -> Store:
    return store.on(cache)
