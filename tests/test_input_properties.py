"""Whatever a client sends in session data, a form or a JSON body, the answer is never a 500.

Hypothesis generates the input: any JSON value (any nesting, any Unicode, numbers of
any size) as session cart data and as an API body, any text in every form field.
"""

import json
from http import HTTPStatus

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.cart import Cart, max_quantity
from shop.forms import CheckoutForm, SignupForm, read_add_to_cart, read_quantity
from shop.session_cart import CART_SESSION_KEY, cart_from_session_data

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each example of these is a few requests through the whole stack: fewer of them.
HYPOTHESIS_HTTP = settings(HYPOTHESIS, max_examples=50)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
# A cart-like value: pairs of numbers of any size, strings and nesting mixed in.
cart_like = (
    st.lists(
        st.lists(st.integers() | st.floats(allow_nan=False) | st.text(max_size=5), max_size=3),
        max_size=8,
    )
    | json_values
)
form_text = st.text(max_size=60)


@HYPOTHESIS
@given(stored=cart_like)
def test_any_session_cart_data_is_a_valid_cart_or_an_empty_one(stored):
    cart = cart_from_session_data({CART_SESSION_KEY: stored})
    assert isinstance(cart, Cart)
    assert Cart.from_compact(cart.to_compact()) == cart


@HYPOTHESIS_HTTP
@given(stored=cart_like)
def test_any_stored_session_cart_gives_pages_not_a_500(product, stored):
    session = SessionStore()
    session[CART_SESSION_KEY] = stored
    session.create()
    client = Client()
    client.cookies["sessionid"] = session.session_key
    for path in ("/", "/cart/", "/checkout/"):
        assert client.get(path).status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    answer = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert answer.status_code == HTTPStatus.FOUND


@HYPOTHESIS
@given(data=st.dictionaries(st.sampled_from(["product_id", "quantity", "next"]), form_text))
def test_add_and_quantity_forms_read_any_text_as_numbers_or_a_validation_error(data):
    try:
        product_id, quantity = read_add_to_cart(data)
    except ValidationError as error:
        assert error.messages[0]
    else:
        assert product_id >= 1 and 1 <= quantity <= max_quantity()
    try:
        quantity = read_quantity(data, minimum=0)
    except ValidationError as error:
        assert error.messages[0]
    else:
        assert 0 <= quantity <= max_quantity()


@HYPOTHESIS
@given(
    data=st.dictionaries(
        st.sampled_from(["name", "email", "address", "checkout_id", "expected_total"]), form_text
    )
)
def test_the_checkout_form_validates_any_text_without_raising(data):
    form = CheckoutForm(data)
    if form.is_valid():
        assert form.cleaned_data["name"].strip()


@HYPOTHESIS
@given(
    data=st.dictionaries(
        st.sampled_from(["username", "email", "first_name", "password1", "password2"]), form_text
    )
)
def test_the_signup_form_validates_any_text_without_raising(data):
    SignupForm(data).is_valid()


@HYPOTHESIS_HTTP
@given(
    path=st.sampled_from(["/cart/add/", "/cart/items/1/", "/cart/items/1/remove/", "/checkout/"]),
    data=st.dictionaries(
        st.sampled_from(["product_id", "quantity", "name", "email", "address", "checkout_id"]),
        form_text.filter(lambda text: "\x00" not in text) | form_text,
    ),
)
def test_any_form_post_is_answered_without_a_500(product, path, data):
    client = Client()
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    answer = client.post(path, data)
    assert answer.status_code < HTTPStatus.INTERNAL_SERVER_ERROR


API_BODIES = [
    ("post", "/api/cart/items/"),
    ("put", "/api/cart/items/1/"),
    ("post", "/api/checkout/"),
    ("post", "/api/auth/token/"),
]


@HYPOTHESIS_HTTP
@given(
    target=st.sampled_from(API_BODIES),
    body=json_values
    | st.dictionaries(
        st.sampled_from(
            ["product_id", "quantity", "name", "email", "address", "expected_total", "username"]
        ),
        json_values,
    ),
)
def test_any_json_body_is_answered_without_a_500(api, product, target, body):
    method, path = target
    api.token = None
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 1})
    answer = getattr(api.client, method)(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert answer.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    assert answer["Content-Type"] == "application/json"
