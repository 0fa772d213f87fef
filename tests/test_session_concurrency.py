"""No lost updates: ten requests of one visitor change the cart at once through a real server."""

import threading
from http import HTTPStatus
from importlib import import_module

import pytest
import requests
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connection
from django.test import override_settings
from django.test.testcases import LiveServerThread

from shop.cart import Cart
from shop.session_cart import load_cart
from shop.stores import STORES, cache_on_redis

THREADS = 10


def skip_reason(store: str) -> str | None:
    if store in ("db", "cached_db") and connection.vendor != "postgresql":
        return (
            f"concurrent writers to the {store} store need PostgreSQL here (the test server "
            "shares one in-memory SQLite connection between its threads); "
            "set DATABASE_URL=postgres://..."
        )
    if store == "cache" and not cache_on_redis():
        return "the cache store shared between processes needs Redis: set REDIS_URL=redis://..."
    return None


@pytest.fixture
def server(store):
    """A live server started under this test's SESSION_ENGINE (its middleware reads it at start)."""
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture(params=["db", "cached_db", "cache"])
def store(request, transactional_db):
    if reason := skip_reason(request.param):
        pytest.skip(reason)
    with override_settings(SESSION_ENGINE=STORES[request.param].engine):
        yield request.param


def test_ten_concurrent_adds_to_one_session_keep_all_ten_lines(store, server, make_product):
    products = [make_product(stock=50) for _ in range(THREADS)]
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session.create()
    key = session.session_key

    first = requests.get(f"{server}/", timeout=10)
    csrf = first.cookies["csrftoken"]
    cookies = {settings.SESSION_COOKIE_NAME: key, "csrftoken": csrf}
    start = threading.Barrier(THREADS)
    statuses: list[int] = []

    def add(product_id: int) -> None:
        start.wait()
        response = requests.post(
            f"{server}/cart/add/",
            data={"product_id": product_id, "quantity": 1, "csrfmiddlewaretoken": csrf},
            cookies=cookies,
            allow_redirects=False,
            timeout=30,
        )
        statuses.append(response.status_code)

    workers = [threading.Thread(target=add, args=(p.pk,)) for p in products]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    try:
        assert statuses == [HTTPStatus.FOUND] * THREADS
        stored = load_cart(engine.SessionStore(key))
        assert stored == Cart((p.pk, 1) for p in products) or sorted(stored) == sorted(
            (p.pk, 1) for p in products
        )
        assert len(stored) == THREADS
    finally:
        engine.SessionStore(key).delete()
