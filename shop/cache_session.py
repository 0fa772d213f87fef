"""Django's cache session store, except that a store that does not answer is not an empty session.

Django's own cache store reads a session that the cache could not return as a
new, empty one: it forgets the session key, and SessionMiddleware then deletes
the visitor's cookie, so a few seconds of Redis failover cost the visitor their
cart for good, although the cart is still in the store. Here a failed read keeps
the key (and with it the cookie) and marks the session `unavailable`; writing
such a session is refused instead of replacing the stored one with an empty copy.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


def store_errors() -> tuple[type[BaseException], ...]:
    from .session_cart import STORE_ERRORS

    return STORE_ERRORS


class SessionStore(CacheSessionStore):
    unavailable = False

    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except store_errors():
            self.unavailable = True
            return {}
        self.unavailable = False
        if data is not None:
            return data
        self._session_key = None
        return {}

    def save(self, must_create=False):
        if self.unavailable and not must_create:
            # Saving now would overwrite the stored session with what this request saw: nothing.
            raise UpdateError
        super().save(must_create=must_create)
