"""/admin/compare/ needs the permissions that its data needs elsewhere in the admin."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission

from api.tokens import encode_cart, new_cid
from shop.cart import Cart
from shop.checkout import Customer, place_order

URL = "/admin/compare/"
PAGE_PERMISSIONS = ("view_order", "view_session", "view_measurementrun")


@pytest.fixture
def staff(django_user_model):
    """A staff user with the given permission codenames: staff(*codenames)."""

    def make(*codenames: str):
        user = django_user_model.objects.create_user(
            f"staff{len(codenames)}", password="a-long-password-1", is_staff=True
        )
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return make


def test_staff_without_permissions_sees_no_revenue_and_is_told_what_is_missing(
    client, staff, product
):
    customer = Customer(name="Ada", email="ada@example.com", address="1 Analytical St")
    place_order(cart=Cart([(product.pk, 3)]), customer=customer, channel="web")
    client.force_login(staff())

    answer = client.get(URL)

    assert answer.status_code == HTTPStatus.FORBIDDEN
    text = answer.content.decode()
    assert "“Can view order” (orders and revenue by channel)" in text
    assert "“Can view session”" in text and "“Can view measurement run”" in text
    assert "72.00" not in text
    assert client.post(URL, {"token": "x"}).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("lacking", PAGE_PERMISSIONS)
def test_each_permission_of_the_page_is_needed(client, staff, lacking):
    client.force_login(staff(*(p for p in PAGE_PERMISSIONS if p != lacking)))
    assert client.get(URL).status_code == HTTPStatus.FORBIDDEN


def test_with_the_view_permissions_the_page_shows_and_the_inspector_hides_usernames(
    client, staff, product, django_user_model
):
    buyer = django_user_model.objects.create_user("ada-lovelace", password="a-long-password-1")
    client.force_login(staff(*PAGE_PERMISSIONS))
    token = encode_cart(cart=Cart([(product.pk, 1)]), cid=new_cid(), sub=buyer.pk)

    answer = client.post(URL, {"token": token})

    assert answer.status_code == HTTPStatus.OK
    assert answer.context["inspection"].user == "(a user id; your account may not view users)"
    assert "ada-lovelace" not in answer.content.decode()


def test_with_view_user_the_inspector_names_the_tokens_user(
    client, staff, product, django_user_model
):
    buyer = django_user_model.objects.create_user("ada-lovelace", password="a-long-password-1")
    client.force_login(staff(*PAGE_PERMISSIONS, "view_user"))
    token = encode_cart(cart=Cart([(product.pk, 1)]), cid=new_cid(), sub=buyer.pk)

    answer = client.post(URL, {"token": token})

    assert answer.context["inspection"].user == f"ada-lovelace (id {buyer.pk})"
