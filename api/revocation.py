"""Ending a cart token before its `exp`: the state a "stateless" token needs for that.

CART_TOKEN_REVOCATION chooses what logout (and the staff action) can end:

- `none`: nothing on the server; logging out is the client forgetting its token,
  and a copy keeps working until `exp`.
- `denylist`: the token's cart id (`cid`) is put in a shared store (Redis when
  REDIS_URL is set, the database otherwise) until the latest `exp` any token of
  that cart can carry. The cart id, not the `jti`: every answer re-issues the
  token, so a `jti` list would end one copy and leave the earlier ones working.
  Every request with a token asks the store: one lookup.
- `user-version`: logout bumps the account's login version, which ends every
  logged-in token of that user, on every device. Anonymous carts carry no user
  and cannot be ended this way: they last until `exp`.
- `short-ttl`: nothing on the server; tokens expire CART_TOKEN_TTL (5 minutes by
  default in this mode) after the last answer, so a copy dies that long after
  the client stops using it.

Whatever the mode, a token that carries a login (`sub`) is checked against the
account on every request (one query): a login version that no longer matches the
account's password and counter, an account disabled or deleted, or a login older
than CART_LOGIN_MAX_AGE is refused. So a password change, a deactivation or the
staff action end API logins in every mode.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac

from shop.server_timing import timed

from .models import LoginVersion, RevokedCart
from .tokens import CartToken, TokenError

NONE, DENYLIST, USER_VERSION, SHORT_TTL = "none", "denylist", "user-version", "short-ttl"
MODES = (NONE, DENYLIST, USER_VERSION, SHORT_TTL)

# Lookups made by this process, by store ("denylist", "account"): what a request costs.
_lookups: Counter[str] = Counter()
_lookups_lock = threading.Lock()


def count_lookup(store: str) -> None:
    with _lookups_lock:
        _lookups[store] += 1


def lookups() -> dict[str, int]:
    with _lookups_lock:
        return dict(_lookups)


def reset_lookups() -> None:
    with _lookups_lock:
        _lookups.clear()


def mode() -> str:
    return settings.CART_TOKEN_REVOCATION


class Revoked(TokenError):
    """The token's cart was revoked (logout or the staff action, `denylist` mode)."""

    code = "revoked"


class LoginEnded(TokenError):
    """The login the token carries was ended (password changed, logged out, disabled)."""

    code = "login_ended"


class LoginExpired(TokenError):
    """The login is older than CART_LOGIN_MAX_AGE, counted from the password check."""

    code = "login_expired"


def check(token: CartToken, *, now: int | None = None) -> None:
    """Refuse a verified token whose cart was revoked or whose login has ended."""
    now = int(time.time()) if now is None else now
    if cart_is_revoked(token.cid, now=now):
        raise Revoked(
            "This cart was revoked (logged out) on the server; none of its tokens are "
            "accepted any more. Start a new cart: POST /api/cart/ without an Authorization "
            "header, and log in again if you need to."
        )
    if token.sub is not None:
        problem = check_login(sub=token.sub, uv=token.uv, auth_time=token.auth_time, now=now)
        if problem is not None:
            error = LoginExpired if problem.code == "login_expired" else LoginEnded
            raise error(problem.message)


# --- The login a token carries -------------------------------------------------


def login_fingerprint(*, user_id: int, password: str, version: int) -> str:
    """What a token's `uv` claim must equal: changes with the password and the counter.

    Django ends web sessions on a password change the same way (an HMAC of the
    password hash in the session); the counter adds "end every login now".
    """
    value = f"{user_id}:{version}:{password}"
    return salted_hmac("api.login-version", value, algorithm="sha256").hexdigest()[:24]


def login_claim(user) -> str:
    """The `uv` claim for a token issued to `user` now (one query for the counter)."""
    version = (
        LoginVersion.objects.filter(user_id=user.pk).values_list("version", flat=True).first() or 0
    )
    return login_fingerprint(user_id=user.pk, password=user.password, version=version)


@dataclass(frozen=True)
class LoginProblem:
    code: str
    message: str


def check_login(
    *, sub: int, uv: str | None, auth_time: int | None, now: int
) -> LoginProblem | None:
    """None when the token's login is still good, else why not. One query."""
    if uv is None or auth_time is None:
        return LoginProblem("login_ended", "This token's login has no login version; log in again.")
    if auth_time + settings.CART_LOGIN_MAX_AGE <= now:
        return LoginProblem(
            "login_expired",
            f"This login is older than {settings.CART_LOGIN_MAX_AGE // 3600} hours "
            "(CART_LOGIN_MAX_AGE), counted from the password check; log in again "
            "(POST /api/auth/token/).",
        )
    count_lookup("account")
    with timed("revocation"):
        row = (
            get_user_model()
            .objects.filter(pk=sub)
            .values_list("password", "is_active", "api_login_version__version")
            .first()
        )
    if row is None or not row[1]:
        return LoginProblem(
            "login_ended",
            "The account this token was logged in to no longer exists or is disabled.",
        )
    password, _, version = row
    expected = login_fingerprint(user_id=sub, password=password, version=version or 0)
    if not constant_time_compare(expected, uv):
        return LoginProblem(
            "login_ended",
            "This login was ended: the password was changed, or the account was logged "
            "out (everywhere) since this token was issued. Log in again.",
        )
    return None


