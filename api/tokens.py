"""The cart token: the API's cart, signed with HS256 and carried by the client.

Nothing about an API cart is kept on the server: the token is the cart. Keys
come from CART_TOKEN_KEYS ("kid:secret" pairs; the first signs, every one
verifies) and CART_TOKEN_VERIFY_KEYS (pairs that verify and never sign), so
keys rotate without logging anyone out, even on a fleet that learns a new key
one instance at a time (the README's scale-out section: the two-phase roll).
A token is checked in a fixed order, cheapest and least trusting first: size,
shape, header (only `alg` HS256, `typ` JWT and a `kid` from the configured
set), signature with that one key, then the claims. Every refusal is a `TokenError` whose `code`
names the reason and whose `message` tells a person what to do.

Clocks of several instances are never exactly in step, so the time claims get
CART_TOKEN_LEEWAY seconds of grace, as PyJWT's `leeway` gives: `iat` and `nbf`
may be that far in the future (a token just issued by an instance whose clock
is ahead) and `exp` that far in the past. The absolute lifetime
(`orig_iat` + CART_TOKEN_MAX_AGE) gets none: it is the hard cap.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import HMACAlgorithm

from shop.cart import Cart, CartError
from shop.errors import ExplainedError
from shop.server_timing import timed

ISSUER = "shop"
AUDIENCE = "shop:cart"
VERSION = 1
ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
DEV_KID = "dev"
# Claims every cart token must carry; `sub` is added after login, `nbf` is never issued.
REQUIRED_CLAIMS = ("iss", "aud", "iat", "exp", "orig_iat", "jti", "cid", "cart", "v")
ALLOWED_HEADERS = frozenset({"alg", "typ", "kid"})
START_AGAIN = (
    "Forget this token and start a new cart: POST /api/cart/ without an Authorization header."
)

# Matched whole (fullmatch): "$" would also match before a trailing newline.
_KID_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_SHAPE_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_CID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_UV_RE = re.compile(r"[0-9a-f]{1,64}")
_JTI_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SUB_RE = re.compile(r"[0-9]{1,19}")
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the last second a datetime holds
MAX_USER_ID = 2**31 - 1  # the user table's id is a 32-bit integer (Django's AutoField)

# What PyJWT checks when it decodes a cart token (with the key, algorithm, audience and issuer).
_DECODE_OPTIONS: dict[str, Any] = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    # Times are checked below against `now`, so that tests and the admin's
    # inspector can ask "valid at this moment?".
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "require": list(REQUIRED_CLAIMS),
}


class HmacKeyCheckedOnce(HMACAlgorithm):
    """PyJWT's HS256, with its check of the secret made once per secret, not per token.

    On every encode and decode PyJWT makes sure an HMAC secret is not a PEM, SSH,
    DER or JSON key, which parses the secret as JSON and fails (about 9 µs, twice per
    API change: 2.5 % of an add's instructions under gunicorn). Our secrets are fixed
    at start-up, so each one's checked form is kept. A refused secret raises every
    time (an exception is never kept), and signing and verifying are PyJWT's own.
    """

    prepare_key = functools.lru_cache(maxsize=32)(HMACAlgorithm.prepare_key)


# jwt.encode and jwt.decode share PyJWT's one registry of algorithms: HS256 in it is
# the class above from here on (for the measurement clients in this process too).
jwt.unregister_algorithm(ALGORITHM)
jwt.register_algorithm(ALGORITHM, HmacKeyCheckedOnce(HMACAlgorithm.SHA256))


# --- Errors -------------------------------------------------------------------


class TokenError(ExplainedError, jwt.InvalidTokenError):
    """A cart token was refused. `code` is stable; `message` is for a person.

    A subclass of PyJWT's InvalidTokenError, so that code catching PyJWT's
    family of errors also catches ours.
    """

    code = "invalid_token"


class TokenTooLarge(TokenError):
    code = "too_large"


class MalformedToken(TokenError):
    code = "malformed"


class BadAlgorithm(TokenError):
    code = "bad_algorithm"


class UnsupportedHeader(TokenError):
    code = "unsupported_header"


class UnknownKey(TokenError):
    code = "unknown_key"


class BadSignature(TokenError):
    code = "bad_signature"


class WrongAudience(TokenError):
    code = "wrong_audience"


class WrongIssuer(TokenError):
    code = "wrong_issuer"


class MissingClaim(TokenError):
    code = "missing_claim"


class InvalidClaim(TokenError):
    code = "invalid_claim"


class NotACartToken(TokenError):
    """Signed by us for the cart audience, but the cart inside breaks the cart's rules."""

    code = "not_a_cart_token"


class UnsupportedVersion(TokenError):
    code = "unsupported_version"


class Expired(TokenError):
    code = "expired"


class LifetimeExceeded(TokenError):
    code = "lifetime_exceeded"


class NotYetValid(TokenError):
    code = "not_yet_valid"


# Refusals decode_cart makes before it checks the signature (the token's bytes, its
# header and the key it names); every other refusal comes from a signature that held.
BEFORE_SIGNATURE = frozenset(
    error.code
    for error in (TokenTooLarge, MalformedToken, BadAlgorithm, UnsupportedHeader, UnknownKey)
)


# --- Keys ---------------------------------------------------------------------


def check_configuration() -> None:
    """Refuse to start without usable keys; called from ApiConfig.ready()."""
    _keys()
    _verify_only_keys()


def signing_keys() -> list[tuple[str, bytes]]:
    """The configured keys as (kid, secret); the first one signs, every one verifies.

    Raises ImproperlyConfigured for a malformed CART_TOKEN_KEYS, a secret under
    32 bytes, or no keys with DEBUG off.
    """
    return list(_keys())


def verifying_keys() -> list[tuple[str, bytes]]:
    """Every key a token may be signed with: the signing keys, then the verify-only ones.

    CART_TOKEN_VERIFY_KEYS lets an instance accept a key before any instance signs
    with it: the first phase of a roll across a fleet.
    """
    return list(_keys()) + list(_verify_only_keys())


def _keys() -> tuple[tuple[str, bytes], ...]:
    return _parse_keys(
        _raw_keys(settings.CART_TOKEN_KEYS),
        bool(settings.DEBUG),
        str(settings.SECRET_KEY),
    )


def _verify_only_keys() -> tuple[tuple[str, bytes], ...]:
    return _parse_verify_only(
        _raw_keys(getattr(settings, "CART_TOKEN_VERIFY_KEYS", ""), "CART_TOKEN_VERIFY_KEYS"),
        _keys(),
    )


@functools.lru_cache(maxsize=16)
def _parse_verify_only(
    pairs: tuple[str, ...], signing: tuple[tuple[str, bytes], ...]
) -> tuple[tuple[str, bytes], ...]:
    if not pairs:
        return ()
    keys = _parse_pairs(pairs, "CART_TOKEN_VERIFY_KEYS")
    for kid, _ in keys:
        if any(kid == known for known, _ in signing):
            raise ImproperlyConfigured(
                f"CART_TOKEN_VERIFY_KEYS: key id {kid!r} is also in CART_TOKEN_KEYS; list a key "
                "in one of them: CART_TOKEN_KEYS to sign with it, CART_TOKEN_VERIFY_KEYS only to "
                "accept it."
            )
    return keys


def _raw_keys(value: Any, name: str = "CART_TOKEN_KEYS") -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part).strip() for part in value if str(part).strip())
    raise ImproperlyConfigured(f"{name} must be a string of 'kid:secret' pairs.")


