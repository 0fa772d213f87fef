"""The web shop's pages and actions: catalogue, product, cart, checkout, orders, accounts."""

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from shop.cart import Cart
from shop.models import Category, Order, Product
from shop.session_cart import CART_SESSION_KEY, load_cart
from shop.stores import STORES
from tests.helpers import checkout_fields

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-42"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def last_message(response) -> str:
    return messages_of(response)[-1]


def cart_of(client) -> Cart:
    return load_cart(client.session)


def add(client, product, quantity=1, **extra):
    return client.post(
        "/cart/add/", {"product_id": product.pk, "quantity": quantity, **extra}, follow=False
    )


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        username="ada", password=PASSWORD, email="ada@example.com", first_name="Ada"
    )


@pytest.fixture
def books(db) -> Category:
    return Category.objects.create(name="Books", slug="books")


# --- Catalogue ----------------------------------------------------------------------


def test_catalogue_lists_active_products_with_prices_and_pictures(client, make_product):
    shown = make_product(name="Gooseneck Kettle", price="39.00")
    make_product(name="Retired Kettle", active=False)
    response = client.get("/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Gooseneck Kettle" in html
    assert "€39.00" in html
    assert f"/products/{shown.slug}/picture.svg" in html
    assert "Retired Kettle" not in html


def test_catalogue_search_matches_name_and_description(client, make_product):
    make_product(name="Sencha Green Tea")
    make_product(name="Chef's Knife")
    response = client.get("/", {"q": "sencha"})
    html = response.content.decode()
    assert "Sencha Green Tea" in html
    assert "Chef&#x27;s Knife" not in html
    assert "1 product matches your search" in html
    assert "Search results for “sencha”" in html


def test_catalogue_search_and_category_ignore_nul_characters(client, make_product):
    make_product(name="Sencha Green Tea")
    response = client.get("/?q=sen%00cha&category=%00")
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "1 product matches your search" in html
    assert "Search results for “sencha”" in html
    assert "\x00" not in html


def test_every_page_names_the_shops_own_icon(client, db):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in html


def test_catalogue_filters_by_category(client, make_product, books):
    make_product(name="Release It!", category_obj=books)
    make_product(name="Matcha 30 g")
    html = client.get("/", {"category": "books"}).content.decode()
    assert "Release It!" in html
    assert "Matcha 30 g" not in html


def test_catalogue_paginates_by_24_and_keeps_the_filter(client, make_product):
    for n in range(30):
        make_product(name=f"Mug {n:02d}")
    first = client.get("/", {"q": "mug"})
    assert len(first.context["products"]) == 24
    assert "?q=mug&amp;page=2" in first.content.decode()
    second = client.get("/", {"q": "mug", "page": 2})
    assert len(second.context["products"]) == 6


def test_catalogue_page_out_of_range_or_garbage_shows_a_page(client, make_product):
    make_product()
    assert client.get("/", {"page": "999"}).status_code == HTTPStatus.OK
    assert client.get("/", {"page": "x"}).status_code == HTTPStatus.OK


def test_catalogue_without_matches_says_so(client, make_product):
    make_product(name="Kettle")
    assert "No products match “zzz”" in client.get("/", {"q": "zzz"}).content.decode()


# --- Product page and picture ----------------------------------------------------------


def test_product_page_shows_price_stock_and_add_form(client, make_product):
    product = make_product(name="Burr Grinder", price="89.00", stock=7)
    response = client.get(f"/products/{product.slug}/")
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "€89.00" in html
    assert "7 in stock" in html
    assert 'action="/cart/add/"' in html
    assert 'max="7"' in html


def test_sold_out_product_page_has_no_add_form(client, make_product):
    product = make_product(stock=0)
    html = client.get(f"/products/{product.slug}/").content.decode()
    assert "Sold out" in html
    assert 'action="/cart/add/"' not in html


def test_inactive_or_unknown_product_page_is_404(client, make_product):
    hidden = make_product(active=False)
    assert client.get(f"/products/{hidden.slug}/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/products/no-such-thing/").status_code == HTTPStatus.NOT_FOUND


def test_product_picture_is_a_cacheable_svg(client, product):
    response = client.get(f"/products/{product.slug}/picture.svg")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=86400" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert response.content.startswith(b"<svg")
    assert "Cookie" not in response.get("Vary", "")


def test_picture_of_unknown_product_is_404(client, db):
    assert client.get("/products/nope/picture.svg").status_code == HTTPStatus.NOT_FOUND


# --- Cart actions -----------------------------------------------------------------------


def test_add_redirects_to_cart_and_says_what_was_added(client, product):
    response = add(client, product, 2)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/cart/"
    assert cart_of(client) == Cart([(product.pk, 2)])
    assert (
        last_message(response)
        == "Added 2 × “Espresso Blend 1 kg” to your cart (now 2 in the cart)."
    )


def test_adding_same_product_twice_sums_quantities(client, product):
    add(client, product, 2)
    add(client, product, 3)
    assert cart_of(client).quantity(product.pk) == 5


def test_add_follows_a_safe_next_and_ignores_a_foreign_one(client, product):
    assert add(client, product, next="/?q=tea")["Location"] == "/?q=tea"
    assert add(client, product, next="https://evil.example/")["Location"] == "/cart/"


def test_session_holds_only_the_compact_cart_as_plain_json(client, product):
    add(client, product, 2)
    assert client.session[CART_SESSION_KEY] == [[product.pk, 2]]


def test_set_quantity_changes_the_line(client, product):
    add(client, product, 2)
    response = client.post(f"/cart/items/{product.pk}/", {"quantity": 5})
    assert response["Location"] == "/cart/"
    assert cart_of(client).quantity(product.pk) == 5
    assert last_message(response) == "“Espresso Blend 1 kg”: quantity set to 5."


def test_set_quantity_zero_removes_the_line(client, product):
    add(client, product, 2)
    response = client.post(f"/cart/items/{product.pk}/", {"quantity": 0})
    assert product.pk not in cart_of(client)
    assert last_message(response) == "Removed “Espresso Blend 1 kg” from your cart."


def test_remove_takes_the_line_out(client, product, make_product):
    other = make_product()
    add(client, product)
    add(client, other)
    response = client.post(f"/cart/items/{product.pk}/remove/")
    assert response["Location"] == "/cart/"
    assert cart_of(client) == Cart([(other.pk, 1)])
    assert last_message(response) == "Removed “Espresso Blend 1 kg” from your cart."


def test_cart_page_shows_lines_totals_and_the_server_panel(client, product, make_product):
    other = make_product(name="Kettle", price="39.50")
    add(client, product, 2)
    add(client, other, 1)
    response = client.get("/cart/")
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert html.count('data-testid="cart-line"') == 2
    assert "€48.00" in html
    assert "€87.50" in html
    assert "What the server keeps" in html
    assert client.session.session_key[:8] in html
    assert "/api/docs/" in html
    assert "Logging out deletes your session on the server; the cart in it is kept" in html


def test_empty_cart_page_invites_to_shop(client, db):
    html = client.get("/cart/").content.decode()
    assert "Your cart is empty." in html
    assert "Nothing yet: a session is created" in html


def test_cart_page_removes_a_product_that_is_no_longer_sold_and_says_so(client, product):
    add(client, product, 2)
    Product.objects.filter(pk=product.pk).update(active=False)
    response = client.get("/cart/")
    assert "“Espresso Blend 1 kg” is no longer sold; it was removed." in messages_of(response)
    assert cart_of(client) == Cart()


def test_cart_page_lowers_a_quantity_above_the_new_stock_and_says_so(client, product):
    add(client, product, 5)
    Product.objects.filter(pk=product.pk).update(stock=3)
    response = client.get("/cart/")
    assert any("your quantity was lowered from 5 to 3" in m for m in messages_of(response))
    assert cart_of(client).quantity(product.pk) == 3


def test_cart_badge_counts_items_on_every_page(client, product):
    add(client, product, 3)
    for url in ("/", f"/products/{product.slug}/", "/cart/", "/accounts/login/"):
        html = client.get(url).content.decode()
        assert (
            '<span class="badge" data-testid="cart-badge" aria-label="3 items in your cart">3'
            in (html)
        ), url


# --- Checkout and confirmation ---------------------------------------------------------------

CUSTOMER = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "address": "12 Analytical St, London",
}


