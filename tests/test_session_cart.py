"""The session cart store: reading never fails, changes are all-or-nothing, the badge is lazy."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import override_settings

from shop.cart import Cart, CartError
from shop.session_cart import (
    CART_SESSION_KEY,
    cart_from_session_data,
    change_cart,
    load_cart,
    save_cart,
)
from shop.session_meter import session_state
from shop.stores import STORES, cache_on_redis

pytestmark = pytest.mark.django_db


@pytest.fixture(params=list(STORES))
def engine(request):
    with override_settings(SESSION_ENGINE=STORES[request.param].engine):
        engine = import_module(settings.SESSION_ENGINE)
        created = []
        yield SimpleNamespace(name=request.param, module=engine, created=created)
        for key in created:
            engine.SessionStore(key).delete()


def fake_request(session, cookie: str | None = None):
    cookies = {settings.SESSION_COOKIE_NAME: cookie} if cookie else {}
    return SimpleNamespace(session=session, COOKIES=cookies)


def middleware_save(session, engine) -> str:
    """What SessionMiddleware does when the response leaves: save, send the key as cookie."""
    session.save()
    engine.created.append(session.session_key)
    return session.session_key


@pytest.mark.parametrize(
    "stored",
    [None, "junk", 42, {"a": 1}, [1, 2], [[1]], [["1", 2]], [[1, 0]], [[1, 100]], [[1, 2], [1, 3]]],
)
def test_a_malformed_stored_cart_is_an_empty_cart(stored):
    assert cart_from_session_data({CART_SESSION_KEY: stored}) == Cart()
    assert load_cart({CART_SESSION_KEY: stored}) == Cart()


def test_a_cart_over_the_line_limit_reads_as_empty():
    data = {CART_SESSION_KEY: [[n, 1] for n in range(1, 60)]}
    assert cart_from_session_data(data) == Cart()


def test_save_cart_keeps_plain_json_and_an_empty_cart_leaves_no_key():
    session = {}
    save_cart(session, Cart([(3, 2), (1, 5)]))
    assert session == {CART_SESSION_KEY: [[3, 2], [1, 5]]}
    save_cart(session, Cart())
    assert session == {}


def test_change_cart_creates_a_session_for_a_new_visitor(engine):
    session = engine.module.SessionStore()
    cart = change_cart(fake_request(session), lambda c: c.add(7, 2))
    key = middleware_save(session, engine)
    assert cart == Cart([(7, 2)])
    assert load_cart(engine.module.SessionStore(key)) == Cart([(7, 2)])


def test_change_cart_starts_from_what_is_stored_now_not_from_a_stale_copy(engine):
    if engine.name == "signed_cookies":
        pytest.skip("signed cookies: each request carries its own copy; there is nothing newer")
    first = engine.module.SessionStore()
    change_cart(fake_request(first), lambda c: c.add(1, 1))
    key = middleware_save(first, engine)

    stale = engine.module.SessionStore(key)
    assert load_cart(stale) == Cart([(1, 1)])  # this request read the session early
    other = engine.module.SessionStore(key)
    change_cart(fake_request(other), lambda c: c.add(2, 1))  # another request changes it
    other.save()

    change_cart(fake_request(stale), lambda c: c.add(3, 1))
    assert load_cart(engine.module.SessionStore(key)) == Cart([(1, 1), (2, 1), (3, 1)])


def test_the_middlewares_closing_save_does_not_undo_a_later_change(engine):
    if engine.name == "signed_cookies":
        pytest.skip("signed cookies: the browser keeps whichever cookie arrives last")
    first = engine.module.SessionStore()
    change_cart(fake_request(first), lambda c: c.add(1, 1))
    key = middleware_save(first, engine)

    slow = engine.module.SessionStore(key)
    change_cart(fake_request(slow), lambda c: c.add(2, 1))  # done, response not sent yet
    fast = engine.module.SessionStore(key)
    change_cart(fake_request(fast), lambda c: c.add(3, 1))  # another request, in between
    fast.save()
    slow.save()  # SessionMiddleware's save as the slow response leaves
    assert load_cart(engine.module.SessionStore(key)) == Cart([(1, 1), (2, 1), (3, 1)])


def test_a_change_raced_by_another_write_is_made_again_on_what_is_stored_now(engine):
    """Between this change's read and its write another request writes: neither is lost."""
    if engine.name == "signed_cookies":
        pytest.skip("signed cookies: nothing on the server to race with")
    if engine.name == "cached_db" or (engine.name == "cache" and not cache_on_redis()):
        pytest.skip(f"{engine.name} here locks: the rival would wait for the lock instead")
    first = engine.module.SessionStore()
    change_cart(fake_request(first), lambda c: c.add(1, 1))
    key = middleware_save(first, engine)
    seen: list[Cart] = []

    def add_after_a_rival_wrote(cart: Cart) -> Cart:
        seen.append(cart)
        if len(seen) == 1:  # the rival request changes the session right after our read
            rival = engine.module.SessionStore(key)
            change_cart(fake_request(rival), lambda c: c.add(2, 1))
        return cart.add(3, 1)

    mine = engine.module.SessionStore(key)
    cart = change_cart(fake_request(mine), add_after_a_rival_wrote)
    assert cart == Cart([(1, 1), (2, 1), (3, 1)])
    assert load_cart(engine.module.SessionStore(key)) == Cart([(1, 1), (2, 1), (3, 1)])
    # The first write found the rival's and was not made; the change ran again on it.
    assert seen == [Cart([(1, 1)]), Cart([(1, 1), (2, 1)])]


