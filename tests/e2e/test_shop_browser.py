"""Shopping from start to finish in a real browser (headless Chromium) against a live server."""

import re

import pytest
from playwright.sync_api import expect

from shop.models import Category, Order, Product


@pytest.fixture
def catalogue(transactional_db):
    coffee = Category.objects.create(name="Coffee & Tea", slug="coffee-tea")
    kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
    Product.objects.create(
        category=coffee,
        slug="sencha",
        name="Sencha Green Tea 100 g",
        price="8.40",
        stock=50,
        description="Steamed Japanese green tea.",
    )
    Product.objects.create(
        category=coffee,
        slug="espresso",
        name="Espresso Blend 1 kg",
        price="24.00",
        stock=20,
        description="Dark roast for espresso machines.",
    )
    Product.objects.create(
        category=kitchen,
        slug="kettle",
        name="Gooseneck Kettle 1 L",
        price="39.00",
        stock=18,
        description="Stainless steel, for a steady pour.",
    )


def test_browse_search_add_change_and_check_out(page, catalogue, screenshot_dir):
    page.goto("/")
    expect(page.get_by_role("heading", name="All products")).to_be_visible()
    expect(page.get_by_test_id("product-card")).to_have_count(3)
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")

    # Filter by category, then search.
    page.get_by_role("link", name="Kitchen").click()
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    page.get_by_role("searchbox", name="Search products").fill("espresso")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?q=espresso"))
    expect(page.get_by_test_id("product-card")).to_have_count(1)

    # Product page: add two.
    page.get_by_role("link", name="Espresso Blend 1 kg").click()
    expect(page.get_by_text("20 in stock")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_text("Added 2 × “Espresso Blend 1 kg” to your cart")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")

    # A second product from the catalogue's quick add.
    page.goto("/?q=sencha")
    page.get_by_test_id("product-card").get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")

    # Change a quantity on the cart page.
    page.goto("/cart/")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    page.get_by_label("Quantity of Sencha Green Tea 100 g").fill("3")
    page.get_by_test_id("cart-line").filter(has_text="Sencha").get_by_role(
        "button", name="Update"
    ).click()
    expect(page.get_by_text("“Sencha Green Tea 100 g”: quantity set to 3.")).to_be_visible()
    expect(page.get_by_test_id("cart-total")).to_have_text("€73.20")
    expect(page.get_by_test_id("server-panel")).to_contain_text("What the server keeps")
    page.screenshot(path=str(screenshot_dir / "cart.png"), full_page=True)

    # Check out.
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Delivery address").fill("12 Analytical Street\nLondon")
    page.get_by_role("button", name=re.compile("Place order")).click()

    order = Order.objects.get()
    expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))
    expect(page.get_by_role("heading", name=f"Order #{order.pk}")).to_be_visible()
    expect(page.get_by_text(f"Thank you! Your order #{order.pk} is placed.")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    assert order.channel == "web"
    assert str(order.total) == "73.20"
    assert Product.objects.get(slug="sencha").stock == 47
    assert (screenshot_dir / "cart.png").stat().st_size > 10_000
