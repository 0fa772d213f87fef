"""A cart follows its account: saved at logout, merged into the cart in hand at login.

The policy is the same for both channels (shop.account_cart); the web shop's
half is tested here, the API's in test_api_revocation.py.
"""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from shop.account_cart import merge_at_login, merge_carts, save_at_logout
from shop.cart import Cart
from shop.models import AccountCart
from shop.session_cart import load_cart

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-42"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="ada", password=PASSWORD)


def saved(user, cart: Cart, *, age=timedelta(0)) -> None:
    AccountCart.objects.create(user=user, lines=cart.to_compact(), updated_at=timezone.now() - age)


def test_merging_sums_quantities_and_keeps_the_held_lines_first():
    merged, notices = merge_carts(Cart([(1, 2)]), Cart([(2, 1), (1, 3)]))
    assert merged == Cart([(1, 5), (2, 1)])
    assert next(iter(merged)) == (1, 5)
    assert notices == []


def test_a_merge_over_the_quantity_limit_stops_at_the_limit_with_a_notice(settings):
    settings.CART_MAX_QUANTITY = 99
    merged, notices = merge_carts(Cart([(1, 60)]), Cart([(1, 60)]))
    assert merged.quantity(1) == 99
    assert [n.code for n in notices] == ["merge_capped"]
    assert "60 + 60" in notices[0].message


def test_a_merge_over_the_line_limit_leaves_the_saved_lines_out(settings):
    settings.CART_MAX_LINES = 3
    merged, notices = merge_carts(Cart([(1, 1), (2, 1)]), Cart([(3, 1), (4, 1), (5, 1)]))
    assert merged == Cart([(1, 1), (2, 1), (3, 1)])
    assert notices[0].code == "merge_full"
    assert "2 lines of your saved cart did not fit" in notices[0].message


def test_login_takes_the_saved_cart_out_of_the_account(user, make_product):
    a, b = make_product(), make_product()
    saved(user, Cart([(a.pk, 1)]))
    result = merge_at_login(user_id=user.pk, cart=Cart([(b.pk, 2)]))
    assert result.cart == Cart([(b.pk, 2), (a.pk, 1)])
    assert result.saved_lines == 1
    assert not AccountCart.objects.filter(user=user).exists()


def test_an_old_forgotten_cart_is_not_merged_into_a_fresh_one(user, make_product, settings):
    settings.CART_ACCOUNT_CART_MAX_AGE = 30 * 86400
    old, fresh = make_product(), make_product()
    saved(user, Cart([(old.pk, 4)]), age=timedelta(days=31))
    result = merge_at_login(user_id=user.pk, cart=Cart([(fresh.pk, 1)]))
    assert result.cart == Cart([(fresh.pk, 1)])
    assert [n.code for n in result.notices] == ["merge_stale"]
    assert not AccountCart.objects.filter(user=user).exists()


def test_a_saved_product_no_longer_sold_is_dropped_at_merge(user, make_product):
    gone, kept = make_product(active=False, name="Old Kettle"), make_product()
    saved(user, Cart([(gone.pk, 1), (kept.pk, 1)]))
    result = merge_at_login(user_id=user.pk, cart=Cart())
    assert result.cart == Cart([(kept.pk, 1)])
    assert [n.code for n in result.notices] == ["unavailable"]
    assert "Old Kettle" in result.messages[0]


def test_logout_saves_the_cart_and_merges_with_one_saved_by_another_device(user, make_product):
    a, b = make_product(), make_product()
    save_at_logout(user_id=user.pk, cart=Cart([(a.pk, 1)]))
    save_at_logout(user_id=user.pk, cart=Cart([(b.pk, 2), (a.pk, 1)]))
    row = AccountCart.objects.get(user=user)
    assert Cart.from_compact(row.lines) == Cart([(b.pk, 2), (a.pk, 2)])


def test_web_logout_then_login_on_another_device_brings_the_cart_along(client, user, make_product):
    from django.test import Client

    laptop, phone = make_product(), make_product()
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    client.post("/cart/add/", {"product_id": laptop.pk, "quantity": 2})
    client.post("/accounts/logout/")
    assert AccountCart.objects.get(user=user).lines == [[laptop.pk, 2]]

    other = Client()
    other.post("/cart/add/", {"product_id": phone.pk, "quantity": 1})
    response = other.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert load_cart(other.session) == Cart([(phone.pk, 1), (laptop.pk, 2)])
    assert not AccountCart.objects.filter(user=user).exists()
