"""The rules of changing a cart, applied the same way by the web shop and the API.

A change names a product and a quantity; the rules look at the product as the
database has it now (for sale? how many in stock?) and at the cart as stored now.
A change the rules refuse raises a CartError and changes nothing: the same request
gets the same refusal, with the same code and message, on both channels.

Stock is checked when the cart changes, and refused, not lowered: a shopper who
asks for 12 when 8 are left is told so and decides, rather than finding 8 in the
cart. Stock can still fall later (another buyer checks out): pricing then lowers
or drops the line with a notice, and checkout checks stock again under a lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias

from .cart import Cart, CartError
from .models import Product

if TYPE_CHECKING:
    from .pricing import PricingRow

# By id: fetch_for_pricing's rows, or model instances with the same fields.
Products: TypeAlias = Mapping[int, "PricingRow | Product"]


class NotForSale(CartError):
    code = "not_for_sale"


class SoldOut(CartError):
    code = "sold_out"


class NotEnoughStock(CartError):
    code = "not_enough_stock"

    def __init__(self, message: str, *, available: int) -> None:
        super().__init__(message)
        self.available = available


class NotInCart(CartError):
    code = "not_in_cart"


def product_name(product: Product | None, product_id: int) -> str:
    return f"“{product.name}”" if product is not None else f"Product {product_id}"


def for_sale(product_id: int, products: Products) -> Product:
    """The product, if it exists and is sold; NotForSale otherwise."""
    product = products.get(product_id)
    if product is None or not product.active:
        raise NotForSale(
            f"{product_name(product, product_id)} is not for sale (any more); nothing was changed."
        )
    return product


def _check_stock(product: Product, wanted: int, held: int) -> None:
    if product.stock <= 0:
        raise SoldOut(f"“{product.name}” is sold out; nothing was changed.")
    if wanted > product.stock:
        already = f"; your cart already holds {held}" if held else ""
        raise NotEnoughStock(
            f"Only {product.stock} of “{product.name}” in stock{already}; nothing was changed.",
            available=product.stock,
        )


def add_to_cart(cart: Cart, product_id: int, quantity: int, products: Products) -> Cart:
    """`cart` with `quantity` more of the product, or a CartError saying why not."""
    product = for_sale(product_id, products)
    _check_stock(product, cart.quantity(product_id) + quantity, cart.quantity(product_id))
    return cart.add(product_id, quantity)


def set_in_cart(cart: Cart, product_id: int, quantity: int, products: Products) -> Cart:
    """`cart` with the line set to `quantity` (0 removes it), or a CartError saying why not."""
    if quantity == 0:
        return remove_from_cart(cart, product_id, products)
    product = for_sale(product_id, products)
    if product_id not in cart:
        raise NotInCart(
            f"{product_name(product, product_id)} is not in your cart; nothing was changed."
        )
    _check_stock(product, quantity, 0)
    return cart.set(product_id, quantity)


def remove_from_cart(cart: Cart, product_id: int, products: Products) -> Cart:
    """`cart` without the line, or NotInCart."""
    if product_id not in cart:
        name = product_name(products.get(product_id), product_id)
        raise NotInCart(f"{name} is not in your cart; nothing was changed.")
    return cart.remove(product_id)
