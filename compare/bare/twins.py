"""Minimal twins of the shop's add-to-cart: the least code each design needs, for the benchmark.

Each twin answers what the shop's endpoint answers, with nothing else:

- `api_add`: decode the cart JWT (PyJWT, HS256, required claims, audience and
  issuer), one query for the cart's products, sign a new token, answer the
  priced cart as JSON. The floor of the stateless design.
- `web_add` (locked): under a lock on the visitor's session (the row,
  `SELECT ... FOR UPDATE`, on the database store; a Redis lock on the cache
  store) read the session, one query for the product, write the session, redirect.
- `web_add_unlocked`: the same without the lock: Django's plain last-write-wins
  session, which loses one of two simultaneous changes of one cart.
- `cart`: the visitor's cart lines as JSON (and the CSRF cookie), for checking.

Served by `compare.bare.twin_settings` (see `compare.measure.servers.APPS["twin"]`).
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import jwt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shop import stores

from .models import Product

CART = "cart"


def _keys() -> list[tuple[str, str]]:
    pairs = [part.strip() for part in settings.CART_TOKEN_KEYS.split(",") if part.strip()]
    return [tuple(pair.split(":", 1)) for pair in pairs]


KEYS = dict(_keys())
SIGNING_KEY = _keys()[0]


def _priced(lines: dict[int, int]) -> dict:
    products = Product.objects.filter(pk__in=lines, active=True).only("name", "price", "stock")
    items, total = [], 0
    for product in products:
        quantity = min(lines[product.pk], product.stock)
        line_total = product.price * quantity
        total += line_total
        items.append(
            {
                "product_id": product.pk,
                "name": product.name,
                "quantity": quantity,
                "unit_price": str(product.price),
                "line_total": str(line_total),
            }
        )
    return {"items": items, "total": str(total), "item_count": sum(lines.values())}


def _verified(header: str) -> dict | None:
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer":
        return None
    try:
        secret = KEYS[jwt.get_unverified_header(token).get("kid")]
        return jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience="shop:cart",
            issuer="shop",
            options={"require": ["exp", "iat", "cid", "cart", "orig_iat", "jti", "v"]},
        )
    except (jwt.InvalidTokenError, KeyError):
        return None


@csrf_exempt
@require_POST
def api_add(request):
    header = request.headers.get("Authorization", "")
    if header:
        claims = _verified(header)
        if claims is None:
            return JsonResponse({"detail": "invalid token"}, status=401)
    else:  # no token: a new cart, as the shop's POST /api/cart/ starts one
        now = int(time.time())
        claims = {"iss": "shop", "aud": "shop:cart", "orig_iat": now, "v": 1, "cart": []}
        claims["cid"] = secrets.token_urlsafe(12)
    try:
        body = json.loads(request.body)
        product_id, quantity = int(body["product_id"]), int(body.get("quantity", 1))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"detail": "bad body"}, status=400)
    lines = {pid: qty for pid, qty in claims["cart"]}
    lines[product_id] = lines.get(product_id, 0) + quantity
    cart = _priced(lines)
    now = int(time.time())
    kid, secret = SIGNING_KEY
    claims.update(
        iat=now,
        exp=now + settings.CART_TOKEN_TTL,
        jti=secrets.token_urlsafe(9),
        cart=[[pid, qty] for pid, qty in lines.items()],
    )
    new = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})
    return JsonResponse({"token": new, "cart": cart})


def _form(request) -> tuple[int, int] | None:
    try:
        return int(request.POST["product_id"]), int(request.POST.get("quantity", 1))
    except (KeyError, ValueError):
        return None


def _added(data: dict, product_id: int, quantity: int) -> list[list[int]]:
    lines = dict(data.get(CART, []))
    lines[product_id] = lines.get(product_id, 0) + quantity
    return [[pid, qty] for pid, qty in lines.items()]


def _in_stock(product_id: int) -> bool:
    stock = Product.objects.filter(pk=product_id, active=True).values_list("stock", flat=True)
    return bool(stock) and stock[0] > 0


def _add_unlocked(session, form: tuple[int, int]) -> None:
    session[CART] = _added(dict(session.items()), *form)


@require_POST
def web_add_unlocked(request):
    form = _form(request)
    if form is None or not _in_stock(form[0]):
        return HttpResponseBadRequest("no such product")
    _add_unlocked(request.session, form)
    return HttpResponseRedirect("/twin/cart/")


def _add_locked_row(session, form: tuple[int, int]) -> bool:
    """The database store: lock the row, change its data, write it; False if there is none."""
    with transaction.atomic():
        row = Session.objects.select_for_update().filter(session_key=session.session_key).first()
        if row is None:
            return False
        data = session.decode(row.session_data)
        data[CART] = _added(data, *form)
        row.session_data = session.encode(data)
        row.expire_date = timezone.now() + timedelta(seconds=session.get_expiry_age())
        row.save(update_fields=["session_data", "expire_date"])
    return True


def _add_locked_cache(session, form: tuple[int, int]) -> bool:
    """The cache store: reload under a Redis lock, change, save; False if it is gone."""
    with cache.lock(f"twin-lock:{session.session_key}", timeout=10, blocking_timeout=5):
        fresh = session.__class__(session.session_key)
        data = dict(fresh.items())
        if fresh.session_key is None:
            return False
        fresh[CART] = _added(data, *form)
        fresh.save()
    return True


@require_POST
def web_add(request):
    form = _form(request)
    if form is None or not _in_stock(form[0]):
        return HttpResponseBadRequest("no such product")
    session = request.session
    store = stores.for_engine(settings.SESSION_ENGINE)
    locked = _add_locked_row if store.in_table else _add_locked_cache
    # A new session has nobody else to race with; signed cookies have nothing to lock.
    if session.session_key is None or not store.lockable:
        _add_unlocked(session, form)
    elif not locked(session, form):
        session.flush()
        _add_unlocked(session, form)
    return HttpResponseRedirect("/twin/cart/")


def cart(request):
    get_token(request)
    return JsonResponse({CART: request.session.get(CART, [])})
