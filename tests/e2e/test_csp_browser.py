"""A real browser finds nothing that the Content-Security-Policy blocks, on any kind of page."""

import pytest
from django.core.management import call_command

from shop.models import Product

PASSWORD = "browser-test-password-1"


@pytest.fixture
def shop(transactional_db, django_user_model):
    call_command("seed_demo", verbosity=0)
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    return Product.objects.order_by("pk").first()


def test_shop_admin_and_api_docs_run_under_the_policy_without_a_violation(page, shop):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto("/")
    page.goto(f"/products/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.goto("/checkout/")
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info").wait_for()
    page.goto("/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/compare/")
    page.locator("h1").wait_for()
    page.goto("/admin/shop/order/")

    assert violations == []
