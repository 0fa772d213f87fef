"""A real browser logs into the admin, opens /admin/compare/ and inspects a cart token."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command

from api.tokens import decode_cart, encode_cart, new_cid
from api.views import place_token_order
from shop.cart import Cart
from shop.checkout import Customer, place_order
from shop.models import Product

PASSWORD = "browser-test-password-1"
CUSTOMER = Customer(name="Ada Lovelace", email="ada@example.com", address="1 Analytical St")


@pytest.fixture
def shop_with_activity(transactional_db, django_user_model):
    """The demo catalogue, a staff user, two web carts held in sessions and orders on both
    channels, all made through the project's own code."""
    call_command("seed_demo", verbosity=0)
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    products = list(Product.objects.order_by("pk")[:6])
    for n in range(2):
        session = SessionStore()
        session["cart"] = Cart([(p.pk, n + 1) for p in products[n : n + 3]]).to_compact()
        session.create()
    for n in range(3):
        place_order(cart=Cart([(products[n].pk, 1)]), customer=CUSTOMER, channel="web")
    for n in range(2):
        cart = Cart([(p.pk, 2) for p in products[n : n + 2]])
        token = encode_cart(cart=cart, cid=new_cid())
        place_token_order(decode_cart(token), customer=CUSTOMER)
    return products


def test_staff_logs_in_opens_the_comparison_and_inspects_a_token(
    page, live_server, shop_with_activity, screenshot_dir
):
    products = shop_with_activity
    token = encode_cart(
        cart=Cart([(products[0].pk, 2), (products[4].pk, 1)]), cid=new_cid(), sub=None
    )

    page.goto("/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.get_by_role("link", name="Stateful vs stateless: the comparison →").click()
    page.wait_for_url("**/admin/compare/")

    assert page.locator("h1").inner_text() == "Stateful vs stateless, measured on this deployment"
    assert page.locator("#row-session").is_visible()
    chart = page.locator("svg[aria-labelledby^='orders-by-day']")
    assert not chart.is_visible()  # details are one click away
    page.locator("#orders > summary").click()
    assert chart.is_visible()

    page.locator("#inspector > summary").click()
    page.fill("#id_token", token)
    page.get_by_role("button", name="Inspect token").click()
    banner = page.locator(".verdict-banner")
    banner.wait_for()
    assert "The API accepts this token" in banner.inner_text()
    inspection = page.locator(".inspection").inner_text()
    assert products[0].name in inspection
    assert products[4].name in inspection
    assert "UTC" in inspection

    path = screenshot_dir / "admin-compare.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
