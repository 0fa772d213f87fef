"""Template context shared by every page of the web shop.

Lazy on purpose: the session is read only when a template shows the cart badge,
so pages without it (the JSON API, DRF's browsable API, the admin) never touch
the session store.
"""

from django.utils.functional import SimpleLazyObject

from . import stores
from .session_cart import load_cart


def cart_summary(request):
    session = getattr(request, "session", None)
    if session is None:
        return {}
    return {
        "cart_item_count": SimpleLazyObject(lambda: load_cart(session).item_count),
        "logout_promise": SimpleLazyObject(lambda: stores.current().logout),
    }
