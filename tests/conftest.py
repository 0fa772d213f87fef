"""Fixtures shared by the whole suite: catalogue factories and database facts."""

import json
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection

from shop.models import Category, Product


def pytest_configure(config):
    """The suite signs with a key of its own: pytest-django turns DEBUG off, and with DEBUG
    off the API refuses to derive its development key (as a deployment would)."""
    from django.conf import settings

    if not settings.CART_TOKEN_KEYS:
        settings.CART_TOKEN_KEYS = "suite:" + "s" * 43


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


# --- JSON API: a client that carries the cart token, and a token forger -----------


class ApiClient:
    """Django's test client speaking JSON to /api/ and keeping the latest cart token."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client()
        self.token: str | None = None

    def call(self, method: str, path: str, body=None, *, token=..., **headers):
        token = self.token if token is ... else token
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        kwargs = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        response = getattr(self.client, method.lower())(path, **kwargs, **headers)
        if response.status_code < 300 and response.get("Content-Type") == "application/json":
            self.token = response.json().get("token", self.token)
        return response

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(db) -> ApiClient:
    return ApiClient()


@pytest.fixture
def forge():
    """Build cart tokens by hand: forge(claims=..., header=..., key=..., drop=(...))."""
    import time

    import jwt

    from api import tokens

    def make(*, claims=None, header=None, key=None, algorithm="HS256", drop=(), now=None):
        now = int(time.time()) if now is None else now
        kid, secret = tokens.signing_keys()[0]
        payload = {
            "iss": tokens.ISSUER,
            "aud": tokens.AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "orig_iat": now,
            "jti": "forged-jti",
            "cid": "forged-cart-id-1",
            "cart": [],
            "v": tokens.VERSION,
        }
        payload.update(claims or {})
        for name in drop:
            payload.pop(name)
        headers = {"kid": kid, **(header or {})}
        return jwt.encode(payload, secret if key is None else key, algorithm, headers=headers)

    return make


@pytest.fixture
def login_throttle_reset(db):
    """The login throttle counts failures in the database; start and end with none."""
    from axes.utils import reset

    reset()
    yield
    reset()


@pytest.fixture(autouse=True)
def _checkout_rate_out_of_the_way(settings):
    """The suite checks out many times from 127.0.0.1 within the hour, and the counts of
    the order limits outlive a test on Redis: tests/test_order_limits.py sets its own."""
    settings.CHECKOUTS_PER_ADDRESS = 10**6
    settings.CHECKOUTS_PER_ACCOUNT = 10**6


@pytest.fixture
def login_claims():
    """The claims a token needs to carry a good login of `user`: login_claims(user)."""
    import time

    from api import revocation

    def make(user) -> dict:
        return {
            "sub": str(user.pk),
            "auth_time": int(time.time()),
            "uv": revocation.login_claim(user),
        }

    return make