@functools.lru_cache(maxsize=16)
def _parse_keys(
    pairs: tuple[str, ...], debug: bool, secret_key: str
) -> tuple[tuple[str, bytes], ...]:
    if not pairs:
        if not debug:
            raise ImproperlyConfigured(
                "CART_TOKEN_KEYS is not set and DEBUG is off: the API cannot sign cart tokens. "
                "Set CART_TOKEN_KEYS to 'kid:secret' (comma separated for rotation; each secret "
                "at least 32 bytes; make one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')."
            )
        derived = hmac.new(
            secret_key.encode(), b"shop.api.cart-token.dev-key", hashlib.sha256
        ).digest()
        return ((DEV_KID, derived),)
    return _parse_pairs(pairs, "CART_TOKEN_KEYS")


def _parse_pairs(pairs: tuple[str, ...], name: str) -> tuple[tuple[str, bytes], ...]:
    keys: list[tuple[str, bytes]] = []
    for pair in pairs:
        kid, sep, secret = pair.partition(":")
        kid = kid.strip()
        if not sep or not _KID_RE.fullmatch(kid):
            raise ImproperlyConfigured(
                f"{name}: {kid[:20]!r} is not a valid 'kid:secret' pair; a key id is "
                "1 to 32 letters, digits, '.', '_' or '-', followed by ':' and the secret."
            )
        secret_bytes = secret.strip().encode()
        if len(secret_bytes) < MIN_KEY_BYTES:
            raise ImproperlyConfigured(
                f"{name}: the secret of key {kid!r} is {len(secret_bytes)} bytes; "
                f"each secret must be at least {MIN_KEY_BYTES} bytes (HS256 needs a 256-bit key)."
            )
        if any(kid == known for known, _ in keys):
            raise ImproperlyConfigured(f"{name}: key id {kid!r} is listed twice.")
        keys.append((kid, secret_bytes))
    return tuple(keys)


