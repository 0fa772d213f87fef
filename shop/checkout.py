"""Checkout: turn a Cart into an Order, the same way for both channels.

`place_order` runs in one transaction. It locks the cart's products in id
order (so two checkouts never deadlock), re-reads every price from the
database, and writes nothing at all when the cart cannot be ordered in full.
Once it commits, the buyer is sent a confirmation email (shop.emails).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When

from .cart import Cart
from .emails import send_order_confirmation
from .errors import CheckoutError
from .limits import Buyer, check_checkout_rate, check_order_size, record_checkout
from .models import Order, OrderLine, Product

# The rules of a customer's details, for both channels: lengths count after stripping
# surrounding whitespace; a name is not blank and an address has ADDRESS_MIN_LENGTH
# characters or more.
NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
ADDRESS_MIN_LENGTH = 5
ADDRESS_MAX_LENGTH = 1000
NAME_MISSING = "Enter your name."
FULL_ADDRESS = "Enter a full delivery address."


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    address: str


@dataclass(frozen=True)
class Shortage:
    product_id: int
    name: str
    requested: int
    available: int


class EmptyCart(CheckoutError):
    code = "empty_cart"

    def __init__(self) -> None:
        super().__init__("Your cart is empty; add a product before checking out.")


class CartAlreadyOrdered(CheckoutError):
    code = "cart_already_ordered"

    def __init__(self, order: Order | None) -> None:
        super().__init__("This cart has already been checked out; start a new cart.")
        self.order = order


class ProductsUnavailable(CheckoutError):
    code = "products_unavailable"

    def __init__(self, product_ids: list[int]) -> None:
        ids = ", ".join(str(pid) for pid in product_ids)
        super().__init__(f"Some products are no longer sold (ids {ids}); remove them first.")
        self.product_ids = product_ids


class PricesChanged(CheckoutError):
    code = "prices_changed"

    def __init__(self, *, expected: Decimal, actual: Decimal) -> None:
        super().__init__(
            f"Prices changed since you confirmed: the total is now €{actual}, not €{expected}. "
            "Check the cart and confirm again."
        )
        self.expected = expected
        self.actual = actual


class OutOfStock(CheckoutError):
    code = "out_of_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        detail = "; ".join(
            f"“{s.name}”: {s.requested} wanted, {s.available} left" for s in shortages
        )
        super().__init__(f"Not enough stock: {detail}.")
        self.shortages = shortages


def place_order(
    *,
    cart: Cart,
    customer: Customer,
    channel: str,
    user=None,
    cart_id: str | None = None,
    idempotency_key: str = "",
    expected_total: Decimal | None = None,
    address: str | None = None,
) -> Order:
    """Order everything in `cart` at current prices, or raise CheckoutError.

    `cart_id` (the API cart's `cid`, or the web checkout form's id) can be
    ordered once: a second checkout of it, from any token of that cart or a
    form sent twice, raises CartAlreadyOrdered carrying the first order.
    `expected_total` is the total the buyer confirmed: if current prices give
    another, PricesChanged is raised and nothing is written.
    `address` is the client's address: with it, the shop's limits (shop.limits) apply,
    and TooManyCheckouts or OrderTooLarge is raised instead of an order.
    """
    if channel not in Order.Channel.values:
        raise ValueError(f"Unknown channel {channel!r}")
    if not cart:
        raise EmptyCart()
    buyer = None
    if address is not None:
        signed_in = user is not None and user.is_authenticated
        buyer = Buyer(address=address, user_id=user.pk if signed_in else None)
        check_checkout_rate(buyer)
    try:
        with transaction.atomic():
            order = _place_order_locked(
                cart=cart,
                customer=customer,
                channel=channel,
                user=user,
                cart_id=cart_id,
                idempotency_key=idempotency_key,
                expected_total=expected_total,
                limits=buyer is not None,
            )
    except IntegrityError:
        # Another checkout of the same cart id committed between our check and
        # our insert; the unique constraint refused this one.
        if cart_id and (order := Order.objects.filter(cart_id=cart_id).first()):
            raise CartAlreadyOrdered(order) from None
        raise
    if buyer is not None:
        record_checkout(buyer)
    return order


def _place_order_locked(
    *, cart, customer, channel, user, cart_id, idempotency_key, expected_total, limits
) -> Order:
    # Lock first, in id order: every checkout takes its locks in the same order.
    products = {
        product.pk: product
        for product in Product.objects.select_for_update()
        .filter(pk__in=cart.product_ids)
        .order_by("pk")
        .only("id", "name", "price", "stock", "active")
    }
    # Under the locks, a concurrent checkout of this cart has either committed or not started.
    if cart_id and (existing := Order.objects.filter(cart_id=cart_id).first()):
        raise CartAlreadyOrdered(existing)

    missing = [pid for pid in cart.product_ids if pid not in products or not products[pid].active]
    if missing:
        raise ProductsUnavailable(missing)
    shortages = [
        Shortage(pid, products[pid].name, quantity, products[pid].stock)
        for pid, quantity in cart
        if quantity > products[pid].stock
    ]
    if shortages:
        raise OutOfStock(shortages)

    total = sum((products[pid].price * quantity for pid, quantity in cart), Decimal("0.00"))
    if expected_total is not None and total != expected_total:
        raise PricesChanged(expected=expected_total, actual=total)
    if limits:
        check_order_size(
            lines=[(products[pid].name, quantity) for pid, quantity in cart],
            total=total,
            anonymous=user is None or not user.is_authenticated,
        )

    # One UPDATE for every line; the check constraint stock >= 0 is the last guard.
    updated = Product.objects.filter(pk__in=cart.product_ids).update(
        stock=Case(
            *(When(pk=pid, then=F("stock") - Value(quantity)) for pid, quantity in cart),
            default=F("stock"),
        )
    )
    if updated != len(cart):
        raise RuntimeError("Locked products vanished during checkout.")

    order = Order.objects.create(
        channel=channel,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_address=customer.address,
        user=user if user is not None and user.is_authenticated else None,
        total=total,
        cart_id=cart_id or None,
        idempotency_key=idempotency_key,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product_id=pid,
            name=products[pid].name,
            unit_price=products[pid].price,
            quantity=quantity,
        )
        for pid, quantity in cart
    )
    # Only an order that is really placed is confirmed: not before, nor after a rollback.
    transaction.on_commit(partial(send_order_confirmation, order))
    return order