def test_checkout_places_an_order_empties_the_cart_and_shows_the_confirmation(client, product):
    add(client, product, 2)
    response = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    order = Order.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.channel == "web"
    assert order.total == Decimal("48.00")
    assert order.customer_name == "Ada Lovelace"
    assert cart_of(client) == Cart()
    product.refresh_from_db()
    assert product.stock == 18
    page = client.get(response["Location"])
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert f"Order #{order.pk}" in html
    assert "12 Analytical St, London" in html
    assert f"Thank you! Your order #{order.pk} is placed." in [
        str(m) for m in page.context["messages"]
    ]


def test_checkout_page_lists_the_order_and_prefills_a_logged_in_user(client, product, user):
    client.force_login(user)
    add(client, product, 1)
    response = client.get("/checkout/")
    form = response.context["form"]
    assert (form["name"].value(), form["email"].value()) == ("Ada", "ada@example.com")
    assert form["expected_total"].value() == Decimal("24.00")
    assert "1 × Espresso Blend 1 kg" in response.content.decode()


def test_confirmation_is_404_for_anyone_but_the_buyer(client, product, user):
    add(client, product)
    location = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})["Location"]
    from django.test import Client

    stranger = Client()
    assert stranger.get(location).status_code == HTTPStatus.NOT_FOUND
    stranger.force_login(user)
    assert stranger.get(location).status_code == HTTPStatus.NOT_FOUND


