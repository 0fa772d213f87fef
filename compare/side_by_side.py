"""/side-by-side/: one page where a visitor drives both carts and sees each channel's state.

The page only renders the controls; its script (static/js/side-by-side.js) does
every step for real, through the endpoints a browser and a script use: the web
shop's form posts with CSRF (described by `shop.reveal`), the API's JSON
endpoints with the token. Its state columns read `GET /session/` and the tokens.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from shop import stores
from shop.models import Product

PRODUCTS_OFFERED = 6


def _url_or_empty(name: str) -> str:
    """The URL of an endpoint, or "" when this deployment has none (the page then says so)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@require_safe
@ensure_csrf_cookie
def side_by_side(request):
    products = list(
        Product.objects.active()
        .filter(stock__gte=5)
        .order_by("category__name", "name")
        .values("id", "name", "price")[:PRODUCTS_OFFERED]
    )
    store = stores.current()
    return render(
        request,
        "compare/side_by_side.html",
        {
            "products": products,
            "product_data": {p["id"]: p["name"] for p in products},
            "store": store.label,
            # As /session/forget/ decides: a store that cannot lock holds nothing on the server.
            "can_forget": store.lockable,
            "api_logout_url": _url_or_empty("api:logout"),
            "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        },
    )