# --- Encoding -----------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """The login a token carries: the user, when the password was checked, the login version.

    `auth_time` is copied unchanged into every re-issued token, so the login ends
    CART_LOGIN_MAX_AGE after the password check however often the cart changes;
    `uv` is checked against the account on every request (api.revocation).
    """

    sub: int
    auth_time: int
    uv: str | None = None


@dataclass(frozen=True)
class CartToken:
    """A verified cart token."""

    cart: Cart
    cid: str
    sub: int | None
    iat: int
    exp: int
    orig_iat: int
    jti: str
    kid: str
    version: int
    size: int  # bytes of the encoded token
    auth_time: int | None = None
    uv: str | None = None

    @property
    def login(self) -> Login | None:
        if self.sub is None:
            return None
        return Login(sub=self.sub, auth_time=self.auth_time or self.orig_iat, uv=self.uv)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, tz=UTC)


def duration(seconds: int) -> str:
    """`seconds` in words for people: "7 days", "1 day and 12 hours", "90 seconds"."""
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    parts: list[str] = []
    rest = max(int(seconds), 0)
    for name, size in units:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2:
            break
    if not parts:
        return "0 seconds"
    return " and ".join(parts)


def leeway() -> int:
    """Seconds of clock skew forgiven on `iat`, `nbf` and `exp` (CART_TOKEN_LEEWAY)."""
    return max(int(getattr(settings, "CART_TOKEN_LEEWAY", 0)), 0)


def new_cid() -> str:
    """A fresh cart id: stable across every change of one cart, spent at checkout."""
    return secrets.token_urlsafe(12)


def expiry(*, now: int, orig_iat: int) -> int:
    """Sliding expiry, never past the absolute lifetime counted from `orig_iat`."""
    return min(now + settings.CART_TOKEN_TTL, orig_iat + settings.CART_TOKEN_MAX_AGE)


@timed("token-sign")
def encode_cart(
    *,
    cart: Cart,
    cid: str,
    sub: int | None = None,
    orig_iat: int | None = None,
    now: int | None = None,
    login: Login | None = None,
) -> str:
    """Sign `cart` into a token, with a fresh `jti`, `iat` and sliding `exp`.

    Pass the previous token's `orig_iat` when re-issuing, so that the cart's
    absolute lifetime keeps counting from its first issue, and its `login`, so
    that the login keeps its own (`auth_time`, `uv`).
    """
    now = int(time.time()) if now is None else now
    orig_iat = now if orig_iat is None else orig_iat
    exp = expiry(now=now, orig_iat=orig_iat)
    if exp <= now:
        raise LifetimeExceeded(
            f"This cart reached its maximum age of {duration(settings.CART_TOKEN_MAX_AGE)}. "
            + START_AGAIN
        )
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": exp,
        "orig_iat": orig_iat,
        "jti": secrets.token_urlsafe(9),
        "cid": cid,
        "cart": cart.to_compact(),
        "v": VERSION,
    }
    if login is not None:
        claims["sub"] = str(login.sub)
        claims["auth_time"] = login.auth_time
        if login.uv is not None:
            claims["uv"] = login.uv
    elif sub is not None:
        claims["sub"] = str(sub)
        claims["auth_time"] = now
    kid, secret = _keys()[0]
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})


def new_cart_token(*, sub: int | None = None) -> str:
    """A token for a fresh, empty cart."""
    return encode_cart(cart=Cart(), cid=new_cid(), sub=sub)


# --- Reading a token's parts (not verified) --------------------------------------

# What reading arbitrary JSON can raise besides PyJWT's own errors: nesting deeper
# than the parser recurses, numbers too long to convert, a value of an unusable type.
_UNREADABLE = (jwt.InvalidTokenError, ValueError, TypeError, RecursionError, OverflowError)


def _unreadable(error: jwt.DecodeError, part: str) -> TokenError:
    """PyJWT could not decode a part: a cut signature is a bad signature, the rest malformed."""
    if "crypto padding" in str(error):  # PyJWT reads the signature part with the payload
        return BadSignature("The token's signature is cut short or damaged. " + START_AGAIN)
    return MalformedToken(
        f"The token's {part} is not base64url-encoded JSON; the token is damaged. " + START_AGAIN
    )


def read_header(token: str) -> dict[str, Any]:
    """The header as written in `token`, NOT verified (PyJWT's reading): for checks and display.

    PyJWT reads the header segment alone (with empty payload and signature
    segments): reading the whole token would decode and check the payload twice
    per request, once here and once under the signature; a damaged payload or
    signature is refused by that verified decode.
    """
    try:
        header_segment, _, _ = token.split(".")
    except (AttributeError, TypeError, ValueError) as exc:
        raise MalformedToken(
            "This is not a cart token: a JWT is three base64url parts separated by dots "
            "(header.payload.signature). " + START_AGAIN
        ) from exc
    try:
        return jwt.get_unverified_header(f"{header_segment}..")
    except jwt.DecodeError as exc:
        raise _unreadable(exc, "header") from exc
    except jwt.InvalidTokenError as exc:  # PyJWT's own header rules: a string kid, crit
        raise UnsupportedHeader(
            f"The token's header is not accepted ({str(exc)[:80]}); cart tokens carry only "
            "alg, typ and a string kid. " + START_AGAIN
        ) from exc
    except _UNREADABLE as exc:
        raise MalformedToken("The token's header could not be read. " + START_AGAIN) from exc


def read_claims(token: str) -> dict[str, Any]:
    """The claims as written in `token`, NOT verified (PyJWT's reading): for display only."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        raise _unreadable(exc, "payload") from exc
    except _UNREADABLE as exc:
        raise MalformedToken(
            "The token's payload is not base64url-encoded JSON; the token is damaged. "
            + START_AGAIN
        ) from exc


def inspect_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims as written in the token, NOT verified: for display only."""
    check_size_and_shape(token)
    return read_header(token), read_claims(token)


# --- Verifying ------------------------------------------------------------------
#
# decode_cart runs the steps in order, cheapest and least trusting first: size and
# shape, header, signature and the registered claims (PyJWT), then CLAIM_CHECKS one
# by one. A further rule is one more function in CLAIM_CHECKS.


def check_size_and_shape(token: Any) -> int:
    """The token's size in bytes, if it is a string of three base64url parts under the cap."""
    if not isinstance(token, str):
        raise MalformedToken("A cart token is a text string. " + START_AGAIN)
    size = len(token.encode("utf-8", "surrogatepass"))
    limit = settings.CART_TOKEN_MAX_BYTES
    if size > limit:
        raise TokenTooLarge(
            f"The token is {size} bytes; cart tokens are at most {limit} bytes, so this one "
            "was refused without being read. " + START_AGAIN
        )
    if not token.isascii() or not _SHAPE_RE.fullmatch(token):
        raise MalformedToken(
            "This is not a cart token: a JWT is three base64url parts separated by dots "
            "(header.payload.signature). " + START_AGAIN
        )
    return size


def _shown(value: Any, length: int = 20) -> str:
    """A short, printable rendering of a value from a token, whatever it is."""
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:length])


