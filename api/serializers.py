"""Shapes of the API's requests and answers.

The cart endpoints are the hot path: their bodies are checked by two small
functions and their answers built as plain dicts from the PricedCart, with no
serializer instances. The Serializer classes below still describe those shapes
for the OpenAPI schema, and serve the endpoints that are not on the hot path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from shop import checkout as customer_rules
from shop.cart import MAX_PRODUCT_ID
from shop.models import Order, OrderLine, Product
from shop.pricing import NoticeCode, PricedCart

# The largest product id, as the shop's cart defines it.
MAX_ID = MAX_PRODUCT_ID


# --- Request bodies of the cart endpoints (hot path) ---------------------------


def _whole_number(value: Any, *, field: str, low: int, high: int, errors: dict) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    if field == "quantity":
        message = f"Quantity must be a whole number from {low} to {high}."
    else:
        message = "A product id is a whole number of at least 1."
    errors[field] = [ErrorDetail(message, code="invalid")]
    return None


def _object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise ValidationError(
            {"non_field_errors": [ErrorDetail("The body must be a JSON object.", code="invalid")]}
        )
    return data


def parse_add_item(data: Any) -> tuple[int, int]:
    """`{"product_id", "quantity"}` (quantity defaults to 1) or a 400 with field errors."""
    data = _object(data)
    errors: dict[str, list] = {}
    if "product_id" not in data:
        errors["product_id"] = [ErrorDetail("This field is required.", code="required")]
        product_id = None
    else:
        product_id = _whole_number(
            data["product_id"], field="product_id", low=1, high=MAX_ID, errors=errors
        )
    quantity = _whole_number(
        data.get("quantity", 1),
        field="quantity",
        low=1,
        high=settings.CART_MAX_QUANTITY,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)
    return product_id, quantity  # type: ignore[return-value]


def parse_set_quantity(data: Any) -> int:
    """`{"quantity"}` from 0 (removes the line) to the per-line maximum, or a 400."""
    data = _object(data)
    errors: dict[str, list] = {}
    if "quantity" not in data:
        raise ValidationError(
            {"quantity": [ErrorDetail("This field is required.", code="required")]}
        )
    quantity = _whole_number(
        data["quantity"], field="quantity", low=0, high=settings.CART_MAX_QUANTITY, errors=errors
    )
    if errors:
        raise ValidationError(errors)
    return quantity  # type: ignore[return-value]


# --- Answers of the cart endpoints (hot path) -----------------------------------


def timestamp(value: int) -> str:
    return datetime.fromtimestamp(value, tz=UTC).isoformat().replace("+00:00", "Z")


def cart_body(priced: PricedCart, *, exp: int) -> dict[str, Any]:
    """The `cart` object of an answer: live prices, totals and what pricing changed."""
    return {
        "items": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
            }
            for line in priced.lines
        ],
        "total": str(priced.total),
        "item_count": priced.item_count,
        "expires_at": timestamp(exp),
        "notices": [
            {"product_id": n.product_id, "code": str(n.code), "message": n.message}
            for n in priced.notices
        ],
    }


# --- Schema of the cart shapes ----------------------------------------------------


class AddItemSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(
        min_value=1, max_value=settings.CART_MAX_QUANTITY, default=1
    )


class SetQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=settings.CART_MAX_QUANTITY, help_text="0 removes the line."
    )


class CartLineSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class NoticeSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    code = serializers.ChoiceField(
        choices=[code.value for code in NoticeCode],
        help_text="`merge_*`: what merging the account's saved cart at login changed "
        "(product_id 0 when the notice is about the whole cart).",
    )
    message = serializers.CharField()


class CartSerializer(serializers.Serializer):
    items = CartLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    item_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField(
        help_text="When the token in this answer expires, unless a later answer replaces it."
    )
    notices = NoticeSerializer(
        many=True, help_text="Lines the server dropped or reduced (product gone, stock low)."
    )


class LogoutAnswerSerializer(serializers.Serializer):
    detail = serializers.CharField()
    mode = serializers.ChoiceField(choices=["none", "denylist", "user-version", "short-ttl"])
    ended = serializers.ChoiceField(
        choices=["cart", "login", "nothing"],
        help_text="`cart`: every token of this cart; `login`: every logged-in token of the "
        "user; `nothing`: the server keeps no state it could change.",
    )
    until = serializers.DateTimeField(
        help_text="Revoked until (denylist), or when this token expires."
    )
    cart_saved_to_account = serializers.BooleanField()


class CartAnswerSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="The cart token: send it back as `Authorization: Bearer <token>`; "
        "it replaces every earlier token of this cart."
    )
    cart = CartSerializer()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class ShortageSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


class CheckoutConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=[
            "cart_already_ordered",
            "out_of_stock",
            "products_unavailable",
            "prices_changed",
            "empty_cart",
            "order_too_large",
        ]
    )
    shortages = ShortageSerializer(many=True, required=False)
    product_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="With `prices_changed`: the total now; send it as `expected_total` to accept it.",
    )


# --- Catalogue, checkout, identity ------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    available = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "description", "category", "price", "stock", "available"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_available(self, product: Product) -> bool:
        return product.active and product.stock > 0


# Patterns of the schema: DRF's CharField refuses NUL characters, and by default
# strips surrounding whitespace before checking blank and lengths.
_ANY = r"[^\u0000]"
# Python's str.strip() whitespace, spelled out: ECMA's \s differs (no U+0085, U+001C-1F;
# it has U+FEFF, which strip() keeps).
_WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)
_VISIBLE = f"[^{_WHITESPACE}\\u0000]"


def text_schema(*, min_length: int, max_length: int, trimmed: bool = True) -> dict[str, Any]:
    """The OpenAPI schema of a text field, saying what validation really accepts.

    With `trimmed`, at least `min_length` characters from the first to the last
    non-space one; never a NUL character.
    """
    if not trimmed:
        pattern = f"^{_ANY}*$"
    elif min_length <= 1:
        pattern = f"^{_ANY}*{_VISIBLE}{_ANY}*$"
    else:
        pattern = f"^{_ANY}*{_VISIBLE}{_ANY}{{{min_length - 2},}}{_VISIBLE}{_ANY}*$"
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": pattern,
    }


class TextField(serializers.CharField):
    """A CharField that takes JSON strings only (DRF's also turns numbers into text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextEmailField(TextField, serializers.EmailField):
    pass


@extend_schema_field(text_schema(min_length=1, max_length=customer_rules.NAME_MAX_LENGTH))
class NameField(TextField):
    """A name: not blank once stripped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", customer_rules.NAME_MAX_LENGTH)
        kwargs.setdefault("error_messages", {"blank": customer_rules.NAME_MISSING})
        super().__init__(**kwargs)


@extend_schema_field(
    text_schema(
        min_length=customer_rules.ADDRESS_MIN_LENGTH, max_length=customer_rules.ADDRESS_MAX_LENGTH
    )
)
class AddressField(TextField):
    """A delivery address of ADDRESS_MIN_LENGTH characters or more once stripped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", customer_rules.ADDRESS_MIN_LENGTH)
        kwargs.setdefault("max_length", customer_rules.ADDRESS_MAX_LENGTH)
        kwargs.setdefault(
            "error_messages",
            {"blank": customer_rules.FULL_ADDRESS, "min_length": customer_rules.FULL_ADDRESS},
        )
        super().__init__(**kwargs)


@extend_schema_field(text_schema(min_length=1, max_length=150))
class UsernameField(TextField):
    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=150, **kwargs)


