"""schemathesis against /api/schema/: no 5xx, and every answer matches the schema.

Runs in the normal suite in bounded time: a few examples per operation,
through the WSGI application (no network), once without a token and once with
a valid cart token.
"""

import json
import re
from http import HTTPStatus

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
    case.call_and_validate()


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema_with_a_cart_token(case, stocked):
    case.call_and_validate(headers={"Authorization": f"Bearer {stocked}"})


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
        "/api/auth/logout/",
        "/api/orders/",
    }


def fetch_schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == HTTPStatus.OK
    return json.loads(response.content)


def description_of(client) -> str:
    """The schema's description with its line breaks as spaces."""
    return " ".join(fetch_schema(client)["info"]["description"].split())


def test_schema_gives_the_checkout_fields_the_web_forms_limits():
    customer = schema.raw_schema["components"]["schemas"]["Checkout"]["properties"]
    assert customer["name"] | {"pattern": None, "example": None} == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "pattern": None,
        "example": None,
    }
    assert customer["email"]["maxLength"] == 254
    assert (customer["address"]["minLength"], customer["address"]["maxLength"]) == (5, 1000)


@pytest.mark.parametrize(
    ("address", "matches"),
    [
        ("1 Sta", True),
        ("  1 Sta\n", True),
        ("1\n\nSt", True),
        ("1 St", False),
        ("a    ", False),
        ("1 Sta\x00", False),
    ],
)
def test_schema_address_pattern_says_five_characters_after_trimming(address, matches):
    pattern = schema.raw_schema["components"]["schemas"]["Checkout"]["properties"]["address"][
        "pattern"
    ]
    assert (re.search(pattern, address) is not None) == matches


def test_schema_says_a_page_is_a_whole_number_from_1():
    for path in ("/api/products/", "/api/orders/"):
        operation = schema.raw_schema["paths"][path]["get"]
        [page] = [p for p in operation["parameters"] if p["name"] == "page"]
        assert page["schema"] == {"type": "integer", "minimum": 1}
        assert {"400", "404"} <= set(operation["responses"])


@pytest.mark.django_db
def test_schema_description_states_the_configured_token_lifetimes(client, settings):
    settings.CART_TOKEN_TTL = 2 * 3600
    settings.CART_TOKEN_MAX_AGE = 3 * 86400 + 12 * 3600
    settings.CART_TOKEN_LEEWAY = 45
    description = description_of(client)
    assert "expire 2 hours after the last answer" in description
    assert "at most 3 days and 12 hours from its first token" in description
    assert "45 seconds" in description
    assert "7 days" not in description
    assert "30 days" not in description


@pytest.mark.django_db
def test_schema_description_states_the_default_token_lifetimes(client):
    description = description_of(client)
    assert "expire 7 days after the last answer" in description
    assert "at most 30 days from its first token" in description


@pytest.mark.parametrize(
    ("field", "value", "matches"),
    [
        ("name", "A", True),
        ("name", " A ", True),
        ("name", "   ", False),
        ("name", "Ada\x00", False),
    ],
)
def test_schema_name_pattern_says_not_blank_and_no_nul(field, value, matches):
    pattern = schema.raw_schema["components"]["schemas"]["Checkout"]["properties"][field]["pattern"]
    assert (re.search(pattern, value) is not None) == matches


def test_schema_gives_the_login_fields_a_minimum_length():
    login = schema.raw_schema["components"]["schemas"]["Login"]["properties"]
    assert (login["username"]["minLength"], login["username"]["maxLength"]) == (1, 150)
    assert (login["password"]["minLength"], login["password"]["maxLength"]) == (1, 4096)
    assert re.search(login["password"]["pattern"], "   ")
    assert not re.search(login["password"]["pattern"], "pass\x00word")


def test_schema_says_product_filters_hold_no_nul_character():
    operation = schema.raw_schema["paths"]["/api/products/"]["get"]
    for name in ("search", "category"):
        [parameter] = [p for p in operation["parameters"] if p["name"] == name]
        pattern = parameter["schema"]["pattern"]
        assert re.search(pattern, "coffee tea")
        assert not re.search(pattern, "coffee\x00")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/cart/items/", "post"),
        ("/api/cart/items/{product_id}/", "put"),
        ("/api/checkout/", "post"),
        ("/api/auth/token/", "post"),
    ],
)
def test_schema_documents_the_413_of_an_oversized_body(path, method):
    assert "413" in schema.raw_schema["paths"][path][method]["responses"]


def test_every_money_quantity_and_name_in_the_schema_has_a_sensible_example():
    schemas = schema.raw_schema["components"]["schemas"]
    assert schemas["Cart"]["properties"]["total"]["example"] == "48.00"
    assert schemas["CartLine"]["properties"]["unit_price"]["example"] == "24.00"
    assert schemas["Checkout"]["properties"]["name"]["example"] == "Ada Lovelace"
    assert schemas["Checkout"]["properties"]["email"]["example"] == "ada@example.com"
    for name, component in schemas.items():
        for prop_name, prop in component.get("properties", {}).items():
            if prop.get("format") == "decimal" or prop.get("pattern"):
                assert "example" in prop, f"{name}.{prop_name} has no example"


def test_docs_page_sends_no_csrf_header_and_keeps_the_latest_token(client):
    html = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/", {"script": ""}).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "preauthorizeApiKey" in script
    assert "CSRF" not in script.upper().replace("NO CSRF HEADER", "")