def end_logins(user_id: int) -> int:
    """Bump the account's login version: every API token of the user is refused from now."""
    with transaction.atomic():
        row, created = LoginVersion.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"version": 1}
        )
        if not created:
            LoginVersion.objects.filter(pk=row.pk).update(version=F("version") + 1)
            row.refresh_from_db()
    return row.version


# --- The denylist of cart ids ------------------------------------------------------


@dataclass(frozen=True)
class StoreSize:
    entries: int
    bytes: int


def revoked_until(*, orig_iat: int, now: int) -> int:
    """The latest `exp` any token of a cart revoked now can carry (plus the leeway)."""
    latest = min(now + settings.CART_TOKEN_TTL, orig_iat + settings.CART_TOKEN_MAX_AGE)
    return latest + settings.CART_TOKEN_LEEWAY


class RedisDenylist:
    """Revoked cart ids as Redis keys that expire by themselves at the cart's last `exp`."""

    name = "redis"
    PREFIX = "revoked-cart:"

    def __init__(self) -> None:
        from django.core.cache import cache
        from django_redis import get_redis_connection

        self._cache = cache
        self._redis = get_redis_connection("default")

    def _key(self, cid: str) -> str:
        return self._cache.make_key(self.PREFIX + cid)

    def revoke(self, cid: str, *, until: int) -> None:
        self._redis.set(self._key(cid), b"1", exat=max(until, int(time.time()) + 1))

    @timed("revocation")
    def is_revoked(self, cid: str, *, now: int) -> bool:
        count_lookup("denylist")
        return bool(self._redis.exists(self._key(cid)))

    def keys(self) -> list[bytes]:
        return list(self._redis.scan_iter(match=self._key("*"), count=1000))

    def size(self) -> StoreSize:
        keys = self.keys()
        total = sum(self._redis.memory_usage(key) or 0 for key in keys)
        return StoreSize(entries=len(keys), bytes=total)

    def purge(self, *, now: int) -> int:
        return 0  # Redis deletes each key at its expiry

    def clear(self) -> int:
        keys = self.keys()
        return self._redis.delete(*keys) if keys else 0


class DatabaseDenylist:
    """Revoked cart ids as rows; each revoke first deletes the rows past their expiry."""

    name = "database"

    def revoke(self, cid: str, *, until: int) -> None:
        expires = datetime.fromtimestamp(until, tz=UTC)
        self.purge(now=int(time.time()))
        RevokedCart.objects.update_or_create(cid=cid, defaults={"expires_at": expires})

    @timed("revocation")
    def is_revoked(self, cid: str, *, now: int) -> bool:
        count_lookup("denylist")
        moment = datetime.fromtimestamp(now, tz=UTC)
        return RevokedCart.objects.filter(cid=cid, expires_at__gt=moment).exists()

    def size(self) -> StoreSize:
        table = RevokedCart._meta.db_table
        quote = connection.ops.quote_name
        if connection.vendor == "postgresql":
            sql = f"SELECT COUNT(*), COALESCE(SUM(pg_column_size(t.*)), 0) FROM {quote(table)} t"  # noqa: S608
        else:
            sql = (
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(cid) + LENGTH(expires_at) "  # noqa: S608
                f"+ LENGTH(revoked_at)), 0) FROM {quote(table)}"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            entries, size = cursor.fetchone()
        return StoreSize(entries=int(entries), bytes=int(size))

    def purge(self, *, now: int) -> int:
        moment = datetime.fromtimestamp(now, tz=UTC)
        deleted, _ = RevokedCart.objects.filter(expires_at__lte=moment).delete()
        return deleted

    def clear(self) -> int:
        deleted, _ = RevokedCart.objects.all().delete()
        return deleted


@cache
def _redis_store() -> RedisDenylist:
    return RedisDenylist()


def denylist() -> RedisDenylist | DatabaseDenylist:
    """The shared store of revoked cart ids: Redis with REDIS_URL, else the database."""
    if settings.REDIS_URL:
        return _redis_store()
    return DatabaseDenylist()


def revoke_cart(*, cid: str, orig_iat: int, now: int | None = None) -> int:
    """Refuse every token of cart `cid` from now on; returns until when (Unix time)."""
    now = int(time.time()) if now is None else now
    until = revoked_until(orig_iat=orig_iat, now=now)
    denylist().revoke(cid, until=until)
    return until


def cart_is_revoked(cid: str, *, now: int) -> bool:
    """True if `cid` is on the denylist; asks the store only in `denylist` mode."""
    if mode() != DENYLIST:
        return False
    return denylist().is_revoked(cid, now=now)
