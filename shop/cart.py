"""The Cart: an immutable value of product id -> quantity, shared by both channels.

It holds no prices and no model objects, so the session store and the cart
token can keep it as plain JSON (`to_compact`) and every price is read from the
database when the cart is priced or ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings

from .errors import ExplainedError


class CartError(ExplainedError, ValueError):
    """A change or a stored form that would break one of the cart's rules."""

    code = "invalid_cart"


class InvalidProductId(CartError):
    code = "invalid_product_id"


class QuantityOutOfRange(CartError):
    code = "invalid_quantity"


class TooManyLines(CartError):
    code = "too_many_lines"


class InvalidCartData(CartError):
    code = "invalid_cart_data"


def max_lines() -> int:
    return settings.CART_MAX_LINES


def max_quantity() -> int:
    return settings.CART_MAX_QUANTITY


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The largest id a product can have (a 64-bit signed integer, as BigAutoField stores).
MAX_PRODUCT_ID = 2**63 - 1


def _check_product_id(product_id: Any) -> int:
    if not _is_int(product_id) or not 1 <= product_id <= MAX_PRODUCT_ID:
        raise InvalidProductId(f"{product_id!r} is not a product id.")
    return product_id


def _check_quantity(quantity: Any, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not _is_int(quantity) or not low <= quantity <= max_quantity():
        raise QuantityOutOfRange(f"Quantity must be a whole number from {low} to {max_quantity()}.")
    return quantity


class Cart:
    """Product id -> quantity, in the order the lines were first added.

    Every change returns a new Cart; a Cart never changes after it is made.
    """

    __slots__ = ("_lines",)

    def __init__(self, lines: Iterable[tuple[int, int]] = ()) -> None:
        checked: dict[int, int] = {}
        for product_id, quantity in lines:
            product_id = _check_product_id(product_id)
            if product_id in checked:
                raise InvalidCartData(f"Product {product_id} appears twice in the cart.")
            checked[product_id] = _check_quantity(quantity)
        if len(checked) > max_lines():
            raise TooManyLines(f"A cart holds at most {max_lines()} different products.")
        object.__setattr__(self, "_lines", checked)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Cart is immutable; use add, set or remove.")

    # --- Reading ----------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._lines.items())

    def __len__(self) -> int:
        return len(self._lines)

    def __bool__(self) -> bool:
        return bool(self._lines)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._lines

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cart):
            return NotImplemented
        return list(self) == list(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Cart({list(self)!r})"

    def quantity(self, product_id: int) -> int:
        return self._lines.get(product_id, 0)

    @property
    def product_ids(self) -> list[int]:
        return list(self._lines)

    @property
    def item_count(self) -> int:
        return sum(self._lines.values())

    # --- Changing (each returns a new Cart) --------------------------------

    def add(self, product_id: int, quantity: int = 1) -> Cart:
        """Add `quantity` to a line, creating it if needed."""
        product_id = _check_product_id(product_id)
        quantity = _check_quantity(quantity)
        new_quantity = self.quantity(product_id) + quantity
        if new_quantity > max_quantity():
            raise QuantityOutOfRange(
                f"At most {max_quantity()} of one product per cart; "
                f"the cart already holds {self.quantity(product_id)}."
            )
        return self._with(product_id, new_quantity)

    def set(self, product_id: int, quantity: int) -> Cart:
        """Set a line's quantity; 0 removes the line."""
        product_id = _check_product_id(product_id)
        quantity = _check_quantity(quantity, allow_zero=True)
        if quantity == 0:
            return self.remove(product_id)
        return self._with(product_id, quantity)

    def remove(self, product_id: int) -> Cart:
        """Remove a line; removing a line that is not there changes nothing."""
        return Cart._checked({pid: qty for pid, qty in self if pid != product_id})

    def _with(self, product_id: int, quantity: int) -> Cart:
        if product_id not in self._lines and len(self._lines) >= max_lines():
            raise TooManyLines(f"A cart holds at most {max_lines()} different products.")
        lines = dict(self._lines)
        lines[product_id] = quantity
        return Cart._checked(lines)

    @classmethod
    def _checked(cls, lines: dict[int, int]) -> Cart:
        """A cart of lines that already meet every rule: this cart's, with one checked change."""
        cart = object.__new__(cls)
        object.__setattr__(cart, "_lines", lines)
        return cart

    # --- The stored form --------------------------------------------------

    def to_compact(self) -> list[list[int]]:
        """The plain-JSON form both stores keep: [[product_id, quantity], ...]."""
        return [[product_id, quantity] for product_id, quantity in self]

    @classmethod
    def from_compact(cls, data: Any) -> Cart:
        """Rebuild a cart from `to_compact()` output, checking every rule again.

        Raises InvalidCartData (or another CartError) for anything that is not
        a list of [product_id, quantity] pairs within the limits.
        """
        if data is None:
            return cls()
        if not isinstance(data, list):
            raise InvalidCartData("Cart data must be a list of [product_id, quantity] pairs.")
        pairs = []
        for item in data:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise InvalidCartData("Each cart line must be a [product_id, quantity] pair.")
            pairs.append((item[0], item[1]))
        return cls(pairs)
