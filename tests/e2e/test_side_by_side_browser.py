"""The /side-by-side/ page in a real browser: the whole script, each column against the server.

The page sends two requests at once ("a second tab"), so the shop runs as it does
in use: gunicorn with two workers on a file SQLite database (the test database
of the live_server fixture is one in-memory connection shared by its threads,
which cannot take two transactions at once). The test reads that database
directly to compare each column with what the server really holds.
"""

import json
import re
import sqlite3
import subprocess
import sys

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings
from playwright.sync_api import expect

from api.tokens import decode_cart
from compare.measure.servers import BASE_DIR, new_key, serve, server_env
from shop.session_view import HIDDEN

STEP_TIMEOUT_MS = 60_000
SECRET = "side-by-side-test-" + "k" * 40
KEYS = new_key("e2e")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A running shop (DEBUG on: static files from the source) and its database file."""
    database = tmp_path_factory.mktemp("side-by-side") / "shop.sqlite3"
    env = {
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": SECRET,
        "CART_TOKEN_KEYS": KEYS,
        "DATABASE_URL": f"sqlite:///{database}",
        "SESSION_STORE": "db",
    }
    for command in (["migrate", "--noinput", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=server_env(env),
            check=True,
            capture_output=True,
        )
    with serve("shop", env=env, workers=2, name="side-by-side") as server:
        yield server, database


@pytest.fixture
def page(browser, shop):
    server, _ = shop
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def rows(database, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, params).fetchall()


class SideBySide:
    """The page, and what the server really holds for the browser driving it."""

    def __init__(self, page, database) -> None:
        self.page = page
        self.database = database
        self.steps = 0
        options = page.get_by_label("Product", exact=True).locator("option")
        self.products = [int(value) for value in options.evaluate_all("o => o.map(x => x.value)")]

    def run(self, button: str, *, product: int | None = None, quantity: int | None = None):
        if product is not None:
            self.page.get_by_label("Product", exact=True).select_option(value=str(product))
        if quantity is not None:
            self.page.get_by_label("Quantity").fill(str(quantity))
        self.page.get_by_role("button", name=button, exact=True).click()
        self.steps += 1
        # Generous: a login hashes the password three times (sign-up, web, API) on a busy machine.
        expect(self.page.get_by_test_id("sbs-status")).to_have_text(
            re.compile(rf"^Step {self.steps} done"), timeout=STEP_TIMEOUT_MS
        )

    def shown(self, testid: str) -> str:
        return self.page.get_by_test_id(testid).text_content()

    def session_key(self) -> str | None:
        cookies = {c["name"]: c["value"] for c in self.page.context.cookies()}
        return cookies.get("sessionid")

    def session_row(self) -> tuple[str, str] | None:
        found = rows(
            self.database,
            "SELECT session_key, session_data FROM django_session WHERE session_key = ?",
            self.session_key(),
        )
        return found[0] if found else None

    def check_web(self) -> dict:
        """The left column's session data is the row the store holds, decoded."""
        row = self.session_row()
        with override_settings(SECRET_KEY=SECRET):
            held = SessionStore().decode(row[1]) if row else {}
        if HASH_SESSION_KEY in held:
            held[HASH_SESSION_KEY] = HIDDEN
        assert json.loads(self.shown("web-session-data")) == held
        if row:
            assert f"{len(row[1].encode())} bytes" in self.shown("web-held")
            assert self.shown("web-key").startswith(row[0][:8])
        else:
            assert self.shown("web-held") == "nothing"
        return held

    def check_api(self):
        """The right column's claims are the server's own decoding of the token it shows."""
        token = self.shown("api-token")
        with override_settings(CART_TOKEN_KEYS=KEYS):
            decoded = decode_cart(token)
        claims = json.loads(self.shown("api-claims"))
        assert claims["cart"] == [list(line) for line in decoded.cart.to_compact()]
        assert claims["cid"] == decoded.cid
        assert claims.get("sub") == (str(decoded.sub) if decoded.sub is not None else None)
        return decoded

    def last_step(self, column: str) -> str:
        return (
            self.page.get_by_test_id(f"{column}-steps").locator(":scope > li").last.text_content()
        )


