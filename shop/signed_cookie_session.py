"""Django's signed-cookie session store, except that one state of the data is signed once.

A web cart change on this store checks the size of the cookie it makes before it
keeps the change (a browser drops a cookie past 4096 bytes without a word), and
that check signs the session; SessionMiddleware's save on the way out signed the
same data again. Here the signed value is kept until the data changes. Every change
of a session's data sets `modified` (each of SessionBase's setters does, and Django
asks code that changes a value in place to set it too), and setting it drops the
kept value. The value is signed as Django's own store signs it (same salt and
serializer), so cookies of either store read in the other.
"""

from __future__ import annotations

from django.contrib.sessions.backends import signed_cookies


class SessionStore(signed_cookies.SessionStore):
    _signed: str | None = None
    _modified = False

    @property
    def modified(self) -> bool:
        return self._modified

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = value
        if value:
            self._signed = None

    def _get_session_key(self) -> str:
        """The cookie's value: the session data signed (and compressed), once per state."""
        if self._signed is None:
            self._signed = super()._get_session_key()
        return self._signed
