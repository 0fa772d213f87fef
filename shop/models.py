"""The catalogue and the orders: the only state both channels share."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return product_url(self.slug)


def product_url(slug: str) -> str:
    """The product page of `slug`."""
    return reverse("shop:product", kwargs={"slug": slug})


class Order(models.Model):
    class Channel(models.TextChoices):
        WEB = "web", "Web shop (session)"
        API = "api", "JSON API (token)"

    channel = models.CharField(max_length=3, choices=Channel.choices)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    customer_address = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The API cart's `cid`, or "web-<id>" of the web checkout form: each can be ordered
    # once, whichever token of the cart is replayed or however often the form is sent.
    # NULL (not "") for an order placed without one (the shell, tests), so that the unique
    # constraint covers only real cart ids.
    cart_id = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=100, blank=True, editable=False)
    # Size of the cart token this order was placed with: recorded by the API, not by
    # checkout (a figure of the comparison page; NULL for web orders).
    token_bytes = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart_id"],
                condition=Q(cart_id__isnull=False),
                name="order_cart_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class AccountCart(models.Model):
    """A user's cart between logins: what follows them from one device to the next.

    Written when a logged-in visitor logs out (either channel) and taken out again,
    merged into the cart in hand, when they next log in (shop.account_cart). Only the
    compact cart, `[[product_id, quantity], ...]`: no prices.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="saved_cart",
    )
    lines = models.JSONField(default=list)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"saved cart of user {self.user_id}"
