"""Fixtures shared by the whole suite: catalogue factories and database facts."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connection

from shop.models import Category, Product

_sequence = count(1)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def category(db) -> Category:
    return Category.objects.create(name="Coffee & Tea", slug="coffee-tea")


@pytest.fixture
def make_product(db, category):
    """Create a product: make_product(price="9.99", stock=5, active=True, name=...)."""

    def make(*, price="10.00", stock=10, active=True, name=None, category_obj=None) -> Product:
        n = next(_sequence)
        return Product.objects.create(
            category=category_obj or category,
            slug=f"product-{n}",
            name=name or f"Product {n}",
            description=f"Description of product {n}.",
            price=Decimal(price),
            stock=stock,
            active=active,
        )

    return make


@pytest.fixture
def product(make_product) -> Product:
    return make_product(name="Espresso Blend 1 kg", price="24.00", stock=20)
