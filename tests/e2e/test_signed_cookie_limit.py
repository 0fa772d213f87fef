"""A signed-cookie cart at the browser's 4 KB cookie limit, in Chromium.

A browser drops a Set-Cookie whose name and value pass 4096 bytes and keeps
the old cookie, without a word to anyone. With the shop's guard, the change is
refused and the visitor is told; without it (the limit raised past the
browser's), the shop says "Added" and the browser silently keeps the old cart.
"""

import pytest
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from compare.measure.servers import free_port
from shop.cart import Cart
from shop.models import Category, Product
from shop.session_cart import save_cart, signed_cookie_bytes
from shop.stores import STORES

SIGNED = STORES["signed_cookies"].engine
BROWSER_LIMIT = 4096


@pytest.fixture
def products(transactional_db):
    """Products with scattered six-digit ids: their lines compress less, so fewer fill 4 KB."""
    category = Category.objects.create(name="Bulk", slug="bulk")
    Product.objects.bulk_create(
        Product(
            pk=100_000 + n * 7_919 % 900_000,
            category=category,
            slug=f"item-{n}",
            name=f"Item {n}",
            price="1.00",
            stock=500,
            description="One of many.",
        )
        for n in range(800)
    )
    return list(Product.objects.order_by("slug"))


@pytest.fixture
def signed_cookie_shop(settings, products):
    """A live server whose sessions are signed cookies and whose carts may be long."""
    settings.SESSION_ENGINE = SIGNED
    settings.CART_MAX_LINES = len(products)
    server = LiveServer(f"127.0.0.1:{free_port()}")  # its middleware reads the settings above
    yield server
    server.stop()


def cookie_at_the_limit(products) -> tuple[str, int, Product]:
    """A signed-cookie session that fits in 4096 bytes, and a product whose line would not fit.

    The cart holds the first n products, n the largest for which the cookie fits
    and the cart plus 99 of the last product does not.
    """
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    extra = products[-1]
    session = SessionStore()

    def size(lines) -> int:
        save_cart(session, Cart(lines))
        return signed_cookie_bytes(session)

    lines: list[tuple[int, int]] = []
    for number, product in enumerate(products[:-1]):
        candidate = [*lines, (product.pk, 1 + number * 37 % 99)]
        if size(candidate) > BROWSER_LIMIT:
            break
        lines = candidate
    # Compression makes sizes jump a little: take the longest prefix that fits without the extra
    # line and does not with it (within the last few lines, since each one adds bytes).
    for n in range(len(lines), len(lines) - 20, -1):
        if size(lines[:n]) <= BROWSER_LIMIT < size([*lines[:n], (extra.pk, 99)]):
            save_cart(session, Cart(lines[:n]))
            return session._get_session_key(), n, extra
    raise AssertionError("no cart sits at the cookie limit with these products")


@pytest.fixture
def visitor(browser, signed_cookie_shop, products, settings):
    context = browser.new_context(base_url=signed_cookie_shop.url)
    context.set_default_timeout(20_000)
    value, lines, extra = cookie_at_the_limit(products)
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": value, "url": signed_cookie_shop.url}]
    )
    page = context.new_page()
    # The cart page shows a picture per line: wait for the page, not for ~900 pictures.
    page.goto("/cart/", wait_until="domcontentloaded")
    expect(page.get_by_test_id("cart-line")).to_have_count(lines)
    yield page, lines, extra
    context.close()


def test_a_change_past_the_cookie_limit_is_refused_and_the_visitor_is_told(visitor):
    page, lines, extra = visitor
    page.goto(extra.get_absolute_url(), wait_until="domcontentloaded")
    page.get_by_label("Quantity").fill("99")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("no longer fits in your browser's cookie")
    expect(page.get_by_role("status")).to_contain_text("Nothing was changed")
    page.goto("/cart/", wait_until="domcontentloaded")
    expect(page.get_by_test_id("cart-line")).to_have_count(lines)  # the cart is kept whole
    expect(page.locator(f'[data-product-id="{extra.pk}"]')).to_have_count(0)


def test_without_the_guard_the_browser_silently_keeps_the_old_cart(visitor, settings):
    """What the guard prevents: the server says "Added", Chromium drops the too-long cookie."""
    settings.SESSION_COOKIE_MAX_BYTES = 10 * BROWSER_LIMIT
    page, lines, extra = visitor
    page.goto(extra.get_absolute_url(), wait_until="domcontentloaded")
    page.get_by_label("Quantity").fill("99")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added 99 × “{extra.name}”")
    page.goto("/cart/", wait_until="domcontentloaded")
    expect(page.get_by_test_id("cart-line")).to_have_count(lines)
    expect(page.locator(f'[data-product-id="{extra.pk}"]')).to_have_count(0)
