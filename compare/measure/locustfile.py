"""Load scenarios: the shoppers of both channels, their minimal twins, and the bare views.

`manage.py compare` runs these headless and reads locust's own statistics
(`--csv`); to watch one in locust's web UI (think time 0.5-2 s by default):
    locust -f compare/measure/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1
Headless, for a fixed time:
    locust -f compare/measure/locustfile.py WebShopper --host http://127.0.0.1:8000 \
        --headless -u 10 -r 10 -t 30s --tags add

Tasks carry tags: `journey` (browse, add three products, view the cart, check
out) and `add` (add-to-cart only: what the performance targets measure), so
`--tags add` or `--tags journey` runs one kind. Every user checks its answers:
a cart that lost a line or an unexpected status counts as a failure, and a
lost line's failure message starts with "lost update".

A new scenario is a user class here (and a `Scenario` in compare/measure/load.py
naming it). The add-only users keep a cart of LOAD_CART_LINES lines (default 2):
they build it first ("setup" requests), then every measured add adds one unit of
a product already in it, so the cart keeps its size.

Environment variables (set by `manage.py compare`, optional otherwise):
LOCUST_WAIT ("min,max" seconds of think time; "0" for none), LOAD_PRODUCTS_FILE
(JSON list of {id, slug, name}; otherwise the catalogue is read from
/api/products/), LOAD_CART_LINES (lines of the add-only users' cart), LOAD_API_TOKEN
(a cart token logged in by the caller: the API add-only users all start from it, so
every add checks its login), LOAD_CPU_FILE (where to write the CPU seconds this
process spent from the test's start to its end: the load generator's share).
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import time
from collections import Counter
from itertools import count

from gevent.lock import Semaphore
from locust import FastHttpUser, between, constant, events, tag, task

ADDS_PER_VISITOR = 90  # web add-only: check the cart and start a new visitor after this many adds
_order_numbers = count(1)


# --- The load generator's own CPU time -----------------------------------------------

_cpu_at_start: list[float] = []


@events.test_start.add_listener
def _note_cpu_at_start(**kwargs) -> None:
    _cpu_at_start[:] = [time.process_time()]


@events.test_stop.add_listener
def _write_cpu_of_the_run(**kwargs) -> None:
    """The CPU this process spent from the start of the test to its end, in LOAD_CPU_FILE.

    From the test's start, not the process's: starting Python and importing locust
    (about 0.3 s of CPU) would weigh on short runs and slow scenarios most.
    """
    path = os.environ.get("LOAD_CPU_FILE")
    if path and _cpu_at_start:
        with open(path, "w", encoding="utf-8") as target:
            target.write(f"{time.process_time() - _cpu_at_start[0]:.6f}\n")


def cart_lines() -> int:
    return max(1, int(os.environ.get("LOAD_CART_LINES", "2")))


def think_time():
    spec = os.environ.get("LOCUST_WAIT", "0.5,2").strip()
    low, _, high = spec.partition(",")
    if not high:
        return constant(float(low or 0))
    return between(float(low), float(high))


# --- The catalogue ---------------------------------------------------------------

_catalogue: list[dict] = []
_catalogue_lock = Semaphore()


def catalogue(client) -> list[dict]:
    """The active products as {id, slug, name}: from LOAD_PRODUCTS_FILE or the API."""
    with _catalogue_lock:
        if _catalogue:
            return _catalogue
        path = os.environ.get("LOAD_PRODUCTS_FILE")
        if path:
            with open(path, encoding="utf-8") as source:
                _catalogue.extend(json.load(source))
        else:
            url = "/api/products/"
            while url:
                with client.get(url, name="setup: products", catch_response=True) as answer:
                    if answer.status_code != 200:
                        answer.failure(f"products list answered {answer.status_code}")
                        break
                    page = answer.json()
                _catalogue.extend(
                    {"id": p["id"], "slug": p["slug"], "name": p["name"]}
                    for p in page["results"]
                    if p.get("available", True)
                )
                url = page.get("next")
        if not _catalogue:
            raise RuntimeError("No products to shop for: seed the catalogue first.")
        return _catalogue


_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """name -> value of the hidden inputs of a page (CSRF token excepted)."""
    fields = {}
    for element in _INPUT.findall(page):
        attributes = dict(_ATTRIBUTE.findall(element))
        name = attributes.get("name", "")
        if attributes.get("type") == "hidden" and name and name != "csrfmiddlewaretoken":
            fields[name] = html.unescape(attributes.get("value", ""))
    return fields


def customer() -> dict:
    n = next(_order_numbers)
    return {
        "name": f"Load Shopper {n}",
        "email": f"shopper{n}@example.com",
        "address": f"{n} Benchmark Road, Testville",
    }


# --- The web shopper: a cookie jar, CSRF, and a cart in the server's session -----


class WebShopper(FastHttpUser):
    """A person in a browser: the cart lives in the server-side session."""

    wait_time = think_time()
    weight = 1
    add_path = "/cart/add/"
    session_path = "/session/"  # the visitor's session as JSON: the add-only check reads it
    add_name = "web: add to cart"
    setup_name = "web: setup add"
    check_name = "web: cart check"

    def on_start(self) -> None:
        self.products = catalogue(self.client)
        self.added: Counter[int] = Counter()
        self.ensure_csrf()

    def cookie(self, name: str) -> str | None:
        for cookie in self.client.cookiejar:
            if cookie.name == name:
                return cookie.value
        return None

    def drop_cookie(self, name: str) -> None:
        for cookie in list(self.client.cookiejar):
            if cookie.name == name:
                self.client.cookiejar.clear(cookie.domain, cookie.path, cookie.name)

    def ensure_csrf(self) -> str:
        token = self.cookie("csrftoken")
        if token is None:
            product = random.choice(self.products)
            self.client.get(f"/products/{product['slug']}/", name="web: product page")
            token = self.cookie("csrftoken")
        if token is None:
            raise RuntimeError("The product page set no csrftoken cookie.")
        return token

    def post_form(self, path: str, data: dict, *, name: str, expect: int = 302):
        token = self.ensure_csrf()
        with self.client.post(
            path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token},
            allow_redirects=False,
            name=name,
            catch_response=True,
        ) as answer:
            if answer.status_code != expect:
                answer.failure(f"expected {expect}, got {answer.status_code}")
            return answer

    def add(self, product: dict, *, name: str = "") -> None:
        answer = self.post_form(
            self.add_path, {"product_id": product["id"], "quantity": 1}, name=name or self.add_name
        )
        if answer.status_code == 302:
            self.added[product["id"]] += 1

    def check_session(self, *, name: str) -> None:
        """The add-only check: the cart as the store holds it (`session_path`, JSON).

        Every unit added since the cart was new must be in it: no lost update. It
        reads what the twin's check reads (the session's cart lines, as JSON), so the
        check costs both servers alike; the journey views the cart page instead.
        """
        with self.client.get(self.session_path, name=name, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{self.session_path} answered {answer.status_code}")
                return
            held = self.held_lines(answer.json())
            missing = [pid for pid, n in self.added.items() if held.get(pid, 0) < n]
            if missing:
                answer.failure(f"lost update: {len(missing)} line(s) short, e.g. {missing[0]}")

    @staticmethod
    def held_lines(session: dict) -> dict[int, int]:
        """Product id -> quantity of the cart in `GET /session/`'s answer."""
        return {line["product_id"]: line["quantity"] for line in session["cart"]}

    def check_cart(self, *, name: str) -> None:
        """Every product added since the cart was new must be on the cart page: no lost update."""
        with self.client.get("/cart/", name=name, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"cart page answered {answer.status_code}")
                return
            page = answer.text
            by_id = {p["id"]: p for p in self.products}
            missing = [
                by_id[pid]["name"]
                for pid in self.added
                if html.escape(by_id[pid]["name"]) not in page
            ]
            if missing:
                answer.failure(f"lost update: {len(missing)} line(s) missing, e.g. {missing[0]}")

    def new_visitor(self) -> None:
        self.drop_cookie("sessionid")
        self.added.clear()

    def setup_cart(self) -> None:
        """A new visitor whose cart holds `cart_lines()` products, one of each."""
        self.new_visitor()
        self.lines = random.sample(self.products, min(cart_lines(), len(self.products)))
        for product in self.lines:
            self.add(product, name=self.setup_name)
            self.drop_cookie("messages")
        self.adds = 0

    @tag("add")
    @task
    def add_to_cart(self) -> None:
        if not getattr(self, "lines", None) or self.adds >= ADDS_PER_VISITOR:
            if getattr(self, "lines", None):
                self.check_session(name=self.check_name)
            self.setup_cart()
        self.add(random.choice(self.lines))
        self.adds += 1
        # A browser would follow the redirect and show the "added" message, which
        # empties the message cookie; without that, messages would pile up.
        self.drop_cookie("messages")

    @tag("journey")
    @task
    def journey(self) -> None:
        self.new_visitor()
        self.client.get("/", name="web: catalogue")
        for product in random.sample(self.products, 3):
            self.client.get(f"/products/{product['slug']}/", name="web: product page")
            self.add(product, name="web: journey add")
        self.check_cart(name="web: view cart")
        form = self.client.get("/checkout/", name="web: checkout form")
        # The form's hidden fields (its checkout id, the confirmed total) go back with it.
        hidden = hidden_fields(form.text or "")
        answer = self.post_form("/checkout/", {**hidden, **customer()}, name="web: check out")
        location = answer.headers.get("Location", "") if answer.status_code == 302 else ""
        if location:
            self.client.get(location, name="web: order page")
        self.added.clear()