def test_logged_in_buyer_sees_the_order_in_history_from_another_session(client, product, user):
    client.force_login(user)
    add(client, product)
    location = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})["Location"]
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(user)
    assert elsewhere.get(location).status_code == HTTPStatus.OK
    history = elsewhere.get("/accounts/orders/")
    assert history.status_code == HTTPStatus.OK
    assert f"Order #{Order.objects.get().pk}" in history.content.decode()
    assert "1 × Espresso Blend 1 kg" in history.content.decode()


def test_order_history_needs_login(client, db):
    response = client.get("/accounts/orders/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/?next=/accounts/orders/")


def test_checkout_form_errors_are_shown_and_nothing_is_ordered(client, product):
    add(client, product, 2)
    response = client.post("/checkout/", {"name": "", "email": "not-an-email", "address": ""})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert Order.objects.count() == 0
    assert cart_of(client) == Cart([(product.pk, 2)])


# --- Accounts ----------------------------------------------------------------------------------


def test_signup_creates_the_user_logs_in_and_keeps_the_cart(client, product):
    add(client, product, 2)
    key_before = client.session.session_key
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "first_name": "Grace",
            "email": "grace@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    assert get_user_model().objects.filter(username="grace").exists()
    assert client.session["_auth_user_id"]
    assert client.session.session_key != key_before
    assert cart_of(client) == Cart([(product.pk, 2)])


def test_signup_with_mismatched_passwords_shows_the_error(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "x", "email": "x@example.com", "password1": PASSWORD, "password2": "other"},
    )
    assert response.status_code == HTTPStatus.OK
    assert "The two password fields didn’t match." in response.content.decode()


def test_login_page_and_login_with_a_message(client, user, product):
    assert client.get("/accounts/login/").status_code == HTTPStatus.OK
    add(client, product, 2)
    response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("shop:catalogue")
    texts = messages_of(response)
    assert "Welcome back, Ada." in texts
    assert any("Your cart (2 items) came with you" in t for t in texts)


def test_wrong_password_is_refused_with_a_message(client, user):
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert response.status_code == HTTPStatus.OK
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_post_only_and_says_the_cart_is_kept_with_the_account(client, user, product):
    client.force_login(user)
    add(client, product)
    assert client.get("/accounts/logout/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = client.post("/accounts/logout/")
    assert response.status_code == HTTPStatus.FOUND
    assert last_message(response) == (
        "You are logged out. Logging out deletes your session on the server; the cart in it "
        "is kept with your account for your next login."
    )
    assert cart_of(client) == Cart()


def test_logged_in_pages_say_logout_keeps_the_cart_with_the_account(client, user):
    client.force_login(user)
    html = client.get("/cart/").content.decode()
    assert "Logging out deletes your session on the server; the cart in it is kept" in html


def test_with_signed_cookies_the_pages_say_a_copied_cookie_outlives_logout(client, user, settings):
    settings.SESSION_ENGINE = STORES["signed_cookies"].engine
    client.force_login(user)
    html = client.get("/cart/").content.decode()
    assert "deletes your session on the server" not in html
    assert "a copy of the cookie made before stays valid until it expires" in html
    response = client.post("/accounts/logout/")
    assert "The server keeps no session it could delete" in last_message(response)


def test_login_page_with_next_pointing_at_itself_sends_a_logged_in_visitor_home(client, user):
    client.force_login(user)
    response = client.get("/accounts/login/?next=/accounts/login/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"


# --- Cookies -------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax_and_csrf_cookie_is_lax(client, product):
    client.get(f"/products/{product.slug}/")
    response = add(client, product)
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["samesite"] == "Lax"
    assert not session_cookie["secure"]  # plain HTTP unless DJANGO_SECURE=1


def test_session_cookie_is_secure_behind_https(client, product, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1}, secure=True)
    assert response.cookies["sessionid"]["secure"] is True
