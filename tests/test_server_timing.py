"""Server-Timing on the shop's and the API's answers: database, session store, tokens."""

import re
from http import HTTPStatus

import pytest
from django.test import override_settings

from shop.server_timing import header_value, timed

pytestmark = pytest.mark.django_db

ENTRY = re.compile(r'^(?P<name>[a-z-]+);dur=(?P<dur>\d+\.\d{3})(?:;desc="(?P<desc>[^"]*)")?$')


def timings(response) -> dict[str, tuple[float, str | None]]:
    """Server-Timing parsed as a browser does: name -> (milliseconds, description)."""
    parsed = {}
    for entry in response["Server-Timing"].split(", "):
        match = ENTRY.match(entry)
        assert match, entry
        parsed[match["name"]] = (float(match["dur"]), match["desc"])
    return parsed


@pytest.fixture(autouse=True)
def db_sessions():
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        yield


def test_a_shop_page_reports_its_queries_session_time_and_total(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    found = timings(client.get("/cart/"))
    # session row, priced lines, the panel's measure of the session row
    assert found["db"][1] == "3 queries"
    assert found["session"][1] == "db store"
    assert found["total"][0] >= found["db"][0] > 0
    assert "token-verify" not in found


def test_adding_to_the_web_cart_times_the_locked_session_write(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.FOUND
    found = timings(response)
    assert found["session"][0] > 0
    assert found["db"][1].endswith("queries")


def test_an_api_cart_answer_reports_verifying_and_signing_and_no_session(api, product):
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 1})
    response = api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 1})
    assert response.status_code == HTTPStatus.OK
    found = timings(response)
    assert found["token-verify"][0] > 0
    assert found["token-sign"][0] > 0
    assert found["db"][1] == "1 query"  # the pricing query
    assert "session" not in found


def test_an_api_answer_without_a_token_verifies_nothing(api):
    found = timings(api.post("/api/cart/"))
    assert "token-verify" not in found
    assert "token-sign" in found
    assert found["db"][1] == "0 queries"


def test_nested_spans_of_one_name_count_once():
    from shop import server_timing

    spans: dict[str, list] = {}
    reset = server_timing._spans.set(spans)
    try:
        with timed("session"), timed("session"):
            pass
        with timed("session"):
            pass
    finally:
        server_timing._spans.reset(reset)
    assert spans["session"][1] == 0  # every span closed
    assert spans["session"][0] >= 0


def test_timed_outside_a_request_records_nothing():
    with timed("session"):
        pass  # no error, nowhere to record


def test_the_header_names_the_store_and_counts_queries_in_english():
    value = header_value(
        total=0.004, db_seconds=0.001, queries=1, spans={"session": [0.0005, 0]}, store="cache"
    )
    assert value == (
        'db;dur=1.000;desc="1 query", session;dur=0.500;desc="cache store", total;dur=4.000'
    )


def test_server_timing_off_sends_no_header(settings):
    from django.test import Client

    settings.SERVER_TIMING = False
    response = Client().post("/api/cart/")  # a new client builds its middleware now
    assert response.status_code == HTTPStatus.CREATED
    assert not response.has_header("Server-Timing")


def test_the_header_counts_revocation_lookups(client, settings, login_claims, forge):
    from django.contrib.auth import get_user_model

    settings.CART_TOKEN_REVOCATION = "denylist"
    settings.REDIS_URL = ""
    user = get_user_model().objects.create_user("timed", "t@example.com", "x" * 20)
    anonymous = client.get("/api/cart/", HTTP_AUTHORIZATION=f"Bearer {forge()}")
    assert "revocation;dur=" in anonymous["Server-Timing"]
    assert 'desc="1 lookup"' in anonymous["Server-Timing"]
    token = forge(claims=login_claims(user))
    logged_in = client.get("/api/cart/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert 'desc="2 lookups"' in logged_in["Server-Timing"]
