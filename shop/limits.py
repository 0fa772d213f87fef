"""Limits against inventory denial: how much one client may order, and how often.

A shop without payment lets anyone "buy" the whole catalogue; these limits are what
real shops use against that. Each is a setting, the same for both channels:

- CHECKOUTS_PER_ADDRESS and CHECKOUTS_PER_ACCOUNT orders per CHECKOUT_WINDOW seconds,
  counted in the `limits` cache (Redis when REDIS_URL is set, the database otherwise),
  which every process shares;
- ORDER_MAX_UNITS units of one product in one order;
- ANONYMOUS_ORDER_MAX_TOTAL for an order placed without an account.

Orders are counted when placed, so a refused or replayed checkout costs nothing; two
checkouts at the very same moment can both pass the last free place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import caches

from .errors import CheckoutError

CACHE = "limits"


class LimitExceeded(CheckoutError):
    """An order the limits refuse; nothing was written."""

    code = "limit_exceeded"


class TooManyCheckouts(LimitExceeded):
    """429: this address or account placed its orders for the window."""

    code = "too_many_checkouts"

    def __init__(self, *, who: str, limit: int, window: int, retry_after: int) -> None:
        minutes = max(1, round(window / 60))
        super().__init__(
            f"Too many orders from {who}: at most {limit} every {minutes} minutes. "
            f"Try again in {max(1, round(retry_after / 60))} minutes."
        )
        self.limit = limit
        self.retry_after = retry_after


class OrderTooLarge(LimitExceeded):
    """409: the cart is over a per-order cap; the buyer can lower it."""

    code = "order_too_large"


@dataclass(frozen=True)
class Buyer:
    """Who is checking out: the client's address (REMOTE_ADDR) and the account, if any."""

    address: str
    user_id: int | None = None

    def counters(self) -> list[tuple[str, str, int]]:
        """(cache key part, words for a person, limit) of each count this buyer is under."""
        found = [(f"addr:{self.address}", "your address", settings.CHECKOUTS_PER_ADDRESS)]
        if self.user_id is not None:
            found.append((f"user:{self.user_id}", "your account", settings.CHECKOUTS_PER_ACCOUNT))
        return found


def _window() -> tuple[int, int]:
    """The current fixed window: its number and the seconds left in it."""
    size = settings.CHECKOUT_WINDOW
    now = int(time.time())
    return now // size, size - now % size


def check_checkout_rate(buyer: Buyer) -> None:
    """Raise TooManyCheckouts if the buyer has placed all the orders this window allows."""
    cache = caches[CACHE]
    number, left = _window()
    for part, who, limit in buyer.counters():
        if cache.get(f"checkouts:{part}:{number}", 0) >= limit:
            raise TooManyCheckouts(
                who=who, limit=limit, window=settings.CHECKOUT_WINDOW, retry_after=left
            )


def record_checkout(buyer: Buyer) -> None:
    """Count one placed order against the buyer's address and account."""
    cache = caches[CACHE]
    number, left = _window()
    for part, _who, _limit in buyer.counters():
        key = f"checkouts:{part}:{number}"
        cache.add(key, 0, timeout=left + 1)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=settings.CHECKOUT_WINDOW)


def check_order_size(*, lines: list[tuple[str, int]], total: Decimal, anonymous: bool) -> None:
    """Raise OrderTooLarge for more than ORDER_MAX_UNITS of a product, or an anonymous
    order over ANONYMOUS_ORDER_MAX_TOTAL. `lines` are (product name, quantity)."""
    cap = settings.ORDER_MAX_UNITS
    over = [f"“{name}”: {quantity}" for name, quantity in lines if quantity > cap]
    if over:
        raise OrderTooLarge(
            f"At most {cap} of each product per order ({'; '.join(over)}). "
            "Lower the quantity and check out again."
        )
    ceiling = settings.ANONYMOUS_ORDER_MAX_TOTAL
    if anonymous and total > ceiling:
        raise OrderTooLarge(
            f"An order without an account can be at most €{ceiling} (this one is €{total}). "
            "Log in, or order less."
        )
