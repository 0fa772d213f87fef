"""Ending API tokens early: logout in each CART_TOKEN_REVOCATION mode, and the login's own life.

Whatever the mode, a logged-in token ends with a password change, a deactivation,
the staff action, or CART_LOGIN_MAX_AGE after the password check (issue of the
security review: re-issuing must not extend the login).
"""

import time
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model

from api import revocation
from api.models import LoginVersion, RevokedCart
from api.tokens import decode_cart
from shop.models import AccountCart

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-42"
MODES = revocation.MODES


@pytest.fixture(autouse=True)
def _database_denylist(settings, login_throttle_reset):
    settings.REDIS_URL = ""
    RevokedCart.objects.all().delete()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="ada", password=PASSWORD)


@pytest.fixture
def logged_in(api, user, product):
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    response = api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == HTTPStatus.OK
    return api


def refused(response, code):
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == code
    assert f'error_description="{code}"' in response["WWW-Authenticate"]
    return response.json()["detail"]


def test_a_login_token_carries_the_time_of_the_password_check_and_a_login_version(logged_in):
    token = decode_cart(logged_in.token)
    assert abs(token.auth_time - time.time()) < 5
    assert token.uv


def test_no_reissue_extends_the_login(logged_in, product):
    first = decode_cart(logged_in.token).auth_time
    logged_in.post("/api/cart/")  # a new cart, same login
    logged_in.post("/api/cart/items/", {"product_id": product.pk})
    assert decode_cart(logged_in.token).auth_time == first


def test_a_login_older_than_its_max_age_is_refused_however_fresh_the_token(
    api, user, forge, login_claims, settings
):
    settings.CART_LOGIN_MAX_AGE = 3600
    claims = {**login_claims(user), "auth_time": int(time.time()) - 3601}
    detail = refused(api.get("/api/orders/", token=forge(claims=claims)), "login_expired")
    assert "log in again" in detail


@pytest.mark.parametrize("mode", MODES)
def test_a_password_change_ends_the_api_login_in_every_mode(logged_in, user, settings, mode):
    settings.CART_TOKEN_REVOCATION = mode
    copied = logged_in.token
    assert logged_in.get("/api/orders/").status_code == HTTPStatus.OK
    user.set_password("another-long-pass-43")
    user.save()
    detail = refused(logged_in.get("/api/orders/", token=copied), "login_ended")
    assert "password was changed" in detail


@pytest.mark.parametrize("mode", MODES)
def test_deactivating_the_account_ends_the_api_login_in_every_mode(logged_in, user, settings, mode):
    settings.CART_TOKEN_REVOCATION = mode
    user.is_active = False
    user.save()
    detail = refused(logged_in.get("/api/cart/"), "login_ended")
    assert "disabled" in detail


def test_denylist_logout_refuses_every_copy_of_the_cart_with_its_own_code(api, product, settings):
    settings.CART_TOKEN_REVOCATION = "denylist"
    api.post("/api/cart/items/", {"product_id": product.pk})
    earlier = api.token
    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.post("/api/auth/logout/")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["ended"] == "cart"
    for token in (earlier, api.token):
        detail = refused(api.get("/api/cart/", token=token), "revoked")
        assert "revoked" in detail
    assert api.get("/api/cart/", token=None).status_code == HTTPStatus.OK


def test_denylist_entries_expire_with_the_carts_last_token(api, product, settings):
    settings.CART_TOKEN_REVOCATION = "denylist"
    settings.CART_TOKEN_TTL, settings.CART_TOKEN_LEEWAY = 60, 0
    for _ in range(5):
        api.post("/api/cart/", token=None)
        api.post("/api/auth/logout/")
    store = revocation.denylist()
    assert store.size().entries == 5
    assert store.purge(now=int(time.time()) + 61) == 5
    assert store.size() == revocation.StoreSize(entries=0, bytes=0)


def test_user_version_logout_ends_every_logged_in_token_of_the_user(logged_in, settings, user):
    settings.CART_TOKEN_REVOCATION = "user-version"
    other_device = logged_in.post("/api/cart/").json()["token"]
    response = logged_in.post("/api/auth/logout/")
    assert response.json()["ended"] == "login"
    assert LoginVersion.objects.get(user=user).version == 1
    refused(logged_in.get("/api/orders/"), "login_ended")
    refused(logged_in.get("/api/cart/", token=other_device), "login_ended")


def test_user_version_cannot_end_an_anonymous_cart_and_says_so(api, settings):
    settings.CART_TOKEN_REVOCATION = "user-version"
    api.post("/api/cart/")
    body = api.post("/api/auth/logout/").json()
    assert body["ended"] == "nothing"
    assert "carries no login" in body["detail"]
    assert api.get("/api/cart/").status_code == HTTPStatus.OK


@pytest.mark.parametrize("mode", ["none", "short-ttl"])
def test_without_server_state_logout_says_until_when_a_copy_works(api, settings, mode):
    settings.CART_TOKEN_REVOCATION = mode
    api.post("/api/cart/")
    body = api.post("/api/auth/logout/").json()
    assert body["ended"] == "nothing"
    assert body["until"] in body["detail"]
    assert api.get("/api/cart/").status_code == HTTPStatus.OK


def test_logout_needs_a_token(api):
    response = api.post("/api/auth/logout/", token=None)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "no_token"


def test_the_staff_action_ends_a_users_api_logins(logged_in, user, admin_client):
    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "end_api_logins", "_selected_action": [user.pk]},
        follow=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert "API logins ended for 1 user" in response.content.decode()
    refused(logged_in.get("/api/orders/"), "login_ended")


def test_an_api_logout_keeps_the_cart_for_the_next_login_on_either_channel(
    logged_in, user, product, client
):
    logged_in.post("/api/auth/logout/")
    assert AccountCart.objects.get(user=user).lines == [[product.pk, 2]]
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    from shop.session_cart import load_cart

    assert load_cart(client.session).quantity(product.pk) == 2


def test_an_api_login_merges_the_cart_left_by_a_web_logout(api, user, product, client):
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 3})
    client.post("/accounts/logout/")
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 1})
    body = api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD}).json()
    assert body["cart"]["items"][0]["quantity"] == 4
