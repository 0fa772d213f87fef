"""schemathesis against /api/schema/: no 5xx, and every answer matches the schema.

Runs in the normal suite in bounded time: a few examples per operation,
through the WSGI application (no network), once without a token and once with
a valid cart token.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def stocked(make_product):
    """A few products, and a cart token holding one of them.

    Requests go straight to the WSGI application, so, as Django's own test
    client does, keep the test's database connection open between requests
    (Django closes it at the end of a request; PostgreSQL would lose the
    test's transaction).
    """
    from .conftest import ApiClient

    products = [make_product(stock=50) for _ in range(3)]
    client = ApiClient()
    client.post("/api/cart/items/", {"product_id": products[0].pk, "quantity": 2})
    # After the test client's own requests: it reconnects these receivers when it is done.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield client.token
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema_without_a_token(case, stocked):
    case.call_and_validate(checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema_with_a_cart_token(case, stocked):
    case.call_and_validate(checks=CHECKS, headers={"Authorization": f"Bearer {stocked}"})


def test_schema_lists_every_endpoint():
    paths = set(schema.raw_schema["paths"])
    assert paths == {
        "/api/products/",
        "/api/products/{id}/",
        "/api/cart/",
        "/api/cart/items/",
        "/api/cart/items/{product_id}/",
        "/api/checkout/",
        "/api/auth/token/",
        "/api/orders/",
    }
