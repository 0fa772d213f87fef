"""A fleet of shop instances behind the lab's HAProxy, and shoppers that keep a record.

`start_fleet` starts `count` gunicorn instances of the shop (the measurement's
one server starter, through `Lab.shop`) with the same settings, and HAProxy in
front of them; the lab removes all of it at its close. Shoppers go through the
balancer, note which instance served each answer (`X-Lab-Instance`) and keep
a record of every cart change the server acknowledged, so that a run ends by
comparing each cart with its record: lost lines, lost carts, carts that moved
between instances and survived. The record is a `History` of
compare/lab/history.py, the one the failover checker reads, and a cart is
compared with it by the same rule (`missing`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

from compare.lab.haproxy import INSTANCE_HEADER, Balancer
from compare.lab.history import FAILED, OK, UNKNOWN, Change, History, missing
from compare.lab.topology import Lab
from compare.measure.clients import Product
from compare.measure.servers import Server

TIMEOUT = 10


@dataclass
class Fleet:
    instances: list[Server]
    balancer: Balancer

    @property
    def url(self) -> str:
        return self.balancer.url


def start_fleet(
    lab: Lab,
    name: str,
    env: dict[str, str],
    *,
    count: int = 3,
    mode: str = "round-robin",
    workers: int = 1,
    bufsize: int | None = None,
) -> Fleet:
    """`count` instances named `<name>-1`... with `env`, and HAProxy in `mode` in front."""
    instances = [lab.shop(f"{name}-{n}", env, workers=workers) for n in range(1, count + 1)]
    extra = {"bufsize": bufsize} if bufsize else {}
    balancer = Balancer(
        backends=[(server.name, server.port) for server in instances],
        port=lab.port(),
        work_dir=lab.tmp,
        mode=mode,
        **extra,
    )
    lab.on_close(f"haproxy {name}", balancer.stop)
    balancer.start()
    for server in instances:
        balancer.wait_status(server.name, "UP")
    return Fleet(instances, balancer)


def catalogue(lab: Lab, limit: int = 30) -> list[Product]:
    """Active products of the lab's database, for shoppers to add."""
    rows = lab.stage.db.query(
        "SELECT id, slug, name FROM shop_product WHERE active ORDER BY id LIMIT %s", (limit,)
    )
    return [Product(*row) for row in rows]


# A line of the cart page: its product and the quantity in its form.
CART_LINE = re.compile(r'data-product-id="(\d+)".*?name="quantity" value="(\d+)"', re.DOTALL)


def cart_on_page(page: str) -> dict[int, int]:
    """product id -> quantity, as the web shop's cart page shows them."""
    return {int(pid): int(quantity) for pid, quantity in CART_LINE.findall(page)}


