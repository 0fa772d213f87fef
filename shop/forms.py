"""Forms of the web shop: cart quantities, checkout details and sign-up."""

import functools
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from . import checkout as customer_rules
from .cart import MAX_PRODUCT_ID, max_quantity


@functools.lru_cache(maxsize=16)
def quantity_field(minimum: int, top: int) -> forms.IntegerField:
    """A quantity from `minimum` to `top`, with errors a shopper understands (built once)."""
    return forms.IntegerField(
        min_value=minimum,
        max_value=top,
        error_messages={
            "required": "Enter a quantity.",
            "invalid": f"The quantity must be a whole number from {minimum} to {top}.",
            "min_value": f"The quantity must be at least {minimum}.",
            "max_value": f"At most {top} of one product per order.",
        },
    )


PRODUCT_ID_FIELD = forms.IntegerField(
    min_value=1,
    max_value=MAX_PRODUCT_ID,
    error_messages={
        "required": "Choose a product to add.",
        "invalid": "That is not a product of this shop.",
        "min_value": "That is not a product of this shop.",
        "max_value": "That is not a product of this shop.",
    },
)


# The cart's form posts carry one or two whole numbers. Their fields are built once and
# only clean() is called on them (which changes nothing on a field), so each post is read
# by Django's own IntegerField rules and messages without building a Form: a Form copies
# its fields and runs its whole clean on every request, about 35 µs of CPU per add
# (python -m compare.measure.profile web_add).


def read_quantity(data: Mapping[str, Any], *, minimum: int) -> int:
    """The posted `quantity`, from `minimum` to the per-line limit; ValidationError if not."""
    return quantity_field(minimum, max_quantity()).clean(data.get("quantity"))


def read_add_to_cart(data: Mapping[str, Any]) -> tuple[int, int]:
    """The posted `product_id` and `quantity` (at least 1); a ValidationError names the fault."""
    product_id = PRODUCT_ID_FIELD.clean(data.get("product_id"))
    return product_id, read_quantity(data, minimum=1)


class CheckoutForm(forms.Form):
    """Delivery details, plus what the buyer confirms: this form's id and the total shown.

    The id makes the order idempotent (a form sent twice orders once); the total
    makes a price change between showing and sending the form a question, not a surprise.
    """

    STALE = "This checkout page is out of date; please check your order and confirm again."

    checkout_id = forms.UUIDField(
        widget=forms.HiddenInput, error_messages={"required": STALE, "invalid": STALE}
    )
    expected_total = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        widget=forms.HiddenInput,
        error_messages={"required": STALE, "invalid": STALE},
    )
    name = forms.CharField(
        max_length=customer_rules.NAME_MAX_LENGTH,
        label="Full name",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        max_length=customer_rules.EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    address = forms.CharField(
        max_length=customer_rules.ADDRESS_MAX_LENGTH,
        label="Delivery address",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "street-address"}),
    )

    @staticmethod
    def confirmation(total: Decimal) -> dict[str, object]:
        """Initial values of the hidden fields for a newly shown checkout page."""
        return {"checkout_id": uuid.uuid4(), "expected_total": total}

    def clean_checkout_id(self) -> str:
        return self.cleaned_data["checkout_id"].hex

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(customer_rules.NAME_MISSING)
        return name

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip()
        if len(address) < customer_rules.ADDRESS_MIN_LENGTH:
            raise forms.ValidationError(customer_rules.FULL_ADDRESS)
        return address


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=True,
        help_text="For your order confirmations and for resetting a forgotten password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        max_length=150,
        required=False,
        label="Name",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "first_name", "email")