@extend_schema_field(text_schema(min_length=1, max_length=4096, trimmed=False))
class PasswordField(TextField):
    """Taken as typed: surrounding spaces are part of a password."""

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=4096, trim_whitespace=False, **kwargs)


class CustomerSerializer(serializers.Serializer):
    name = NameField()
    email = TextEmailField(max_length=customer_rules.EMAIL_MAX_LENGTH)
    address = AddressField()


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"})
class TotalField(serializers.DecimalField):
    """A total of money as text, "12.50": what the schema says is what is accepted."""


class CheckoutSerializer(CustomerSerializer):
    expected_total = TotalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Optional: the total the buyer confirmed. If the prices now give another "
        "total, nothing is ordered: 409 `prices_changed` with the new `total`.",
    )


class OrderLineSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null once the product is deleted."
    )
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderLine
        fields = ["product_id", "name", "unit_price", "quantity", "line_total"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "created_at",
            "channel",
            "customer_name",
            "customer_email",
            "customer_address",
            "total",
            "lines",
        ]


class CheckoutAnswerSerializer(serializers.Serializer):
    order = OrderSerializer()
    token = serializers.CharField(help_text="A token for a fresh, empty cart.")
    cart = CartSerializer()


class LoginSerializer(serializers.Serializer):
    username = UsernameField()
    password = PasswordField()
