"""The token inspector of /admin/compare/: what a cart token says, and whether the API accepts it.

It reads the header and the claims without trusting them (anyone holding a token
can read them: a JWT is signed, not encrypted), checks the signature against the
configured keys itself, and asks the API's own `decode_cart` for the verdict, so
the page can never disagree with the API. Every problem found is explained in
words. It reads the catalogue (one query) and the users (one query) and never
writes anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from api import tokens
from shop.cart import MAX_PRODUCT_ID, Cart
from shop.models import Product

TIME_CLAIMS = ("iat", "nbf", "exp", "orig_iat")
REQUIRED_CLAIMS = tokens.REQUIRED_CLAIMS
DANGEROUS_HEADERS = ("jku", "jwk", "x5u", "x5c", "crit")
CLAIM_NAMES = {
    "iss": "issuer",
    "aud": "audience",
    "iat": "issued at",
    "nbf": "not before",
    "exp": "expires",
    "orig_iat": "cart first issued",
    "jti": "token id",
    "cid": "cart id (stable for the cart's whole life)",
    "cart": "cart lines [product id, quantity]",
    "sub": "user id (after login through the API)",
    "v": "format version",
}


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a token, in words: `kind` is stable, `message` is for people."""

    kind: str  # too_large, malformed, alg_none, bad_alg, unknown_key, bad_signature, ...
    message: str


@dataclass(frozen=True)
class TimeClaim:
    name: str
    label: str
    raw: Any
    when: datetime | None  # UTC
    relative: str


@dataclass(frozen=True)
class CartLine:
    product_id: Any
    quantity: Any
    name: str
    known: bool


@dataclass
class Inspection:
    token: str
    size: int
    max_size: int
    segments: int = 0
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    times: list[TimeClaim] = field(default_factory=list)
    other_claims: list[tuple[str, str, str]] = field(default_factory=list)  # (name, label, value)
    cart_lines: list[CartLine] = field(default_factory=list)
    user: str = ""
    users: bool = True  # whether `sub` may be resolved to a username
    kid: str | None = None
    kid_known: bool = False
    signature_checked: bool = False
    signature_valid: bool = False
    signature_note: str = ""
    valid: bool = False  # the API's verdict
    api_code: str = ""
    api_message: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [finding.kind for finding in self.findings]

    @property
    def header_json(self) -> str:
        return json.dumps(self.header, indent=2, ensure_ascii=False)

    @property
    def expires_at(self) -> datetime | None:
        return next((t.when for t in self.times if t.name == "exp"), None)


def _b64decode(segment: str) -> bytes:
    if not segment:
        raise ValueError("empty")
    padded = segment + "=" * (-len(segment) % 4)
    if any(c in segment for c in "+/="):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _json_segment(segment: str, what: str, findings: list[Finding]) -> dict[str, Any] | None:
    try:
        value = json.loads(_b64decode(segment))
    except (ValueError, UnicodeError, binascii.Error):
        findings.append(
            Finding("malformed", f"The {what} is not base64url-encoded JSON, so it is no JWT.")
        )
        return None
    if not isinstance(value, dict):
        findings.append(Finding("malformed", f"The {what} is JSON but not an object."))
        return None
    return value


def _relative(when: datetime, now: datetime) -> str:
    seconds = int((when - now).total_seconds())
    span = abs(seconds)
    if span < 60:
        text = f"{span} s"
    elif span < 3600:
        text = f"{span // 60} min"
    elif span < 2 * 86400:
        text = f"{span // 3600} h {span % 3600 // 60} min"
    else:
        text = f"{span // 86400} days {span % 86400 // 3600} h"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def configured_keys() -> tuple[list[tuple[str, bytes]], str]:
    """The API's (kid, secret) pairs, verify-only ones included, or why they cannot be read."""
    try:
        return tokens.verifying_keys(), ""
    except ImproperlyConfigured as exc:  # the page explains a misconfiguration, no 500
        return [], f"The signing keys cannot be read: {exc}"


def _api_verdict(token: str, now: datetime, inspection: Inspection) -> None:
    try:
        tokens.decode_cart(token, now=int(now.timestamp()))
    except tokens.TokenError as exc:
        inspection.api_code = exc.code
        inspection.api_message = exc.message
        return
    except ImproperlyConfigured as exc:
        inspection.api_code = "not_configured"
        inspection.api_message = str(exc)
        return
    inspection.valid = True


def inspect_token(token: str, *, now: datetime | None = None, users: bool = True) -> Inspection:
    """Read, check and explain a cart token. Reads products and users; writes nothing.

    With `users` false (a viewer without auth.view_user), `sub` is not resolved to a name.
    """
    now = now or timezone.now()
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    raw = token.encode("utf-8", errors="replace")
    inspection = Inspection(
        token=token, size=len(raw), max_size=settings.CART_TOKEN_MAX_BYTES, users=users
    )
    _api_verdict(token, now, inspection)
    _explain(inspection, token, now)
    if not inspection.valid and not inspection.findings:
        # The API refused for a reason the checks above do not name: say it in its words.
        inspection.findings.append(Finding(inspection.api_code, inspection.api_message))
    return inspection