def test_a_refused_change_writes_nothing(engine):
    session = engine.module.SessionStore()
    change_cart(fake_request(session), lambda c: c.add(1, 2))
    key = middleware_save(session, engine)
    again = engine.module.SessionStore(key)

    def refuse(cart: Cart) -> Cart:
        raise CartError("no")

    with pytest.raises(CartError):
        change_cart(fake_request(again), refuse)
    assert load_cart(again) == Cart([(1, 2)])
    assert load_cart(engine.module.SessionStore(key)) == Cart([(1, 2)])


def test_a_change_to_an_unknown_key_gets_a_new_session(engine):
    if engine.name == "signed_cookies":
        pytest.skip("signed cookies have no key: the cookie is the data")
    session = engine.module.SessionStore("unknownsessionkeychosenbysomeone")
    change_cart(fake_request(session), lambda c: c.add(4, 1))
    key = middleware_save(session, engine)
    assert key != "unknownsessionkeychosenbysomeone"
    assert not engine.module.SessionStore().exists("unknownsessionkeychosenbysomeone")


def test_session_state_before_any_session_holds_nothing(engine):
    state = session_state(fake_request(engine.module.SessionStore()))
    assert state["store"] == engine.name
    assert state["has_session"] is False
    assert state["server_bytes"] is None
    assert state["cookie_bytes"] == 0


def test_session_state_of_db_measures_the_row(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    change_cart(fake_request(session), lambda c: c.add(9, 3))
    session.save()
    key = session.session_key
    row = Session.objects.get(pk=key)
    state = session_state(fake_request(engine.SessionStore(key), cookie=key))
    assert state["server_bytes"] == len(row.session_data)
    assert state["expires_at"] == row.expire_date
    assert state["key_prefix"] == key[:8]
    assert state["cookie_bytes"] == len(key)


# --- The badge is lazy ---------------------------------------------------------------------


def test_pages_without_the_badge_never_read_the_session(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    picture = client.get(f"/products/{product.slug}/picture.svg")
    assert picture.wsgi_request.session.accessed is False
    for url in ("/api/products/", "/api/schema/"):  # the API never even gets a session
        assert not hasattr(client.get(url).wsgi_request, "session"), url


def test_a_page_with_the_badge_reads_the_session(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    response = client.get("/")
    assert response.wsgi_request.session.accessed is True