@dataclass
class Shopper:
    """One visitor through the balancer; subclasses speak web or API.

    Its `history` (compare/lab/history.py) records every add and how it ended;
    `check()` compares the cart with the changes acknowledged since the cart began.
    """

    base_url: str
    products: list[Product]
    http: requests.Session = field(default_factory=requests.Session)
    history: History = field(default_factory=lambda: History("shopper"))
    since: int = 0  # the first change of the current cart in `history`
    sent: int = 0  # requests sent
    failed: int = 0
    server_errors: int = 0
    refused_401: int = 0
    carts_lost: int = 0  # times a check found acknowledged lines missing
    instances: set[str] = field(default_factory=set)
    step: int = 0

    def request(self, method: str, path: str, **kwargs) -> requests.Response | None:
        self.sent += 1
        try:
            answer = self.http.request(method, self.base_url + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException:
            self.failed += 1
            return None
        if served := answer.headers.get(INSTANCE_HEADER):
            self.instances.add(served)
        if answer.status_code >= 500:
            self.server_errors += 1
            self.history.server_errors += 1
        if answer.status_code >= 400:
            self.failed += 1
        if answer.status_code == 401:
            self.refused_401 += 1
        return answer

    def next_product(self) -> Product:
        product = self.products[self.step % len(self.products)]
        self.step += 1
        return product

    def add(self) -> None:
        """Add one unit of the next product, and record how it ended."""
        product = self.next_product()
        started = time.monotonic()
        outcome, status = self.send_add(product)
        self.history.record(Change(product.id, started, time.monotonic(), outcome, status))

    def new_cart(self) -> None:
        """The cart is gone: count the loss if it held anything, and start the record again."""
        self.carts_lost += any(c.outcome == OK for c in self.current)
        self.since = len(self.history.changes)

    @property
    def current(self) -> list[Change]:
        return self.history.changes[self.since :]

    def check(self) -> bool | None:
        """Compare the cart with the record; count a loss and start the record again if so."""
        held = self.held()
        if held is None:
            return None
        if missing(self.current, held):
            self.carts_lost += 1
            self.since = len(self.history.changes)
            return False
        return True

    def held(self) -> dict[int, int] | None:
        raise NotImplementedError

    def send_add(self, product: Product) -> tuple[str, int | None]:
        raise NotImplementedError

    @property
    def moved(self) -> bool:
        return len(self.instances) > 1


def outcome_of(answer: requests.Response | None) -> tuple[str, int | None]:
    """No answer or a 5xx: it may have happened; any other answer here is a refusal."""
    if answer is None:
        return UNKNOWN, None
    return (UNKNOWN if answer.status_code >= 500 else FAILED), answer.status_code


class WebShopper(Shopper):
    def send_add(self, product: Product) -> tuple[str, int | None]:
        token = self.http.cookies.get("csrftoken")
        if not token:
            self.request("GET", f"/products/{product.slug}/")
            token = self.http.cookies.get("csrftoken", "")
        answer = self.request(
            "POST",
            "/cart/add/",
            data={"product_id": product.id, "quantity": 1, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token},
            allow_redirects=False,
        )
        # Success redirects to the cart; a refusal back to the product page, with a message.
        if answer is not None and answer.status_code == 302:
            if answer.headers.get("Location", "").rstrip("/").endswith("/cart"):
                return OK, 302
            self.failed += 1
        return outcome_of(answer)

    def held(self) -> dict[int, int] | None:
        answer = self.request("GET", "/cart/")
        if answer is None or answer.status_code != 200:
            return None
        return cart_on_page(answer.text)


class ApiShopper(Shopper):
    token: str = ""

    def _call(self, method: str, path: str, body=None) -> requests.Response | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = self.request(method, path, json=body, headers=headers)
        if answer is not None and answer.ok:
            self.token = answer.json().get("token", self.token)
        return answer

    def send_add(self, product: Product) -> tuple[str, int | None]:
        if not self.token:
            self._call("POST", "/api/cart/")
        answer = self._call("POST", "/api/cart/items/", {"product_id": product.id})
        if answer is not None and answer.ok:
            return OK, answer.status_code
        if answer is not None and answer.status_code == 401:
            # The token was refused: its cart is gone for this client. Start a new one.
            self.new_cart()
            self.token = ""
        return outcome_of(answer)

    def held(self) -> dict[int, int] | None:
        answer = self._call("GET", "/api/cart/")
        if answer is None or not answer.ok:
            if answer is not None and answer.status_code == 401:
                self.token = ""
            return None
        return {item["product_id"]: item["quantity"] for item in answer.json()["cart"]["items"]}


def shop_for(
    shoppers: list[Shopper],
    *,
    seconds: float,
    max_steps: int = 400,
    check_every: int = 3,
    until: Callable[[], bool] | None = None,
    progress: Callable[[float], None] = lambda fraction: None,
) -> None:
    """Each shopper adds and checks in its own thread for `seconds` (or until `until()`).

    Bounded twice: at most `max_steps` adds per shopper, and the time limit.
    """
    start = time.monotonic()
    deadline = start + seconds

    def done() -> bool:
        return time.monotonic() >= deadline or (until is not None and until())

    def loop(shopper: Shopper) -> None:
        for step in range(1, max_steps + 1):
            if done():
                break
            shopper.add()
            if step % check_every == 0:
                shopper.check()
            time.sleep(0.02)  # a shopper's think time between two clicks

    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in shoppers]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        progress(min((time.monotonic() - start) / seconds, 0.99))
        for thread in threads:
            thread.join(timeout=0.5)
            break
    for thread in threads:
        thread.join(timeout=TIMEOUT + 5)
    progress(1.0)


def totals(shoppers: list[Shopper], names: Sequence[str] | None = None) -> dict[str, int]:
    """Sums over shoppers, after a last check of every cart against its record.

    `names` picks the figures a scenario reports, in its order; all of them by default.
    """
    for shopper in shoppers:
        shopper.check()
    figures = {
        "requests": sum(s.sent for s in shoppers),
        "failed": sum(s.failed for s in shoppers),
        "server_errors": sum(s.server_errors for s in shoppers),
        "refused_401": sum(s.refused_401 for s in shoppers),
        "carts_lost": sum(s.carts_lost > 0 for s in shoppers),
        "moved": sum(s.moved for s in shoppers),
        "moved_survived": sum(s.moved and s.carts_lost == 0 for s in shoppers),
    }
    return figures if names is None else {name: figures[name] for name in names}
