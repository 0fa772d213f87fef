"""/side-by-side/ and the answer description its script reads (shop.reveal)."""

from http import HTTPStatus

import pytest
from django.test import Client, override_settings

from shop.stores import STORES

pytestmark = pytest.mark.django_db

REVEAL = {"HTTP_X_REVEAL_ANSWER": "1"}


@pytest.fixture(autouse=True)
def db_sessions():
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


def test_the_page_is_open_to_every_visitor_and_offers_every_step(client, product):
    response = client.get("/side-by-side/")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for action in ("add", "set", "remove", "second-tab", "login", "logout", "forget", "replay"):
        assert f'data-action="{action}"' in page
    assert "js/side-by-side.js" in page and "css/side-by-side.css" in page
    assert "https://" not in page.split("<footer")[0]  # nothing loaded from elsewhere


def test_with_signed_cookies_the_page_does_not_offer_forgetting(client, product, settings):
    settings.SESSION_ENGINE = STORES["signed_cookies"].engine
    page = client.get("/side-by-side/").content.decode()
    assert 'data-action="forget"' not in page
    assert "not offered" in page


def test_the_catalogue_introduces_the_demo_and_links_to_the_page(client, product):
    page = client.get("/").content.decode()
    assert 'data-testid="catalogue-intro"' in page
    assert 'href="/side-by-side/"' in page


def test_the_admin_comparison_links_to_the_page(admin_client):
    assert 'href="/side-by-side/"' in admin_client.get("/admin/compare/").content.decode()


def test_a_revealed_redirect_is_described_with_its_status_location_and_cookies(client, product):
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1}, **REVEAL)
    assert response.status_code == HTTPStatus.OK
    assert response["X-Revealed-Status"] == "302"
    answer = response.json()
    assert answer["status"] == HTTPStatus.FOUND
    assert answer["location"] == "/cart/"
    session_key = response.cookies["sessionid"].value  # the cookie is still set, as it was
    [described] = [c for c in answer["set_cookie"] if c["name"] == "sessionid"]
    assert described["value_prefix"] == session_key[:8]
    assert described["value_bytes"] == len(session_key)
    assert "HttpOnly" in described["attributes"]
    assert session_key not in response.content.decode()  # an HttpOnly value stays unread
    assert response.has_header("Server-Timing")


def test_a_revealed_answer_counts_the_cookie_header_the_request_carried(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    answer = client.post(f"/cart/items/{product.pk}/", {"quantity": 2}, **REVEAL).json()
    sent = answer["cookie_sent"]
    assert {c["name"] for c in sent["cookies"]} >= {"sessionid"}
    assert sent["bytes"] >= sum(c["bytes"] for c in sent["cookies"])


def test_a_revealed_csrf_failure_keeps_its_403(product):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1}, **REVEAL)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["status"] == HTTPStatus.FORBIDDEN


def test_without_the_header_answers_are_untouched(client, product):
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    assert not response.has_header("X-Revealed-Status")


def test_api_answers_are_never_rewritten(client):
    response = client.post("/api/cart/", **REVEAL)
    assert response.status_code == HTTPStatus.CREATED
    assert "token" in response.json()
    assert not response.has_header("X-Revealed-Status")
