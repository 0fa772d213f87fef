"""`lab header-cliff`: what the visitor reads when a hop refuses the cart, from real answers."""

from http import HTTPStatus

import pytest
from django.test import Client, override_settings

from compare.lab.scenarios.header_cliff import sees
from shop.stores import STORES

# Recorded from gunicorn 27 (`--limit-request-field_size` at its default, 8190) and from
# HAProxy 2.6 (default tune.bufsize), each sent a 9,000 and a 17,000-byte Authorization header.
GUNICORN_431 = (
    "<html>\n  <head>\n    <title>Request Header Fields Too Large</title>\n  </head>\n"
    "  <body>\n    <h1><p>Request Header Fields Too Large</p></h1>\n"
    "    Error parsing headers: &#x27;limit request headers fields size&#x27;\n"
    "  </body>\n</html>\n"
)
HAPROXY_400 = (
    "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
)


def read(response) -> str:
    return sees(
        response.status_code,
        response.reason_phrase,
        response.get("Content-Type", ""),
        response.content.decode(),
    )


def test_gunicorn_refusing_a_header_reads_as_its_status_line_and_message():
    assert sees(431, "Request Header Fields Too Large", "text/html", GUNICORN_431) == (
        "431 Request Header Fields Too Large: "
        "Error parsing headers: 'limit request headers fields size'"
    )


def test_haproxy_refusing_a_request_reads_as_its_status_line_and_message():
    assert sees(400, "Bad request", "text/html", HAPROXY_400) == (
        "400 Bad request: Your browser sent an invalid request."
    )


def test_a_bare_status_without_a_body_reads_as_its_status_line():
    assert sees(502, "Bad Gateway", "text/plain", "") == "502 Bad Gateway"


@pytest.mark.django_db
def test_the_api_refusing_a_token_reads_as_its_status_and_detail(settings):
    settings.CART_TOKEN_MAX_BYTES = 64
    response = Client().get("/api/cart/", HTTP_AUTHORIZATION="Bearer " + "a" * 200)
    assert response.status_code in (HTTPStatus.UNAUTHORIZED, 431)
    said = read(response)
    assert said.startswith(f"{response.status_code} {response.reason_phrase}: ")
    assert said.removeprefix(f"{response.status_code} {response.reason_phrase}: ")
    assert "{" not in said  # the detail, not the JSON around it


@pytest.mark.django_db
def test_the_shop_refusing_an_add_reads_as_the_message_on_the_page_it_redirects_to(
    make_product,
):
    products = [make_product(stock=50) for _ in range(12)]
    with override_settings(
        SESSION_ENGINE=STORES["signed_cookies"].engine,
        SESSION_COOKIE_MAX_BYTES=120,
    ):
        browser = Client()
        for product in products:
            added = browser.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
            assert added.status_code == HTTPStatus.FOUND
            if not added["Location"].rstrip("/").endswith("/cart"):
                break
        else:
            raise AssertionError("the cookie never reached its limit")
        page = browser.get(added["Location"])
    said = read(page)
    assert said.startswith("Your cart no longer fits in your browser's cookie: with this change")
    assert product.name not in said  # not the title of the product page


@pytest.mark.django_db
def test_the_shop_refusing_a_line_past_the_cap_reads_as_its_message(make_product, settings):
    settings.CART_MAX_LINES = 1
    first, second = make_product(stock=5), make_product(stock=5)
    browser = Client()
    browser.post("/cart/add/", {"product_id": first.pk, "quantity": 1})
    refused = browser.post("/cart/add/", {"product_id": second.pk, "quantity": 1}, follow=True)
    said = read(refused)
    assert "at most 1" in said
    assert second.name not in said


@pytest.mark.django_db
def test_an_empty_cart_page_reads_as_the_shop_saying_so():
    assert read(Client().get("/cart/")) == "Your cart is empty."