# --- The API shopper: the cart travels in a signed token ---------------------------


class ApiShopper(FastHttpUser):
    """A script or an app: no cookies; the cart comes back in every answer's token."""

    wait_time = think_time()
    weight = 1
    add_path = "/api/cart/items/"
    add_name = "api: add to cart"

    def on_start(self) -> None:
        self.products = catalogue(self.client)
        self.base_token = None
        self.base_cart: dict[int, int] = {}

    def call(self, method: str, path: str, *, token=None, body=None, name: str, expect: int):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with self.client.request(
            method, path, json=body, headers=headers, name=name, catch_response=True
        ) as answer:
            if answer.status_code != expect:
                answer.failure(f"expected {expect}, got {answer.status_code}: {answer.text[:200]}")
                return None
            if answer.headers.get("Set-Cookie"):
                answer.failure("an API answer set a cookie")
                return None
            return answer.json()

    @staticmethod
    def lines(data: dict) -> dict[int, int]:
        return {item["product_id"]: item["quantity"] for item in data["cart"]["items"]}

    def new_cart_with(self, products: list[dict], *, name: str) -> dict | None:
        """A new cart holding one of each product: the last answer, or None after a failure."""
        data = self.call("POST", "/api/cart/", name="api: new cart", expect=201)
        for product in products:
            if data is None:
                return None
            data = self.call(
                "POST",
                "/api/cart/items/",
                token=data["token"],
                body={"product_id": product["id"], "quantity": 1},
                name=name,
                expect=200,
            )
        return data

    def make_base_cart(self) -> None:
        """A cart of `cart_lines()` lines; every add-only request adds to this same token."""
        given = os.environ.get("LOAD_API_TOKEN", "")  # a logged-in cart made by the caller
        if given:
            data = self.call("GET", "/api/cart/", token=given, name="api: setup cart", expect=200)
            if data is not None:
                data["token"] = given
        else:
            chosen = random.sample(self.products, min(cart_lines(), len(self.products)))
            data = self.new_cart_with(chosen, name="api: setup add")
        if data is not None:
            self.base_token, self.base_cart = data["token"], self.lines(data)

    @tag("add")
    @task
    def add_to_cart(self) -> None:
        if self.base_token is None:
            self.make_base_cart()
            return
        product_id = random.choice(list(self.base_cart))
        with self.client.post(
            self.add_path,
            json={"product_id": product_id, "quantity": 1},
            headers={"Authorization": f"Bearer {self.base_token}"},
            name=self.add_name,
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"expected 200, got {answer.status_code}: {answer.text[:200]}")
                return
            got = self.lines(answer.json())
            expected = dict(self.base_cart)
            expected[product_id] += 1
            if got != expected:
                answer.failure(f"lost update: expected {expected}, got {got}")

    @tag("journey")
    @task
    def journey(self) -> None:
        self.call("GET", "/api/products/", name="api: products", expect=200)
        chosen = random.sample(self.products, 3)
        for product in chosen:
            self.call("GET", f"/api/products/{product['id']}/", name="api: product", expect=200)
        data = self.new_cart_with(chosen, name="api: journey add")
        if data is None:
            return
        with self.client.get(
            "/api/cart/",
            headers={"Authorization": f"Bearer {data['token']}"},
            name="api: view cart",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"expected 200, got {answer.status_code}")
                return
            if set(self.lines(answer.json())) != {p["id"] for p in chosen}:
                answer.failure("lost update: the cart does not hold the three products")
                return
        self.call(
            "POST",
            "/api/checkout/",
            token=data["token"],
            body=customer(),
            name="api: check out",
            expect=201,
        )


