"""The API keeps nothing between requests: no cookie, no session, any server will do."""

import contextlib
import json
import secrets
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session

from compare.measure.servers import serve, server_env
from shop.models import Order

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}
PASSWORD = "correct horse battery staple"


def full_flow(api, product):
    """Every API endpoint once, as a client would use them; yields each response."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    yield api.get("/api/products/")
    yield api.get(f"/api/products/{product.pk}/")
    yield api.post("/api/cart/")
    yield api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    yield api.put(f"/api/cart/items/{product.pk}/", {"quantity": 3})
    yield api.get("/api/cart/")
    yield api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    yield api.post("/api/checkout/", CUSTOMER)
    yield api.get("/api/orders/")
    yield api.delete(f"/api/cart/items/{product.pk}/")
    yield api.get("/api/cart/", token="not.a.token")
    yield api.get("/api/schema/")
    yield api.get("/api/docs/")
    yield api.get("/api/cart/", HTTP_ACCEPT="text/html")
    yield api.get("/api/products/", HTTP_ACCEPT="text/html")


def assert_stateless(response):
    request = response.wsgi_request
    assert "Set-Cookie" not in response, request.path
    assert not response.cookies, request.path
    # The web shop's session, login and message middleware let /api/ pass untouched.
    assert not hasattr(request, "session"), request.path
    assert not hasattr(request, "_messages"), request.path
    assert "Cookie" not in response.get("Vary", ""), request.path


def test_no_api_answer_sets_a_cookie_or_touches_the_session(api, product):
    statuses = []
    for response in full_flow(api, product):
        statuses.append(response.status_code)
        assert_stateless(response)
    assert statuses.count(HTTPStatus.UNAUTHORIZED) == 1
    assert Session.objects.count() == 0
    assert Order.objects.count() == 1


def test_api_never_reads_the_web_session_of_a_logged_in_browser(api, product, monkeypatch):
    from django.contrib.auth import get_user_model

    shopper = get_user_model().objects.create_user("web", "web@example.com", PASSWORD)
    api.client.force_login(shopper)
    [session] = Session.objects.all()
    before = (session.session_data, session.expire_date)

    def fail(*args, **kwargs):
        pytest.fail("the API read the session")

    monkeypatch.setattr(SessionBase, "_get_session", fail)
    for response in full_flow(api, product):
        assert_stateless(response)
    session.refresh_from_db()
    assert (session.session_data, session.expire_date) == before
    assert Session.objects.count() == 1
    assert Order.objects.get().user is not None
    assert Order.objects.get().user.username == "ada"


def test_browsable_api_renders_for_a_browser_without_cookies(api, product):
    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.client.get(
        "/api/cart/", HTTP_ACCEPT="text/html", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert product.name in page
    assert "csrfmiddlewaretoken" not in page
    assert not response.cookies


def test_api_accepts_posts_without_csrf_token(api, product):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/api/cart/items/", {"product_id": product.pk}, content_type="application/json"
    )
    assert response.status_code == HTTPStatus.OK


STALE_COOKIES = {
    "malformed session id": {"sessionid": "abc"},
    "unknown session id": {"sessionid": "a" * 32},
    "malformed csrf secret": {"csrftoken": "x"},
    "well-formed csrf secret": {"csrftoken": "b" * 32},
    "both, malformed": {"sessionid": "abc", "csrftoken": "x"},
    "both, well-formed": {"sessionid": "c" * 32, "csrftoken": "d" * 32, "messages": "e"},
}


@pytest.mark.parametrize("cookies", STALE_COOKIES.values(), ids=STALE_COOKIES.keys())
def test_stale_or_malformed_cookies_get_no_set_cookie_from_any_api_answer(db, product, cookies):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.cookies.load(cookies)
    body = {"product_id": product.pk}
    requests = [
        ("get", "/api/products/", {}),
        ("get", f"/api/products/{product.pk}/", {}),
        ("get", "/api/cart/", {}),
        ("post", "/api/cart/items/", body),
        ("put", f"/api/cart/items/{product.pk}/", {"quantity": 2}),
        ("post", "/api/checkout/", {"name": ""}),
        ("post", "/api/auth/token/", {"username": "nobody", "password": "wrong"}),
        ("get", "/api/orders/", {}),
        ("get", "/api/schema/", {}),
        ("get", "/api/docs/", {}),
        ("options", "/api/cart/", {}),
        ("get", "/api/no/such/endpoint/", {}),
    ]
    for method, path, data in requests:
        kwargs = {"data": json.dumps(data), "content_type": "application/json"} if data else {}
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, path
        assert "Set-Cookie" not in response, path
        assert not response.cookies, path
    assert Session.objects.count() == 0


def test_web_pages_still_read_the_session_cookie(db, product):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_user("web", "w@example.com", PASSWORD))
    assert not hasattr(client.get("/api/products/").wsgi_request, "session")
    assert client.get("/").wsgi_request.user.is_authenticated


def test_swagger_ui_is_served_locally(api):
    response = api.get("/api/docs/")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
    for attribute in ('src="http', "src='http", 'href="http', "href='http", 'src="//'):
        assert attribute not in page


def test_schema_documents_the_bearer_scheme_and_the_logout_trade_off(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == HTTPStatus.OK
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["cartToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schema["components"]["securitySchemes"]["cartToken"]["description"],
    }
    assert "a copied token works until its `exp`" in schema["info"]["description"]
    cart = schema["paths"]["/api/cart/items/"]["post"]
    assert {"cartToken": []} in cart["security"]
    assert {"400", "401", "431"} <= set(cart["responses"])
    checkout = schema["paths"]["/api/checkout/"]["post"]
    assert "409" in checkout["responses"]


# --- Two servers, sharing only the database and the keys ----------------------------------


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn servers, DEBUG off, each its own SECRET_KEY and in-memory session store."""
    database = tmp_path / "shared.sqlite3"
    common = {
        "DATABASE_URL": f"sqlite:///{database}",
        "CART_TOKEN_KEYS": "shared:" + "k" * 40,
        "SESSION_STORE": "cache",
        "DATABASE_CONN_MAX_AGE": "0",
    }
    setup_env = server_env({**common, "DJANGO_SECRET_KEY": "setup-" + secrets.token_urlsafe(50)})
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=setup_env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                serve(
                    "shop",
                    env={
                        **common,
                        "DJANGO_SECRET_KEY": f"server-{name}-" + secrets.token_urlsafe(50),
                    },
                )
            ).url
            for name in ("a", "b")
        ]
        yield servers, database