def _explain(inspection: Inspection, token: str, now: datetime) -> None:
    findings = inspection.findings
    if inspection.size > inspection.max_size:
        findings.append(
            Finding(
                "too_large",
                f"The token is {inspection.size:,} bytes; the API refuses anything over "
                f"{inspection.max_size:,} bytes before reading it (CART_TOKEN_MAX_BYTES), so "
                "an oversized header can never cost the server work.",
            )
        )
        return
    if not token:
        findings.append(Finding("malformed", "Nothing was pasted."))
        return

    parts = token.split(".")
    inspection.segments = len(parts)
    if len(parts) != 3:
        findings.append(
            Finding(
                "malformed",
                f"A JWT has three parts separated by dots (header.claims.signature); "
                f"this has {len(parts)}.",
            )
        )
        return
    header_b64, payload_b64, signature_b64 = parts
    inspection.header = _json_segment(header_b64, "header", findings)
    inspection.claims = _json_segment(payload_b64, "claims part", findings)
    if inspection.header is not None:
        _check_header(inspection, header_b64, payload_b64, signature_b64)
    if inspection.claims is not None:
        _read_claims(inspection, now)


def _check_header(inspection: Inspection, header_b64: str, payload_b64: str, sig_b64: str):
    header, findings = inspection.header, inspection.findings
    alg = header.get("alg")
    for name in sorted(set(header) - tokens.ALLOWED_HEADERS):
        if name in DANGEROUS_HEADERS:
            findings.append(
                Finding(
                    "forbidden_header",
                    f"The header carries “{name}”: it asks the server to fetch or trust a key or "
                    "an extension named by the token itself. The API never does; the key is "
                    "chosen only from its own configured set.",
                )
            )
        else:
            findings.append(
                Finding(
                    "unsupported_header",
                    f"The header carries “{name[:20]}”; cart tokens carry only "
                    + ", ".join(sorted(tokens.ALLOWED_HEADERS))
                    + ".",
                )
            )
    if not isinstance(alg, str) or alg.lower() == "none":
        findings.append(
            Finding(
                "alg_none",
                f"The header says alg={alg!r}: an unsigned token. Anyone could have written it; "
                "the API accepts HS256 only.",
            )
        )
        return
    if alg != "HS256":
        findings.append(
            Finding(
                "bad_algorithm",
                f"The header says alg={alg!r}; the API pins HS256 and refuses every other "
                "algorithm (no algorithm confusion).",
            )
        )
        return
    keys, key_problem = configured_keys()
    kid = header.get("kid")
    inspection.kid = kid if isinstance(kid, str) else None
    secrets = dict(keys)
    if key_problem:
        inspection.signature_note = key_problem
        return
    if not isinstance(kid, str) or kid not in secrets:
        inspection.signature_note = (
            f"Not checked: no configured key has kid={kid!r} (configured: "
            f"{', '.join(secrets) or 'none'})."
        )
        findings.append(
            Finding(
                "unknown_key",
                f"The header names kid={kid!r}, which is not one of this server's keys "
                f"({', '.join(secrets) or 'none'}). Either the key was removed in a rotation, or "
                "the token was signed elsewhere.",
            )
        )
        return
    inspection.kid_known = True
    inspection.signature_checked = True
    try:
        signature = _b64decode(sig_b64)
    except (ValueError, binascii.Error):
        signature = b""
    secret = secrets[kid]
    expected = hmac.new(
        secret if isinstance(secret, bytes) else secret.encode(),
        f"{header_b64}.{payload_b64}".encode("ascii"),
        hashlib.sha256,
    ).digest()
    inspection.signature_valid = hmac.compare_digest(signature, expected)
    if inspection.signature_valid:
        inspection.signature_note = f"Valid: HMAC-SHA256 with the key kid={kid!r}."
        return
    inspection.signature_note = f"Does not match the key kid={kid!r}."
    findings.append(
        Finding(
            "bad_signature",
            "The signature is empty or does not match: the header or the claims were changed "
            f"after signing (tampered), or it was signed with another secret than kid={kid!r}.",
        )
    )


