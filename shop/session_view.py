"""The visitor's own session, as the server holds it: `GET /session/` (JSON).

It shows the session named by the cookie that came with the request, and
nothing else: no parameter names a session, so nobody can ask for another
visitor's. Reading it never creates a session and never sets a cookie.
`POST /session/forget/` deletes this visitor's session from the store and
leaves the cookie in the browser: what losing the store (a Redis restart,
FLUSHDB) does to every visitor at once, done to one.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from . import stores
from .models import Product
from .server_timing import timed
from .session_cart import STORE_ERRORS, cart_from_session_data
from .session_meter import session_state

HIDDEN = "(hidden: a keyed hash of your password hash, which proves this login)"


def _visible(data: dict[str, Any]) -> dict[str, Any]:
    """The session's keys and values, with the login's password-derived hash left out."""
    shown = dict(data)
    if HASH_SESSION_KEY in shown:
        shown[HASH_SESSION_KEY] = HIDDEN
    return shown


def held_session(request) -> dict[str, Any]:
    """What the store holds for this visitor: decoded data, sizes, store, expiry.

    Queries (db store): none without a session; otherwise the session, its row's
    size, the names of the products in the cart (one query, whatever its length),
    and the user when logged in.
    """
    state = session_state(request)
    data: dict[str, Any] = {}
    # Loaded only when the store holds it: loading a session that is gone would make
    # SessionMiddleware delete the visitor's cookie, and looking must change nothing.
    if state["has_session"]:
        try:
            with timed("session"):
                data = dict(request.session.items())
        except STORE_ERRORS:
            state["unavailable"] = True
    cart = cart_from_session_data(data) if data else None
    names = (
        dict(Product.objects.filter(pk__in=[pid for pid, _ in cart]).values_list("id", "name"))
        if cart
        else {}
    )
    user = request.user if data else None
    expires = state["expires_at"]
    return {
        "store": state["store"],
        "where": state["where"],
        "lock": state["lock"],
        "has_session": state["has_session"],
        "unavailable": state["unavailable"],
        "key_prefix": state["key_prefix"],
        "cookie_bytes": state["cookie_bytes"],
        "server_bytes": state["server_bytes"],
        "cache_bytes": state["cache_bytes"],
        "expires_at": expires.isoformat() if expires else None,
        "data": _visible(data),
        "cart": [
            {"product_id": pid, "name": names.get(pid, f"product {pid} (gone)"), "quantity": qty}
            for pid, qty in (cart or ())
        ],
        "user": user.get_username() if user is not None and user.is_authenticated else None,
    }


@never_cache
@require_safe
def session_detail(request):
    body = held_session(request)
    # The shop's pending messages for this visitor, read (and so consumed) as a page would.
    body["messages"] = [
        {"level": message.level_tag, "text": str(message)}
        for message in messages.get_messages(request)
    ]
    return JsonResponse(body)


@never_cache
@require_POST
def session_forget(request):
    session = request.session
    if not stores.current().lockable:  # signed cookies: the session is the cookie
        return JsonResponse(
            {
                "forgotten": False,
                "detail": "With signed-cookie sessions the server holds nothing to forget: "
                "your session is your cookie.",
            },
            status=HTTPStatus.CONFLICT,
        )
    key = session.session_key
    try:
        held = key is not None and session.exists(key)
        if held:
            session.delete(key)
    except STORE_ERRORS:
        return JsonResponse(
            {"forgotten": False, "detail": "The session store is not answering."},
            status=HTTPStatus.SERVICE_UNAVAILABLE,
        )
    if not held:
        return JsonResponse({"forgotten": False, "detail": "The server holds no session for you."})
    # Not modified: the cookie stays in the browser and now names a session that is gone.
    return JsonResponse(
        {
            "forgotten": True,
            "key_prefix": key[:8],
            "detail": "The store no longer holds your session (nor the cart in it); your "
            "browser still sends its cookie.",
        }
    )
