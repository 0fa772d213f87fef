"""Swagger UI in a real browser: its curl sends no CSRF header, it keeps the latest token,
and everything it loads comes from this server."""

import pytest
from django.core.management import call_command

from shop.models import Product


@pytest.fixture
def catalogue(transactional_db) -> Product:
    call_command("seed_demo", verbosity=0)
    return Product.objects.order_by("pk").first()


def _try(page, operation_id: str, body: str | None = None):
    operation = page.locator(f"#{operation_id}")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(body)
    operation.get_by_role("button", name="Execute").click()
    operation.locator(".live-responses-table .response-col_status").first.wait_for()
    return operation


def _authorized_token(page) -> str | None:
    return page.evaluate("ui.getState().getIn(['auth', 'authorized', 'cartToken', 'value'])")


def test_swagger_keeps_the_latest_token_and_its_curl_sends_no_csrf_header(
    page, live_server, catalogue
):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs/")
    page.locator(".opblock").first.wait_for()

    created = _try(page, "operations-cart-cart_create")
    first = _authorized_token(page)
    assert first and first.count(".") == 2  # the new cart's token is now the authorization

    # A product of this database (ids differ from run to run), rather than the example's.
    added = _try(
        page,
        "operations-cart-cart_items_create",
        f'{{"product_id": {catalogue.pk}, "quantity": 2}}',
    )
    curl = added.locator(".curl-command").inner_text()
    assert f"Authorization: Bearer {first}" in curl
    assert "X-CSRFTOKEN" not in curl.upper()
    assert "X-CSRFTOKEN" not in created.locator(".curl-command").inner_text().upper()
    # The add answered with a re-issued token: it becomes the authorization.
    page.wait_for_function(
        "first => ui.getState().getIn(['auth', 'authorized', 'cartToken', 'value']) !== first",
        arg=first,
    )
    assert '"product_id"' in added.locator(".live-responses-table").inner_text()

    assert all(url.startswith(live_server.url) for url in requested), requested