def _read_claims(inspection: Inspection, now: datetime) -> None:
    claims, findings = inspection.claims, inspection.findings
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        findings.append(
            Finding(
                "missing_claim",
                f"Required claim(s) missing: {', '.join(missing)}. The API refuses a token "
                "without every one of " + ", ".join(REQUIRED_CLAIMS) + ".",
            )
        )
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        when = _timestamp(claims[name])
        relative = _relative(when, now) if when else "not a timestamp"
        inspection.times.append(TimeClaim(name, CLAIM_NAMES[name], claims[name], when, relative))
        if when is None:
            findings.append(Finding("malformed", f"“{name}” is not a Unix timestamp."))
    times = {t.name: t.when for t in inspection.times if t.when}
    # The clock skew the API forgives (CART_TOKEN_LEEWAY): findings use the same margin.
    leeway = timedelta(seconds=settings.CART_TOKEN_LEEWAY)
    if "exp" in times and times["exp"] <= now - leeway:
        findings.append(
            Finding(
                "expired",
                f"Expired at {times['exp']:%Y-%m-%d %H:%M:%S} UTC "
                f"({_relative(times['exp'], now)}). Each API answer re-issues the token with a "
                "fresh expiry; this one was not used in time. The client must start a new cart.",
            )
        )
    for name in ("nbf", "iat"):
        if name in times and times[name] > now + leeway:
            findings.append(
                Finding(
                    "not_yet_valid",
                    f"“{name}” is in the future ({times[name]:%Y-%m-%d %H:%M:%S} UTC): the "
                    "token claims to be issued later than now.",
                )
            )
    if "orig_iat" in times:
        absolute_end = times["orig_iat"] + timedelta(seconds=settings.CART_TOKEN_MAX_AGE)
        inspection.times.append(
            TimeClaim(
                "orig_iat + CART_TOKEN_MAX_AGE",
                "absolute end of this cart (never re-issued after)",
                "",
                absolute_end,
                _relative(absolute_end, now),
            )
        )
        if absolute_end <= now:
            findings.append(
                Finding(
                    "lifetime_exceeded",
                    f"The cart was first issued over {settings.CART_TOKEN_MAX_AGE // 86400} days "
                    "ago (orig_iat): past its absolute lifetime, it is not re-issued.",
                )
            )
    issuer, audience = tokens.ISSUER, tokens.AUDIENCE
    aud = claims.get("aud")
    if "aud" in claims:
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            findings.append(
                Finding(
                    "wrong_audience",
                    f"The audience is {aud!r}, not {audience!r}: this JWT was made for something "
                    "else (a receipt, another service), even if signed with the same key.",
                )
            )
    if "iss" in claims and claims.get("iss") != issuer:
        findings.append(
            Finding(
                "wrong_issuer",
                f"The issuer is {claims.get('iss')!r}, not {issuer!r}.",
            )
        )
    for name, value in claims.items():
        if name in TIME_CLAIMS or name == "cart":
            continue
        inspection.other_claims.append(
            (name, CLAIM_NAMES.get(name, ""), json.dumps(value, ensure_ascii=False))
        )
    _read_cart(inspection, claims.get("cart"))
    _read_user(inspection, claims.get("sub"))


def _read_cart(inspection: Inspection, cart: Any) -> None:
    if cart is None:
        return
    pairs = [
        item
        for item in (cart if isinstance(cart, list) else [])
        if isinstance(item, list) and len(item) == 2
    ]
    if not isinstance(cart, list) or len(pairs) != len(cart):
        inspection.findings.append(
            Finding("malformed", "The “cart” claim is not a list of [product id, quantity] pairs.")
        )
    ids = [
        pid
        for pid, _ in pairs
        if isinstance(pid, int) and not isinstance(pid, bool) and 1 <= pid <= MAX_PRODUCT_ID
    ]
    products = Product.objects.only("id", "name", "active").in_bulk(ids) if ids else {}
    for product_id, quantity in pairs:
        product = products.get(product_id)
        if product is None:
            inspection.cart_lines.append(
                CartLine(
                    product_id, quantity, f"Product #{product_id} (not in the catalogue)", False
                )
            )
        else:
            name = product.name if product.active else f"{product.name} (no longer sold)"
            inspection.cart_lines.append(CartLine(product_id, quantity, name, product.active))


def _read_user(inspection: Inspection, sub: Any) -> None:
    if sub in (None, ""):
        return
    if not inspection.users:
        inspection.user = "(a user id; your account may not view users)"
        return
    try:
        user_id = int(sub)
    except (TypeError, ValueError):
        user_id = 0
    user = (
        get_user_model().objects.only("id", "username").filter(pk=user_id).first()
        if 1 <= user_id <= MAX_PRODUCT_ID  # a database integer; anything else is no user
        else None
    )
    inspection.user = f"{user.get_username()} (id {user.pk})" if user else f"unknown user {sub!r}"


def sample_token() -> str:
    """A fresh token for a cart of up to three products on sale, for trying the inspector.

    Made with the API's own encoder and handed to the page only; nothing is stored.
    """
    ids = Product.objects.active().filter(stock__gt=0).order_by("pk").values_list("pk", flat=True)
    cart = Cart((pid, n + 1) for n, pid in enumerate(ids[:3]))
    return tokens.encode_cart(cart=cart, cid=tokens.new_cid())
