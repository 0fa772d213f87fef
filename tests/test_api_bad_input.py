"""Bad requests to the API get a clear 4xx in JSON, never a 500 or an HTML page."""

import json
from http import HTTPStatus

import pytest
from django.test import Client

from api.urls import urlpatterns
from shop.forms import CheckoutForm

ENDPOINTS_WITH_A_BODY = [
    ("post", "/api/cart/items/"),
    ("post", "/api/checkout/"),
    ("post", "/api/auth/token/"),
    ("put", "/api/cart/items/1/"),
]
CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}


pytestmark = pytest.mark.usefixtures("login_throttle_reset")


@pytest.fixture
def client(db) -> Client:
    """A test client that answers a 500 (as a server would) instead of raising."""
    return Client(raise_request_exception=False)


# --- Bodies ------------------------------------------------------------------------


def nested(depth: int) -> list[str]:
    return ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS_WITH_A_BODY)
@pytest.mark.parametrize("body", nested(100_000))
def test_deeply_nested_json_body_is_a_400_parse_error(client, method, path, body):
    response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "parse_error"
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS_WITH_A_BODY)
@pytest.mark.parametrize("body", nested(1000))
def test_json_body_nested_a_thousand_levels_is_a_400(client, method, path, body):
    # Python 3.11 gives up decoding at about 1000 levels (parse_error), 3.12 goes
    # deeper and the view refuses the shape: a 400 in JSON either way.
    response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


def test_moderately_nested_json_body_is_an_ordinary_field_error(client):
    body = '{"product_id": ' + "[" * 50 + "]" * 50 + "}"
    response = client.post("/api/cart/items/", body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "product_id" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/cart/items/"),
        ("put", "/api/cart/items/1/"),
        ("post", "/api/checkout/"),
        ("post", "/api/auth/token/"),
    ],
)
def test_body_over_the_upload_limit_is_a_json_413_with_a_code(client, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"product_id": 1, "padding": "x" * 2000})
    response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "body_too_large"
    assert "1000 bytes" in response.json()["detail"]


def test_body_over_the_default_limit_is_a_json_413(client, settings):
    body = json.dumps({"product_id": 1, "padding": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)})
    response = client.post("/api/cart/items/", body, content_type="application/json")
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "body_too_large"


