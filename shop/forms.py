"""Forms of the web shop: cart quantities, checkout details and sign-up."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .cart import max_quantity


def quantity_field(*, minimum: int) -> forms.IntegerField:
    """A quantity from `minimum` to the cart's per-line limit, with errors a shopper understands."""
    top = max_quantity()
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


class AddToCartForm(forms.Form):
    product_id = forms.IntegerField(
        min_value=1,
        error_messages={
            "required": "Choose a product to add.",
            "invalid": "That is not a product of this shop.",
            "min_value": "That is not a product of this shop.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"] = quantity_field(minimum=1)


class SetQuantityForm(forms.Form):
    """Set a line's quantity; 0 removes the line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"] = quantity_field(minimum=0)


class CheckoutForm(forms.Form):
    name = forms.CharField(max_length=200, label="Full name")
    email = forms.EmailField(max_length=254)
    address = forms.CharField(
        max_length=1000,
        label="Delivery address",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter your name.")
        return name

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip()
        if len(address) < 5:
            raise forms.ValidationError("Enter a full delivery address.")
        return address


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For your order confirmations.")
    first_name = forms.CharField(max_length=150, required=False, label="Name")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "first_name", "email")
