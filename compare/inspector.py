"""The token inspector of /admin/compare/: what a cart token says, and what the API answers.

A thin reader over `api.tokens`: it shows what anyone holding a token can read (a
JWT is signed, not encrypted), through the API's own unverified readers, and its
verdict is `decode_cart`'s own: the same refusal code and message a client gets.
Nothing is verified here. It reads the catalogue (one query) and the users (one
query) and never writes anything.
"""

from __future__ import annotations

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
    """Why the API refuses the token: `kind` is decode_cart's code, `message` its message."""

    kind: str
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


def _shown(value: Any) -> str:
    """JSON text of a claim for the page; a value JSON cannot write back is named by type."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return f"({type(value).__name__} too large or too deep to show)"


def inspect_token(token: str, *, now: datetime | None = None, users: bool = True) -> Inspection:
    """Read and judge a cart token as the API does. Reads products and users; writes nothing.

    With `users` false (a viewer without auth.view_user), `sub` is not resolved to a name.
    """
    now = now or timezone.now()
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    inspection = Inspection(
        token=token,
        size=len(token.encode("utf-8", errors="replace")),
        max_size=settings.CART_TOKEN_MAX_BYTES,
        segments=len(token.split(".")),
        users=users,
    )
    _verdict(inspection, token, now)
    _read(inspection, token, now)
    return inspection


def _verdict(inspection: Inspection, token: str, now: datetime) -> None:
    """decode_cart's own answer, and what it says about the signature."""
    try:
        decoded = tokens.decode_cart(token, now=int(now.timestamp()))
    except tokens.TokenError as error:
        inspection.api_code, inspection.api_message = error.code, error.message
        inspection.findings.append(Finding(error.code, error.message))
    except ImproperlyConfigured as error:  # the page explains a misconfiguration, no 500
        inspection.api_code, inspection.api_message = "not_configured", str(error)
        inspection.findings.append(Finding("not_configured", str(error)))
    else:
        inspection.valid = True
        inspection.kid = decoded.kid
    code = inspection.api_code
    inspection.signature_checked = inspection.valid or code not in tokens.BEFORE_SIGNATURE
    inspection.signature_valid = inspection.signature_checked and code != "bad_signature"
    if not inspection.signature_checked:
        inspection.signature_note = "not checked: the API refused the token before its signature"
    elif inspection.signature_valid:
        inspection.signature_note = "valid: HMAC-SHA256 with a configured key"
    else:
        inspection.signature_note = "does not match the key the token names"


def _read(inspection: Inspection, token: str, now: datetime) -> None:
    """What anyone can read in the token, through the API's unverified readers."""
    try:
        inspection.header = tokens.read_header(token)
    except tokens.TokenError:
        return
    kid = inspection.header.get("kid")
    inspection.kid = kid if isinstance(kid, str) else inspection.kid
    try:
        inspection.claims = tokens.read_claims(token)
    except tokens.TokenError:
        return
    _read_times(inspection, now)
    for name, value in inspection.claims.items():
        if name not in TIME_CLAIMS and name != "cart":
            inspection.other_claims.append((name, CLAIM_NAMES.get(name, ""), _shown(value)))
    _read_cart(inspection, inspection.claims.get("cart"))
    _read_user(inspection, inspection.claims.get("sub"))


def _read_times(inspection: Inspection, now: datetime) -> None:
    claims = inspection.claims or {}
    for name in TIME_CLAIMS:
        if name in claims:
            when = _timestamp(claims[name])
            relative = _relative(when, now) if when else "not a timestamp"
            raw = claims[name] if when else _shown(claims[name])
            inspection.times.append(TimeClaim(name, CLAIM_NAMES[name], raw, when, relative))
    first = next((t.when for t in inspection.times if t.name == "orig_iat"), None)
    if first is not None:
        try:
            end = first + timedelta(seconds=settings.CART_TOKEN_MAX_AGE)
        except OverflowError:
            return
        inspection.times.append(
            TimeClaim(
                "orig_iat + CART_TOKEN_MAX_AGE",
                "absolute end of this cart (never re-issued after)",
                "",
                end,
                _relative(end, now),
            )
        )


def _product_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PRODUCT_ID


def _read_cart(inspection: Inspection, cart: Any) -> None:
    pairs = [
        item
        for item in (cart if isinstance(cart, list) else [])
        if isinstance(item, list) and len(item) == 2
    ]
    ids = [pid for pid, _ in pairs if _product_id(pid)]
    products = Product.objects.only("id", "name", "active").in_bulk(ids) if ids else {}
    for product_id, quantity in pairs:
        product = products.get(product_id) if _product_id(product_id) else None
        if product is None:
            name = f"Product #{_shown(product_id)[:24]} (not in the catalogue)"
            inspection.cart_lines.append(CartLine(product_id, quantity, name, False))
        else:
            name = product.name if product.active else f"{product.name} (no longer sold)"
            inspection.cart_lines.append(CartLine(product_id, quantity, name, product.active))


def _read_user(inspection: Inspection, sub: Any) -> None:
    if sub in (None, ""):
        return
    if not inspection.users:
        inspection.user = "(a user id; your account may not view users)"
        return
    user_id = int(sub) if isinstance(sub, str) and sub.isascii() and sub.isdigit() else 0
    user = (
        get_user_model().objects.only("id", "username").filter(pk=user_id).first()
        if 1 <= user_id <= tokens.MAX_USER_ID
        else None
    )
    shown = _shown(sub)[:40]
    inspection.user = f"{user.get_username()} (id {user.pk})" if user else f"unknown user {shown}"


def sample_token() -> str:
    """A fresh token for a cart of up to three products on sale, for trying the inspector.

    Made with the API's own encoder and handed to the page only; nothing is stored.
    """
    ids = Product.objects.active().filter(stock__gt=0).order_by("pk").values_list("pk", flat=True)
    cart = Cart((pid, n + 1) for n, pid in enumerate(ids[:3]))
    return tokens.encode_cart(cart=cart, cid=tokens.new_cid())
