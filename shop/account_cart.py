"""The cart that follows an account across devices: saved at logout, merged in at login.

One policy for both channels: **merge**. At login the account's saved cart is
taken out of the database and merged into the cart the visitor holds (the
session's or the token's), and at logout the cart in hand is saved back to the
account. So a cart moves with the login; it is never copied onto two devices at
once, and nothing is written on an ordinary cart change (the API stays
write-free per request). The cases that surprise people are handled, each with
a notice:

- a saved cart older than CART_ACCOUNT_CART_MAX_AGE is set aside, not merged;
- a quantity that the merge would push over CART_MAX_QUANTITY stops at the limit;
- lines past CART_MAX_LINES are left out (the cart in hand comes first);
- products no longer sold, sold out or short are dropped or lowered by pricing.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .cart import Cart, CartError, max_lines, max_quantity
from .models import AccountCart
from .pricing import Notice, NoticeCode, price_cart


@dataclass(frozen=True)
class Merged:
    cart: Cart
    notices: list[Notice] = field(default_factory=list)
    saved_lines: int = 0  # lines the saved cart brought (before limits)

    @property
    def messages(self) -> list[str]:
        return [notice.message for notice in self.notices]


def merge_carts(held: Cart, saved: Cart) -> tuple[Cart, list[Notice]]:
    """`held` plus `saved`: quantities summed up to the limit, held lines first."""
    notices: list[Notice] = []
    merged = held
    limit, lines = max_quantity(), max_lines()
    left_out = 0
    for product_id, quantity in saved:
        have = merged.quantity(product_id)
        if not have and len(merged) >= lines:
            left_out += 1
            continue
        total = have + quantity
        if total > limit:
            notices.append(
                Notice(
                    product_id,
                    NoticeCode.MERGE_CAPPED,
                    f"Product {product_id} was in both carts ({have} + {quantity}); "
                    f"the quantity stops at the limit of {limit}.",
                )
            )
            total = limit
        merged = merged.set(product_id, total)
    if left_out:
        notices.append(
            Notice(
                0,
                NoticeCode.MERGE_FULL,
                f"{left_out} line{'s' if left_out != 1 else ''} of your saved cart did not fit "
                f"(a cart holds at most {lines} products) and {'were' if left_out != 1 else 'was'} "
                "left out.",
            )
        )
    return merged, notices


def saved_cart_is_stale(updated_at: datetime, *, now: datetime) -> bool:
    return now - updated_at > timedelta(seconds=settings.CART_ACCOUNT_CART_MAX_AGE)


def merge_at_login(*, user_id: int, cart: Cart, now: datetime | None = None) -> Merged:
    """Take the account's saved cart out of the database and merge it into `cart`.

    The saved row is deleted in the same transaction: the cart now lives where the
    visitor logged in. The result is priced (one query) so that products no longer
    sold are dropped and the notices say so.
    """
    now = timezone.now() if now is None else now
    if not AccountCart.objects.filter(user_id=user_id).exists():
        return Merged(cart=cart)  # the common case: one read, nothing written
    with transaction.atomic():
        row = AccountCart.objects.select_for_update().filter(user_id=user_id).first()
        if row is None:  # another login took it meanwhile
            return Merged(cart=cart)
        row.delete()
    try:
        saved = Cart.from_compact(row.lines)
    except CartError:
        saved = Cart()
    if not saved:
        return Merged(cart=cart)
    if saved_cart_is_stale(row.updated_at, now=now):
        when = row.updated_at.strftime("%Y-%m-%d")
        notice = Notice(
            0,
            NoticeCode.MERGE_STALE,
            f"A cart you left on {when} was older than "
            f"{settings.CART_ACCOUNT_CART_MAX_AGE // 86400} days and was not merged.",
        )
        return Merged(cart=cart, notices=[notice])
    merged, notices = merge_carts(cart, saved)
    priced = price_cart(merged)
    return Merged(cart=priced.cart, notices=notices + priced.notices, saved_lines=len(saved))


def save_at_logout(*, user_id: int, cart: Cart, now: datetime | None = None) -> None:
    """Keep the cart in hand for the account's next login (merged into anything saved)."""
    now = timezone.now() if now is None else now
    with transaction.atomic():
        row = AccountCart.objects.select_for_update().filter(user_id=user_id).first()
        if row is not None and not saved_cart_is_stale(row.updated_at, now=now):
            with suppress(CartError):
                cart, _ = merge_carts(cart, Cart.from_compact(row.lines))
        if not cart:
            AccountCart.objects.filter(user_id=user_id).delete()
            return
        AccountCart.objects.update_or_create(
            user_id=user_id, defaults={"lines": cart.to_compact(), "updated_at": now}
        )


def saved_cart_bytes(user_id: int) -> int:
    """Bytes of the account's saved cart as stored (its JSON), 0 without one."""
    row = AccountCart.objects.filter(user_id=user_id).values_list("lines", flat=True).first()
    if row is None:
        return 0
    return len(json.dumps(row, separators=(",", ":")))
