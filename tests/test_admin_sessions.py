"""The sessions admin: server-side sessions with their decoded carts, expired on demand."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from shop.cart import Cart
from shop.session_cart import load_cart
from shop.stores import STORES

URL = reverse("admin:sessions_session_changelist")


@pytest.fixture
def web_session():
    def make(cart: Cart, *, user=None) -> SessionStore:
        session = SessionStore()
        session["cart"] = cart.to_compact()
        if user is not None:
            session["_auth_user_id"] = str(user.pk)
        session.create()
        return session

    return make


def test_changelist_decodes_carts_into_product_names_and_quantities(
    admin_client, web_session, make_product
):
    grinder = make_product(name="Burr Coffee Grinder")
    kettle = make_product(name="Gooseneck Kettle 1 L")
    session = web_session(Cart([(grinder.pk, 2), (kettle.pk, 1)]))

    html = admin_client.get(URL).content.decode()

    assert "<li>2 × Burr Coffee Grinder</li>" in html
    assert "<li>1 × Gooseneck Kettle 1 L</li>" in html
    row = Session.objects.get(pk=session.session_key)
    assert f'<td class="field-size">{len(row.session_data)}</td>' in html


def test_changelist_shows_the_user_of_a_logged_in_session(
    admin_client, web_session, product, django_user_model
):
    shopper = django_user_model.objects.create_user(username="grace", password="pw-123456789")
    web_session(Cart([(product.pk, 1)]), user=shopper)
    web_session(Cart([(product.pk, 2)]))
    html = admin_client.get(URL).content.decode()
    assert '<td class="field-user_display">grace</td>' in html
    assert '<td class="field-user_display">anonymous</td>' in html
    # The admin's own session (logged in through the admin) is listed with its user.
    assert '<td class="field-user_display">admin</td>' in html


def test_changelist_never_shows_a_whole_session_key(admin_client, web_session, product):
    session = web_session(Cart([(product.pk, 1)]))
    html = admin_client.get(URL).content.decode()
    assert f"{session.session_key[:8]}…" in html
    assert f'href="/admin/sessions/session/{session.session_key}' not in html


def test_changelist_reads_products_and_users_in_one_query_each(
    client, admin_user, web_session, make_product, django_user_model, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    products = [make_product() for _ in range(5)]

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == HTTPStatus.OK
        return len(queries)

    shopper = django_user_model.objects.create_user(username="u0", password="pw-123456789")
    web_session(Cart([(products[0].pk, 1)]), user=shopper)
    with_one = count_queries()
    for n in range(1, 20):
        user = django_user_model.objects.create_user(username=f"u{n}", password="pw-123456789")
        web_session(Cart([(p.pk, 1 + n % 3) for p in products[: 1 + n % 5]]), user=user)
    assert count_queries() == with_one


def test_expire_action_ends_the_selected_sessions_and_their_carts(
    admin_client, web_session, product
):
    chosen = web_session(Cart([(product.pk, 3)]))
    kept = web_session(Cart([(product.pk, 1)]))

    response = admin_client.post(
        URL,
        {"action": "expire_sessions", "_selected_action": [chosen.session_key]},
        follow=True,
    )

    assert response.status_code == HTTPStatus.OK
    assert "Expired 1 session(s)" in response.content.decode()
    assert Session.objects.get(pk=chosen.session_key).expire_date <= timezone.now()
    assert not load_cart(SessionStore(chosen.session_key))  # the visitor's cart is gone
    assert load_cart(SessionStore(kept.session_key)) == Cart([(product.pk, 1)])


def test_expire_action_leaves_the_admins_own_session_alone(admin_client):
    own = admin_client.session.session_key
    response = admin_client.post(
        URL, {"action": "expire_sessions", "_selected_action": [own]}, follow=True
    )
    assert "Your own session was left alone" in response.content.decode()
    assert Session.objects.get(pk=own).expire_date > timezone.now()


def test_expired_session_with_a_cart_is_marked_abandoned(admin_client, web_session, product):
    session = web_session(Cart([(product.pk, 1)]))
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=5)
    )
    html = admin_client.get(URL + "?state=expired").content.decode()
    assert "abandoned cart" in html


@pytest.mark.parametrize(
    ("store", "words"),
    [
        ("db", "every session is listed here"),
        ("cached_db", "every session is listed here"),
        ("cache", "not listed here"),
        ("signed_cookies", "the server holds nothing"),
    ],
)
def test_changelist_says_what_the_store_in_use_can_list(client, admin_user, settings, store, words):
    settings.SESSION_ENGINE = STORES[store].engine
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert f"Session store in use: <code>{store}</code>" in html
    assert words in html


def test_sessions_cannot_be_added_by_hand(admin_client):
    response = admin_client.get(reverse("admin:sessions_session_add"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_non_staff_user_cannot_list_sessions(client, django_user_model):
    user = django_user_model.objects.create_user(username="shopper", password="pw-123456789")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
