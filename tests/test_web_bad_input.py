"""Bad input to the web shop: a clear answer, the cart and the stock as they were, never a 500."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

import shop.views
from shop.cart import Cart
from shop.checkout import place_order
from shop.models import Order, Product
from shop.session_cart import load_cart
from tests.helpers import checkout_fields

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "12 Analytical St"}


@pytest.fixture(autouse=True)
def db_sessions():
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


@pytest.fixture
def shopper(client, product):
    """A client whose cart already holds 2 of `product` (stock 20)."""
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    list(get_messages(client.get("/cart/").wsgi_request))  # read the "added" message
    return client


def last_message(response) -> str:
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def assert_unchanged(client, product, *, quantity=2, stock=20):
    assert load_cart(client.session) == Cart([(product.pk, quantity)])
    product.refresh_from_db()
    assert product.stock == stock
    assert Order.objects.count() == 0


# --- Quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("abc", "The quantity must be a whole number from 1 to 99."),
        ("1.5", "The quantity must be a whole number from 1 to 99."),
        ("", "Enter a quantity."),
        ("0", "The quantity must be at least 1."),
        ("-3", "The quantity must be at least 1."),
        ("100", "At most 99 of one product per order."),
        ("99999999999999999999", "At most 99 of one product per order."),
    ],
)
def test_adding_a_bad_quantity_is_refused_with_a_message(shopper, product, quantity, message):
    response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": quantity})
    assert response.status_code == HTTPStatus.FOUND
    assert last_message(response) == message
    assert_unchanged(shopper, product)


def test_adding_above_stock_is_refused_and_says_how_many_are_left(shopper, product):
    response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 19})
    assert response["Location"] == product.get_absolute_url()
    assert last_message(response) == (
        "Only 20 of “Espresso Blend 1 kg” in stock; your cart already holds 2; nothing was changed."
    )
    assert_unchanged(shopper, product)


def test_adding_a_sold_out_product_is_refused(client, make_product):
    gone = make_product(name="Rare Tea", stock=0)
    response = client.post("/cart/add/", {"product_id": gone.pk, "quantity": 1})
    assert last_message(response) == "“Rare Tea” is sold out; nothing was changed."
    assert load_cart(client.session) == Cart()


def test_adding_past_99_of_one_product_is_refused(client, make_product):
    plenty = make_product(stock=500)
    client.post("/cart/add/", {"product_id": plenty.pk, "quantity": 60})
    response = client.post("/cart/add/", {"product_id": plenty.pk, "quantity": 60})
    assert last_message(response) == (
        "At most 99 of one product per cart; the cart already holds 60."
    )
    assert load_cart(client.session) == Cart([(plenty.pk, 60)])


def test_a_51st_product_is_refused(client, make_product):
    products = [make_product() for _ in range(51)]
    for p in products[:50]:
        client.post("/cart/add/", {"product_id": p.pk, "quantity": 1})
    response = client.post("/cart/add/", {"product_id": products[50].pk, "quantity": 1})
    assert last_message(response) == "A cart holds at most 50 different products."
    assert len(load_cart(client.session)) == 50


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("abc", "The quantity must be a whole number from 0 to 99."),
        ("-1", "The quantity must be at least 0."),
        ("100", "At most 99 of one product per order."),
        ("21", "Only 20 of “Espresso Blend 1 kg” in stock; nothing was changed."),
    ],
)
def test_setting_a_bad_quantity_is_refused_with_a_message(shopper, product, quantity, message):
    response = shopper.post(f"/cart/items/{product.pk}/", {"quantity": quantity})
    assert response["Location"] == "/cart/"
    assert last_message(response) == message
    assert_unchanged(shopper, product)


def test_setting_a_line_that_is_not_in_the_cart_changes_nothing(shopper, product, make_product):
    other = make_product(name="Kettle")
    response = shopper.post(f"/cart/items/{other.pk}/", {"quantity": 3})
    assert last_message(response) == "“Kettle” is not in your cart; nothing was changed."
    assert_unchanged(shopper, product)


def test_removing_a_line_that_is_not_in_the_cart_says_so(shopper, product):
    response = shopper.post("/cart/items/999999/remove/")
    assert last_message(response) == "Product 999999 is not in your cart; nothing was changed."
    assert_unchanged(shopper, product)


# --- Products ----------------------------------------------------------------------------------


@pytest.mark.parametrize("product_id", ["999999", "abc", "-1", "", str(2**63), str(10**30)])
def test_adding_an_unknown_product_is_refused(shopper, product, product_id):
    response = shopper.post("/cart/add/", {"product_id": product_id, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    assert last_message(response) in {
        "Product 999999 is not for sale (any more); nothing was changed.",
        "That is not a product of this shop.",
        "Choose a product to add.",
    }
    assert_unchanged(shopper, product)


def test_adding_an_inactive_product_is_refused(shopper, product, make_product):
    hidden = make_product(active=False)
    response = shopper.post("/cart/add/", {"product_id": hidden.pk, "quantity": 1})
    assert (
        last_message(response)
        == f"“{hidden.name}” is not for sale (any more); nothing was changed."
    )
    assert_unchanged(shopper, product)


def test_setting_the_quantity_of_an_inactive_product_is_refused(shopper, product):
    Product.objects.filter(pk=product.pk).update(active=False)
    response = shopper.post(f"/cart/items/{product.pk}/", {"quantity": 3})
    assert last_message(response) == (
        f"“{product.name}” is not for sale (any more); nothing was changed."
    )
    assert load_cart(shopper.session) == Cart([(product.pk, 2)])


def test_a_non_numeric_product_id_in_the_url_is_404(shopper, product):
    assert shopper.post("/cart/items/abc/", {"quantity": 1}).status_code == HTTPStatus.NOT_FOUND
    assert_unchanged(shopper, product)


def test_changing_the_cart_by_get_is_405(shopper, product):
    assert shopper.get("/cart/add/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert shopper.get(f"/cart/items/{product.pk}/remove/").status_code == (
        HTTPStatus.METHOD_NOT_ALLOWED
    )
    assert_unchanged(shopper, product)


# --- CSRF and session cookies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/cart/add/", "/cart/items/{pk}/", "/cart/items/{pk}/remove/", "/checkout/"]
)
def test_a_post_without_csrf_token_is_403_and_changes_nothing(product, url):
    browser = Client(enforce_csrf_checks=True)
    browser.get(f"/products/{product.slug}/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    browser.post(
        "/cart/add/", {"product_id": product.pk, "quantity": 2, "csrfmiddlewaretoken": token}
    )
    response = browser.post(
        url.format(pk=product.pk), {"product_id": product.pk, "quantity": 5, **CUSTOMER}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert load_cart(browser.session) == Cart([(product.pk, 2)])
    assert Order.objects.count() == 0


def test_the_csrf_failure_page_explains_itself(product):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "reload the page" in response.content.decode()


def test_an_expired_session_is_an_empty_cart_and_is_not_revived(shopper, product):
    key = shopper.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = shopper.get("/cart/")
    assert response.status_code == HTTPStatus.OK
    assert "Your cart is empty." in response.content.decode()
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert shopper.session.session_key != key
    assert load_cart(shopper.session) == Cart([(product.pk, 1)])


@pytest.mark.parametrize("cookie", ["forged0123456789abcdefghijklmnop", "x", "%%%", "a" * 5000])
def test_a_forged_or_garbage_session_cookie_gets_a_fresh_empty_cart(client, product, cookie):
    client.cookies["sessionid"] = cookie
    for url in ("/", "/cart/", f"/products/{product.slug}/", "/checkout/"):
        assert client.get(url).status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert client.session.session_key != cookie
    assert load_cart(client.session) == Cart([(product.pk, 1)])
    assert not Session.objects.filter(pk=cookie).exists()


def test_a_malformed_stored_cart_reads_as_empty(client, product):
    session = client.session
    session["cart"] = {"not": "a list"}
    session.save()
    client.cookies["sessionid"] = session.session_key
    assert "Your cart is empty." in client.get("/cart/").content.decode()
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert load_cart(client.session) == Cart([(product.pk, 1)])


# --- Checkout ---------------------------------------------------------------------------------


def test_checking_out_an_empty_cart_is_refused(client, db):
    for response in (
        client.get("/checkout/"),
        client.post("/checkout/", {**checkout_fields(client), **CUSTOMER}),
    ):
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == "/cart/"
        assert last_message(response) == "Your cart is empty; add a product before checking out."
    assert Order.objects.count() == 0


def test_stock_that_ran_out_before_checkout_is_explained_and_nothing_is_ordered(shopper, product):
    confirmed = checkout_fields(shopper)
    Product.objects.filter(pk=product.pk).update(stock=0)
    response = shopper.post("/checkout/", {**confirmed, **CUSTOMER}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert "“Espresso Blend 1 kg” is sold out; it was removed." in texts
    assert Order.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 0


def test_stock_lowered_before_checkout_asks_to_confirm_again(shopper, product):
    confirmed = checkout_fields(shopper)
    Product.objects.filter(pk=product.pk).update(stock=1)
    response = shopper.post("/checkout/", {**confirmed, **CUSTOMER})
    assert response.status_code == HTTPStatus.OK
    texts = [str(m) for m in response.context["messages"]]
    assert any("lowered from 2 to 1" in t for t in texts)
    assert "Your cart changed (see above): check it and confirm again." in texts
    assert Order.objects.count() == 0
    assert load_cart(shopper.session) == Cart([(product.pk, 1)])
    assert response.context["form"]["name"].value() == CUSTOMER["name"]


def test_stock_taken_during_checkout_keeps_the_cart_and_says_so(shopper, product, monkeypatch):
    def someone_else_buys_first(**kwargs):
        Product.objects.filter(pk=product.pk).update(stock=1)
        return place_order(**kwargs)

    monkeypatch.setattr(shop.views, "place_order", someone_else_buys_first)
    response = shopper.post("/checkout/", {**checkout_fields(shopper), **CUSTOMER})
    assert response.status_code == HTTPStatus.OK
    assert last_message(response) == (
        "Not enough stock: “Espresso Blend 1 kg”: 2 wanted, 1 left. "
        "Your cart was kept; nothing was charged."
    )
    assert_unchanged(shopper, product, stock=1)


def test_another_visitors_order_is_404(client, product):
    order = Order.objects.create(
        channel="web",
        customer_name="X",
        customer_email="x@example.com",
        customer_address="Somewhere",
        total=1,
    )
    assert client.get(f"/orders/{order.pk}/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/orders/999999/").status_code == HTTPStatus.NOT_FOUND


# --- A session store that does not answer -------------------------------------------------------

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}


@pytest.mark.parametrize("cookie", [None, "keyofasessionthatredisheldonce01"])
def test_a_session_store_that_does_not_answer_is_a_clear_message_not_a_500(client, product, cookie):
    with override_settings(SESSION_ENGINE="shop.cache_session", CACHES=DEAD_REDIS):
        if cookie:
            client.cookies["sessionid"] = cookie
        response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
        assert response.status_code == HTTPStatus.FOUND
        assert last_message(response).startswith("Your cart cannot be reached right now")
        page = client.get("/cart/")
        assert page.status_code == HTTPStatus.OK
        expected = "The session store is not answering right now" if cookie else "Nothing yet"
        assert expected in page.content.decode()
    product.refresh_from_db()
    assert product.stock == 20


def test_product_ids_beyond_any_database_integer_are_answered_not_crashed(shopper, product):
    huge = "9" * 25
    for url, data in [
        ("/cart/add/", {"product_id": huge, "quantity": 1}),
        (f"/cart/items/{huge}/", {"quantity": 1}),
        (f"/cart/items/{huge}/remove/", {}),
    ]:
        assert shopper.post(url, data).status_code == HTTPStatus.FOUND, url
    assert shopper.get(f"/orders/{huge}/").status_code == HTTPStatus.NOT_FOUND
    assert_unchanged(shopper, product)