def test_two_servers_serve_one_cart_alternately(two_servers):
    (a, b), database = two_servers
    status, products, _ = call(a, "GET", "/api/products/")
    first, second = products["results"][0]["id"], products["results"][1]["id"]

    status, body, headers = call(a, "POST", "/api/cart/items/", {"product_id": first})
    assert status == HTTPStatus.OK
    assert "Set-Cookie" not in headers
    status, body, _ = call(b, "POST", "/api/cart/items/", {"product_id": second}, body["token"])
    assert status == HTTPStatus.OK
    status, body, _ = call(a, "PUT", f"/api/cart/items/{first}/", {"quantity": 3}, body["token"])
    assert status == HTTPStatus.OK
    status, body, _ = call(b, "GET", "/api/cart/", token=body["token"])
    assert [(i["product_id"], i["quantity"]) for i in body["cart"]["items"]] == [
        (first, 3),
        (second, 1),
    ]
    token = body["token"]
    status, body, _ = call(a, "POST", "/api/checkout/", CUSTOMER, token)
    assert status == HTTPStatus.CREATED
    status, body, _ = call(b, "POST", "/api/checkout/", CUSTOMER, token)
    assert status == HTTPStatus.CONFLICT
    assert body["code"] == "cart_already_ordered"

    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from shop_order").fetchone() == (1,)
        assert db.execute("select count(*) from django_session").fetchone() == (0,)