# --- The minimal twins (compare/bare/twins.py): the same add, the least code ------------


class TwinWebShopper(WebShopper):
    """The web shopper against the locked twin: same session, same cart, minimal view."""

    add_path = "/twin/cart/add/"
    session_path = "/twin/cart/"
    add_name = "twin web: add to cart"
    setup_name = "twin web: setup add"
    check_name = "twin web: cart check"

    def ensure_csrf(self) -> str:
        token = self.cookie("csrftoken")
        if token is None:
            self.client.get("/twin/cart/", name="twin web: cart")
            token = self.cookie("csrftoken")
        if token is None:
            raise RuntimeError("The twin's cart set no csrftoken cookie.")
        return token

    @staticmethod
    def held_lines(session: dict) -> dict[int, int]:
        """The twin's cart answer is its session's `[[product_id, quantity], ...]`."""
        return dict(session["cart"])

    @tag("journey")
    @task
    def journey(self) -> None:
        """The twins have no journey: only the add is twinned."""


class UnlockedTwinWebShopper(TwinWebShopper):
    """The same twin without the session lock: Django's last-write-wins session."""

    add_path = "/twin/cart/add-unlocked/"
    add_name = "twin web unlocked: add to cart"


class TwinApiShopper(ApiShopper):
    """The API shopper against the JWT twin; its first add, without a token, starts the cart."""

    add_path = "/twin/api/cart/items/"
    add_name = "twin api: add to cart"

    def new_cart_with(self, products: list[dict], *, name: str) -> dict | None:
        data = None
        for product in products:
            token = data["token"] if data else None
            data = self.call(
                "POST",
                self.add_path,
                token=token,
                body={"product_id": product["id"], "quantity": 1},
                name=name,
                expect=200,
            )
            if data is None:
                return None
        return data

    @tag("journey")
    @task
    def journey(self) -> None:
        """The twins have no journey: only the add is twinned."""


# --- The bare baseline (compare/bare/views.py) ------------------------------------------


class BareView(FastHttpUser):
    """The cheapest Django view: no middleware, no apps."""

    wait_time = constant(0)

    @task
    def bare(self) -> None:
        self.client.get("/bare/", name="bare: django view")


class BareDrfView(FastHttpUser):
    """The same answer through a DRF APIView."""

    wait_time = constant(0)

    @task
    def bare_drf(self) -> None:
        self.client.get("/bare-drf/", name="bare: drf view")
