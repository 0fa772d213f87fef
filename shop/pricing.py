"""Pricing: a Cart to priced lines and a total, with exactly one query.

Prices always come from the database at the moment of pricing; the cart holds
none. A cart can outlive its products (a token lasts days), so pricing also
cleans the cart: lines whose product is gone or inactive are dropped, and a
quantity above the current stock is lowered, each with a notice that the
channel shows to the user.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any

from django.db import connection, connections, router

from .cart import Cart, max_quantity
from .models import Product, product_url


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    slug: str
    name: str
    unit_price: Decimal
    quantity: int
    stock: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def max_quantity(self) -> int:
        """The most of this product one cart may hold now: the stock, within the cart's limit."""
        return max(min(self.stock, max_quantity()), self.quantity)


class NoticeCode(StrEnum):
    """What the server changed in a cart (pricing, or the merge at login): `notices[].code`."""

    UNAVAILABLE = "unavailable"  # the product is gone or no longer sold: line removed
    SOLD_OUT = "sold_out"  # no stock left: line removed
    REDUCED = "reduced"  # less stock than the line asked for: quantity lowered
    MERGE_CAPPED = "merge_capped"  # merging the account's cart at login hit a line's limit
    MERGE_FULL = "merge_full"  # merging hit the cart's line limit
    MERGE_STALE = "merge_stale"  # the account's saved cart was too old to merge


@dataclass(frozen=True)
class Notice:
    """Something pricing changed in the cart, said so that a person understands it."""

    product_id: int
    code: NoticeCode
    message: str


@dataclass(frozen=True)
class PricedCart:
    cart: Cart  # the cart after cleaning: save this one back
    lines: list[PricedLine] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def changed(self) -> bool:
        """True when cleaning dropped or reduced a line."""
        return bool(self.notices)


PRICING_FIELDS = ("id", "slug", "name", "price", "stock", "active")


@cache
def _pricing_select() -> str:
    meta = Product._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in PRICING_FIELDS)
    # Identifiers from the model only; the ids are always query parameters.
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} IN "  # noqa: S608


@dataclass(frozen=True, slots=True)
class PricingRow:
    """What pricing and the cart rules read of a product: one row of the pricing query."""

    id: int
    slug: str
    name: str
    price: Decimal
    stock: int
    active: bool

    @property
    def pk(self) -> int:
        return self.id

    def get_absolute_url(self) -> str:
        return product_url(self.slug)


def fetch_for_pricing(product_ids: list[int]) -> dict[int, PricingRow]:
    """The pricing fields of these products, by id, in one query.

    Every cart request of both channels runs this, so it is written as SQL and
    gives plain rows: building the same query with the ORM (`only(...).in_bulk(...)`)
    cost about three times the CPU of running it, and a model instance per row
    about as much again. The fields' database converters still apply, as the ORM
    applies them (a Decimal price and a bool on every database).
    """
    using = router.db_for_read(Product)
    db = connections[using]
    placeholders = ", ".join(["%s"] * len(product_ids))
    with db.cursor() as cursor:
        cursor.execute(f"{_pricing_select()}({placeholders})", product_ids)
        rows = cursor.fetchall()
    converters = _converters(db)
    products = {}
    for row in rows:
        values = list(row)
        for index, column, functions in converters:
            for convert in functions:
                values[index] = convert(values[index], column, db)
        product = PricingRow(*values)
        products[product.id] = product
    return products


# Per connection (each thread has its own): finding the converters cost more than the query.
_CONVERTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _converters(db) -> list[tuple[int, Any, list]]:
    """(position, column, converters) of each pricing field that has database converters."""
    found = _CONVERTERS.get(db)
    if found is None:
        meta = Product._meta
        found = []
        for index, name in enumerate(PRICING_FIELDS):
            column = meta.get_field(name).get_col(meta.db_table)
            functions = db.ops.get_db_converters(column) + column.get_db_converters(db)
            if functions:
                found.append((index, column, functions))
        _CONVERTERS[db] = found
    return found


def price_cart(
    cart: Cart, *, products: Mapping[int, PricingRow | Product] | None = None
) -> PricedCart:
    """Price `cart` from current database values in one query.

    `products`, from `fetch_for_pricing` in the same request, saves that query.
    """
    if not cart:
        return PricedCart(cart=cart)
    if products is None:
        products = fetch_for_pricing(cart.product_ids)
    lines: list[PricedLine] = []
    notices: list[Notice] = []
    cleaned = cart
    for product_id, quantity in cart:
        product = products.get(product_id)
        if product is None or not product.active:
            name = f"“{product.name}”" if product else f"Product {product_id}"
            notices.append(
                Notice(
                    product_id, NoticeCode.UNAVAILABLE, f"{name} is no longer sold; it was removed."
                )
            )
            cleaned = cleaned.remove(product_id)
            continue
        if product.stock <= 0:
            notices.append(
                Notice(
                    product_id,
                    NoticeCode.SOLD_OUT,
                    f"“{product.name}” is sold out; it was removed.",
                )
            )
            cleaned = cleaned.remove(product_id)
            continue
        if quantity > product.stock:
            notices.append(
                Notice(
                    product_id,
                    NoticeCode.REDUCED,
                    f"Only {product.stock} of “{product.name}” left; "
                    f"your quantity was lowered from {quantity} to {product.stock}.",
                )
            )
            quantity = product.stock
            cleaned = cleaned.set(product_id, quantity)
        lines.append(
            PricedLine(
                product_id=product.pk,
                slug=product.slug,
                name=product.name,
                unit_price=product.price,
                quantity=quantity,
                stock=product.stock,
            )
        )
    return PricedCart(cart=cleaned, lines=lines, notices=notices)
