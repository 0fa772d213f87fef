"""Load scenarios for both channels: a web shopper (session cart) and an API shopper (token cart).

Watch it in locust's web UI (think time 0.5-2 s by default):
    locust -f tests/load/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1
Headless, for a fixed time:
    locust -f tests/load/locustfile.py --host http://127.0.0.1:8000 --headless -u 10 -r 10 -t 30s

Tasks carry tags: `journey` (browse, add three products, view the cart, check
out) and `add` (add-to-cart only: what the performance targets measure), so
`--tags add` or `--tags journey` runs one kind. Both shoppers check every
answer: a cart that lost a line or an unexpected status counts as a failure.

Environment variables (set by `manage.py compare`, optional otherwise):
LOCUST_WAIT ("min,max" seconds of think time; "0" for none), LOAD_PRODUCTS_FILE
(JSON list of {id, slug, name}; otherwise the catalogue is read from
/api/products/), LOCUST_RESULTS_FILE (where to write every response time as JSON
when the run stops), LOAD_API_TOKEN (a cart token, logged in by the caller: the API
shopper's add-only requests all start from it, so each checks its login).
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

ADD_CHECK_EVERY = 50  # web add-only: check the cart and start a new visitor after this many adds
_order_numbers = count(1)


def think_time():
    spec = os.environ.get("LOCUST_WAIT", "0.5,2").strip()
    low, _, high = spec.partition(",")
    if not high:
        return constant(float(low or 0))
    return between(float(low), float(high))


# --- Response times, written to a file for `manage.py compare` ---------------


class Recorder:
    """Every request's name, time and outcome, in memory until the run stops."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.time()
        self.stopped = None
        self.requests: dict[str, dict] = {}
        self.errors: Counter[str] = Counter()

    def record(self, name: str, response_time: float, exception) -> None:
        entry = self.requests.setdefault(name, {"count": 0, "failures": 0, "times": []})
        entry["count"] += 1
        entry["times"].append(round(response_time, 3))
        if exception is not None:
            entry["failures"] += 1
            self.errors[f"{name}: {exception}"[:300]] += 1

    def as_dict(self) -> dict:
        return {
            "started": self.started,
            "stopped": self.stopped or time.time(),
            "requests": self.requests,
            "errors": dict(self.errors.most_common(20)),
        }


recorder = Recorder()


@events.test_start.add_listener
def _on_test_start(**_kwargs):
    recorder.reset()


@events.request.add_listener
def _on_request(name, response_time, exception, **_kwargs):
    recorder.record(name, response_time, exception)


@events.test_stop.add_listener
def _on_test_stop(**_kwargs):
    recorder.stopped = time.time()
    path = os.environ.get("LOCUST_RESULTS_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(recorder.as_dict(), out)


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

    def add(self, product: dict, *, name: str = "web: add to cart") -> None:
        answer = self.post_form(
            "/cart/add/", {"product_id": product["id"], "quantity": 1}, name=name
        )
        if answer.status_code == 302:
            self.added[product["id"]] += 1

    def check_cart(self, *, name: str) -> None:
        """Every product added since the cart was new must be in it: no lost update."""
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

    @tag("add")
    @task
    def add_to_cart(self) -> None:
        self.add(random.choice(self.products))
        # A browser would follow the redirect and show the "added" message, which
        # empties the message cookie; without that, messages would pile up.
        self.drop_cookie("messages")
        if sum(self.added.values()) >= ADD_CHECK_EVERY:
            self.check_cart(name="web: cart check")
            self.new_visitor()

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
        """A cart of two lines; every add-only request adds to this same token."""
        given = os.environ.get("LOAD_API_TOKEN", "")  # a logged-in cart made by the caller
        if given:
            data = self.call("GET", "/api/cart/", token=given, name="api: setup cart", expect=200)
            if data is not None:
                data["token"] = given
        else:
            data = self.new_cart_with(random.sample(self.products, 2), name="api: setup add")
        if data is not None:
            self.base_token, self.base_cart = data["token"], self.lines(data)

    @tag("add")
    @task
    def add_to_cart(self) -> None:
        if self.base_token is None:
            self.make_base_cart()
            return
        product = random.choice(self.products)
        with self.client.post(
            "/api/cart/items/",
            json={"product_id": product["id"], "quantity": 1},
            headers={"Authorization": f"Bearer {self.base_token}"},
            name="api: add to cart",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"expected 200, got {answer.status_code}: {answer.text[:200]}")
                return
            got = self.lines(answer.json())
            expected = dict(self.base_cart)
            expected[product["id"]] = expected.get(product["id"], 0) + 1
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