def _check_algorithm(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise BadAlgorithm(
            f"The token says it is signed with {_shown(alg)}; cart tokens are only "
            f"accepted when signed with {ALGORITHM}. " + START_AGAIN
        )


def _check_header_names(header: dict[str, Any]) -> None:
    extra = sorted(set(header) - ALLOWED_HEADERS)
    if extra:
        names = ", ".join(name[:20] for name in extra[:5])
        raise UnsupportedHeader(
            f"The token's header has parameters this server does not accept ({names}); "
            "cart tokens carry only alg, typ and kid. " + START_AGAIN
        )
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise UnsupportedHeader(f"The token's type {_shown(typ)} is not JWT. " + START_AGAIN)


def _signing_key(header: dict[str, Any]) -> tuple[str, bytes]:
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise UnknownKey(
            "The token does not name its signing key (no 'kid' in its header). " + START_AGAIN
        )
    for known, secret in verifying_keys():
        if hmac.compare_digest(known.encode(), kid.encode("utf-8", "surrogatepass")):
            return known, secret
    shown = kid[:32] if _KID_RE.fullmatch(kid) else "an unknown key id"
    raise UnknownKey(
        f"The token was signed with key {shown!r}, which this server does not (or no longer) "
        "accept; keys are rotated out after a while. " + START_AGAIN
    )


def check_header(header: dict[str, Any]) -> tuple[str, bytes]:
    """The (kid, secret) that must have signed a token with this header, or a TokenError."""
    _check_algorithm(header)
    _check_header_names(header)
    return _signing_key(header)


def _verified_claims(token: str, kid: str, secret: bytes) -> dict[str, Any]:
    """The claims, once PyJWT has checked the signature, audience, issuer and required claims."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options=_DECODE_OPTIONS,
        )
    except jwt.InvalidSignatureError as exc:
        raise BadSignature(
            f"The token's signature does not match key {kid!r}: it was altered or not made "
            "by this shop. " + START_AGAIN
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise MissingClaim(
            f"The token lacks the required claim {exc.claim!r}. " + START_AGAIN
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise WrongAudience(
            f"This token was issued for another purpose (its audience is not {AUDIENCE!r}); "
            "it is not a cart token. " + START_AGAIN
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise WrongIssuer(
            f"This token was not issued by this shop (issuer is not {ISSUER!r}). " + START_AGAIN
        ) from exc
    except jwt.DecodeError as exc:
        raise _unreadable(exc, "payload") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise BadAlgorithm(f"Cart tokens must be signed with {ALGORITHM}. " + START_AGAIN) from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidClaim("The token's claims are not valid. " + START_AGAIN) from exc
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise MalformedToken("The token could not be read. " + START_AGAIN) from exc


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims[name]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIMESTAMP:
        raise InvalidClaim(f"The token's '{name}' claim is not a timestamp. " + START_AGAIN)
    return value


def _check_version(claims: dict[str, Any], now: int) -> None:
    version = claims["v"]
    if type(version) is not int or version != VERSION:
        shown = str(version)[:10] if type(version) is int else type(version).__name__
        raise UnsupportedVersion(
            f"This cart token has format version {shown!r}; this server reads version "
            f"{VERSION}. " + START_AGAIN
        )


def _check_times(claims: dict[str, Any], now: int) -> None:
    """iat, nbf and exp, with `leeway()` seconds of grace for clocks out of step."""
    iat, exp, orig_iat = (_int_claim(claims, name) for name in ("iat", "exp", "orig_iat"))
    grace = leeway()
    if "nbf" in claims and _int_claim(claims, "nbf") > now + grace:
        raise NotYetValid("The token is not valid yet (nbf is in the future). " + START_AGAIN)
    if iat > now + grace or orig_iat > iat:
        raise NotYetValid(
            "The token says it was issued in the future; it was not issued by this server "
            "or the server's clock is wrong. " + START_AGAIN
        )
    if exp <= now - grace:
        when = datetime.fromtimestamp(exp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise Expired(
            f"This cart token expired at {when} (tokens last {duration(settings.CART_TOKEN_TTL)} "
            "after the last request); its cart is gone. " + START_AGAIN
        )


def _check_lifetime(claims: dict[str, Any], now: int) -> None:
    """The cart's absolute lifetime from its first token: no grace, it is the hard cap."""
    if claims["orig_iat"] + settings.CART_TOKEN_MAX_AGE <= now:
        raise LifetimeExceeded(
            f"This cart is older than the maximum of {duration(settings.CART_TOKEN_MAX_AGE)}. "
            + START_AGAIN
        )


def _check_ids(claims: dict[str, Any], now: int) -> None:
    """The cart id and token id are short url-safe strings; `sub`, if any, a user id."""
    if not isinstance(claims["cid"], str) or not _CID_RE.fullmatch(claims["cid"]):
        raise InvalidClaim("The token's cart id ('cid') is not valid. " + START_AGAIN)
    if not isinstance(claims["jti"], str) or not _JTI_RE.fullmatch(claims["jti"]):
        raise InvalidClaim("The token's id ('jti') is not valid. " + START_AGAIN)
    _user_id(claims)


def _user_id(claims: dict[str, Any]) -> int | None:
    sub = claims.get("sub")
    if sub is None:
        return None
    if not isinstance(sub, str) or not _SUB_RE.fullmatch(sub) or not 0 < int(sub) <= MAX_USER_ID:
        raise InvalidClaim("The token's user ('sub') is not a user id. " + START_AGAIN)
    return int(sub)


def _check_login_claims(claims: dict[str, Any], now: int) -> None:
    """`auth_time` is a timestamp and `uv` a login version, when present (api.revocation)."""
    if "auth_time" in claims:
        _int_claim(claims, "auth_time")
    uv = claims.get("uv")
    if uv is not None and (not isinstance(uv, str) or not _UV_RE.fullmatch(uv)):
        raise InvalidClaim("The token's login version ('uv') is not valid. " + START_AGAIN)


def _cart(claims: dict[str, Any]) -> Cart:
    try:
        return Cart.from_compact(claims["cart"])
    except CartError as exc:
        raise NotACartToken(
            f"The cart inside the token is not valid: {exc.message} " + START_AGAIN
        ) from exc


# The checks after the signature, in order; each gets the claims and the time, and
# raises a TokenError to refuse the token.
CLAIM_CHECKS: list[Callable[[dict[str, Any], int], None]] = [
    _check_version,
    _check_times,
    _check_lifetime,
    _check_ids,
    _check_login_claims,
]


@timed("token-verify")
def decode_cart(token: str, *, now: int | None = None) -> CartToken:
    """Verify `token` and return its cart, or raise a TokenError saying why not.

    `now` defaults to the clock; the time claims get `leeway()` seconds of grace.
    """
    size = check_size_and_shape(token)
    kid, secret = check_header(read_header(token))
    claims = _verified_claims(token, kid, secret)
    now = int(time.time()) if now is None else now
    for check in CLAIM_CHECKS:
        check(claims, now)
    return CartToken(
        cart=_cart(claims),
        cid=claims["cid"],
        sub=_user_id(claims),
        iat=claims["iat"],
        exp=claims["exp"],
        orig_iat=claims["orig_iat"],
        jti=claims["jti"],
        kid=kid,
        version=claims["v"],
        size=size,
        auth_time=claims.get("auth_time"),
        uv=claims.get("uv"),
    )