def test_the_whole_script_runs_on_both_channels_and_each_column_shows_the_truth(
    page, shop, tmp_path
):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    # One click from the catalogue.
    page.goto("/")
    page.get_by_test_id("catalogue-intro").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Side by side")
    sbs = SideBySide(page, shop[1])
    espresso, sencha, kettle, dripper = sbs.products[:4]  # the second tab adds the next one

    # 1. add, with the keyboard only.
    page.get_by_label("Product", exact=True).select_option(value=str(espresso))
    page.get_by_role("button", name="Add to cart", exact=True).focus()
    page.keyboard.press("Enter")
    sbs.steps += 1
    expect(page.get_by_test_id("sbs-status")).to_have_text(
        re.compile(r"^Step 1 done"), timeout=STEP_TIMEOUT_MS
    )
    assert page.evaluate("document.activeElement.textContent") == "Add to cart"  # focus stays
    assert sbs.check_web()["cart"] == [[espresso, 1]]
    assert sbs.check_api().cart.to_compact() == [[espresso, 1]]
    assert "POST /cart/add/" in sbs.last_step("web") and "302 Found → /cart/" in sbs.last_step(
        "web"
    )
    assert re.search(r"Set-Cookie: .*sessionid=", sbs.last_step("web"))
    assert re.search(r"db \d+\.\d+ ms \(\d+ quer", sbs.last_step("web"))
    assert "token sign" in sbs.last_step("api")
    first_token = sbs.shown("api-token")

    # 2. add another, 3. change the first one's quantity.
    sbs.run("Add to cart", product=sencha, quantity=2)
    sbs.run("Change quantity", product=espresso, quantity=3)
    assert sorted(sbs.check_web()["cart"]) == sorted([[espresso, 3], [sencha, 2]])
    assert sorted(sbs.check_api().cart.to_compact()) == sorted([[espresso, 3], [sencha, 2]])
    assert "still accepted" in sbs.last_step("api")  # the previous token

    # 4. a second tab: the session lock keeps both adds; the token forks.
    sbs.run("Open a second tab", product=kettle, quantity=1)
    assert {pid for pid, _ in sbs.check_web()["cart"]} == {
        espresso,
        sencha,
        kettle,
        dripper,
    }
    forked = {pid for pid, _ in sbs.check_api().cart}
    assert kettle in forked and dripper not in forked

    # 5. log in: a demo account made through the sign-up form, then the API's login.
    sbs.run("Log in")
    account = sbs.shown("sbs-account")
    username = re.search(r"demo-[a-z0-9]+", account).group(0)
    held = sbs.check_web()
    user_id = held["_auth_user_id"]
    assert sbs.shown("web-user") == username
    assert sbs.check_api().sub == int(user_id)

    # 6. the session store forgets me: the row is gone, the cookie stays, the token is whole.
    before = sbs.session_key()
    sbs.run("The session store forgets me")
    assert sbs.session_key() == before  # the browser still has the cookie
    assert sbs.session_row() is None
    assert sbs.check_web() == {}
    assert "names a session the store does not hold" in sbs.shown("web-key")
    assert len(sbs.check_api().cart) == 3

    # 7. replay the token kept after step 1: the server still takes it.
    page.get_by_label("Token to replay").select_option(value=first_token)
    sbs.run("Replay an older token")
    assert "GET /api/cart/" in sbs.last_step("api") and "200" in sbs.last_step("api")
    assert "HttpOnly" in sbs.last_step("web")

    # 8. check out: the web cart was lost with its session; the API's is ordered.
    sbs.run("Check out")
    assert rows(shop[1], "SELECT id FROM shop_order WHERE channel = 'web'") == []
    assert "Your cart is empty" in sbs.last_step("web")
    [(order_id,)] = rows(shop[1], "SELECT id FROM shop_order WHERE channel = 'api'")
    lines = rows(
        shop[1], "SELECT product_id, quantity FROM shop_orderline WHERE order_id = ?", order_id
    )
    assert set(lines) == {
        (espresso, 3),
        (sencha, 2),
        (kettle, 1),
    }
    assert f"order #{order_id}" in sbs.last_step("api")
    assert sbs.check_api().cart.to_compact() == []  # a new, empty cart
    assert "bytes of Cookie headers" in sbs.shown("web-totals")
    assert "bytes of Authorization headers" in sbs.shown("api-totals")

    # The columns after the script, as a visitor sees them.
    page.get_by_test_id("web-totals").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "side-by-side-columns.png"))

    # Readable at 390 px: nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "side-by-side-390-top.png"))
    shot = tmp_path / "side-by-side.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []


def test_remove_log_out_and_log_in_again_on_both_channels(page, shop):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/side-by-side/")
    sbs = SideBySide(page, shop[1])
    first, second = sbs.products[:2]

    sbs.run("Add to cart", product=first, quantity=1)
    sbs.run("Add to cart", product=second, quantity=1)
    sbs.run("Remove line", product=first)
    assert sbs.check_web()["cart"] == [[second, 1]]
    assert sbs.check_api().cart.to_compact() == [[second, 1]]

    sbs.run("Log in")
    user_id = sbs.check_web()["_auth_user_id"]
    token_before_logout = sbs.shown("api-token")

    sbs.run("Log out")
    assert "_auth_user_id" not in sbs.check_web()
    assert sbs.shown("api-token") == ""  # the page forgot its token
    assert "The previous token" in sbs.last_step("api")

    sbs.run("Log in")  # the same demo account, through the login form this time
    assert "POST /accounts/login/" in sbs.last_step("web")
    assert sbs.check_web()["_auth_user_id"] == user_id
    assert sbs.check_api().sub == int(user_id)
    assert sbs.shown("api-token") != token_before_logout
    assert errors == []