def test_oversized_body_is_a_413_in_the_browsable_api_too(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"padding": "x" * 2000})
    response = client.post(
        "/api/cart/items/", body, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"].startswith("text/html")


# --- Query parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["search=a%00", "search=%00", "category=%00", "category=coffee%00tea"]
)
def test_nul_character_in_a_product_filter_is_a_400_naming_the_parameter(client, query):
    response = client.get(f"/api/products/?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    name = query.split("=")[0]
    [message] = response.json()[name]
    assert "NUL" in message


def test_product_filters_without_nul_still_work(client, make_product):
    wanted = make_product(name="Lapsang Souchong")
    make_product(name="Espresso")
    response = client.get("/api/products/?search=souchong&category=coffee-tea")
    assert response.status_code == HTTPStatus.OK
    assert [p["id"] for p in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize("page", ["", "0", "-1", "abc", "last", "1.5", " 1", "٣"])
@pytest.mark.parametrize("path", ["/api/products/", "/api/orders/"])
def test_page_that_is_not_a_whole_number_from_1_is_a_400(client, page, path, forge, login_claims):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("pager", "p@example.com", "x" * 20)
    token = forge(claims=login_claims(user))
    response = client.get(path, {"page": page}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["page"][0].startswith("A page is a whole number")


@pytest.mark.parametrize("page", ["2", "99", "9" * 40])
def test_page_past_the_last_is_a_404(client, make_product, page):
    make_product()
    response = client.get("/api/products/", {"page": page})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_first_page_by_number_or_by_default(client, make_product):
    make_product()
    assert client.get("/api/products/").json()["count"] == 1
    assert client.get("/api/products/?page=1").json()["count"] == 1


# --- Methods ------------------------------------------------------------------------


API_PATHS = [
    "/api/products/",
    "/api/products/1/",
    "/api/cart/",
    "/api/cart/items/",
    "/api/cart/items/1/",
    "/api/checkout/",
    "/api/auth/token/",
    "/api/auth/logout/",
    "/api/orders/",
    "/api/schema/",
    "/api/docs/",
    "/api/no/such/endpoint/",
    "/api/cart",
]


def test_the_method_checks_cover_every_api_url_pattern():
    from django.urls import resolve

    tried = {resolve(path).route for path in API_PATHS}
    assert tried == {"api/" + str(pattern.pattern).lstrip("^") for pattern in urlpatterns}


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("method", ["options", "head"])
@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/html"])
def test_no_api_url_answers_options_or_head_with_a_server_error(client, path, method, accept):
    response = getattr(client, method)(path, HTTP_ACCEPT=accept)
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, path
    if response.status_code < HTTPStatus.BAD_REQUEST and method == "options":
        assert "OPTIONS" in response["Allow"]


def test_options_on_the_docs_page_lists_its_methods(client):
    response = client.options("/api/docs/")
    assert response.status_code == HTTPStatus.OK
    assert response["Allow"] == "GET, HEAD, OPTIONS"


# --- Checkout details follow the web checkout form ----------------------------------

DETAILS = [
    {},
    {"name": ""},
    {"name": "   "},
    {"name": "A"},
    {"name": "x" * 200},
    {"name": "x" * 201},
    {"email": "not-an-email"},
    {"email": "a@" + "b" * 250 + ".com"},
    {"address": ""},
    {"address": "1"},
    {"address": "1 St"},
    {"address": "   1 St   "},
    {"address": "1 Sta"},
    {"address": "  1 Sta  "},
    {"address": "x" * 1000},
    {"address": "x" * 1001},
    {"name": "Ada\x00"},
]


@pytest.mark.parametrize("change", DETAILS)
def test_checkout_details_follow_the_web_checkout_form_rules(change):
    from api.serializers import CustomerSerializer

    data = {**CUSTOMER, **change}
    web = CheckoutForm(data=data)
    web.is_valid()
    web_errors = set(web.errors) & set(CUSTOMER)
    api = CustomerSerializer(data=data)
    api.is_valid()
    assert set(api.errors) == web_errors
    if not web_errors:
        assert api.validated_data == {k: web.cleaned_data[k] for k in CUSTOMER}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": " "}, "name", "Enter your name."),
        ({"address": "1 St"}, "address", "Enter a full delivery address."),
        ({"address": " "}, "address", "Enter a full delivery address."),
    ],
)
def test_checkout_refuses_short_details_with_the_web_shops_words(
    api, product, change, field, message
):
    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.post("/api/checkout/", {**CUSTOMER, **change})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()[field] == [message]


@pytest.mark.parametrize("key", ["", "has space", "x" * 101])
def test_empty_or_malformed_idempotency_key_is_refused_and_orders_nothing(api, product, key):
    from shop.models import Order

    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.post("/api/checkout/", CUSTOMER, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in response.json()
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "", "password": "secret"}, "username"),
        ({"username": "ada", "password": ""}, "password"),
        ({"username": "ada\x00", "password": "secret"}, "username"),
    ],
)
def test_login_with_a_blank_or_nul_field_is_a_400_naming_it(client, body, field):
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


@pytest.mark.parametrize("field", ["name", "email", "address"])
@pytest.mark.parametrize("value", [0, 12345, 1.5, True, None, ["1 Analytical St"]])
def test_checkout_detail_that_is_not_a_json_string_is_a_400(api, product, field, value):
    from shop.models import Order

    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.post("/api/checkout/", {**CUSTOMER, field: value})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "body", [{"username": 0, "password": "secret"}, {"username": "ada", "password": 12345678}]
)
def test_login_field_that_is_not_a_json_string_is_a_400(client, body):
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
