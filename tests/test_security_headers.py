"""Every answer carries one Content-Security-Policy; pages with a buyer's data are never cached."""

from http import HTTPStatus

import pytest
from django.conf import settings

from shop.headers import policy_header
from tests.helpers import checkout_fields

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "12 Analytical St"}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_policy_allows_only_the_shop_itself_and_no_inline_script():
    assert policy_header(settings.SECURE_CSP) == POLICY


@pytest.mark.parametrize(
    "path",
    ["/", "/cart/", "/accounts/login/", "/accounts/signup/", "/admin/login/", "/api/docs/"],
)
def test_every_page_carries_the_content_security_policy(client, db, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Security-Policy"] == POLICY


def test_api_answers_and_errors_carry_the_policy_too(client, db):
    assert client.get("/api/products/")["Content-Security-Policy"] == POLICY
    assert client.get("/api/nowhere/")["Content-Security-Policy"] == POLICY


def test_the_api_docs_page_has_no_inline_script_and_loads_its_start_up_script(client, db):
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    assert "<script>" not in page
    assert 'src="/api/docs/?script="' in page
    assert script.status_code == HTTPStatus.OK
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_checkout_and_order_pages_are_private_and_never_stored(client, django_user_model, product):
    user = django_user_model.objects.create_user("ada", password="a-long-password-1")
    client.force_login(user)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    form = client.get("/checkout/")
    placed = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    order = client.get(placed["Location"])
    history = client.get("/accounts/orders/")

    assert [r.status_code for r in (form, order, history)] == [HTTPStatus.OK] * 3
    assert no_store(form) and no_store(placed) and no_store(order) and no_store(history)
    assert not no_store(client.get("/"))


def test_signup_says_a_username_is_taken_a_choice_the_readme_states(client, django_user_model):
    django_user_model.objects.create_user("ada", password="a-long-password-1")
    answer = client.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "x@example.com",
            "password1": "another-long-pass-2",
            "password2": "another-long-pass-2",
        },
    )
    assert answer.status_code == HTTPStatus.OK
    assert "A user with that username already exists." in answer.content.decode()
