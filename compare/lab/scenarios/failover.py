"""`lab failover`: the Redis primary is killed under load; Sentinel promotes the replica.

Two shop instances keep their web sessions in Redis, reached through three
Sentinels, behind HAProxy in round robin (compare/lab/fleet.py); web shoppers
and API shoppers add to their carts through the balancer, so each visitor's
requests reach both instances in turn. A third of the way into the run the primary gets SIGKILL.
Each shopper records every change and what the server answered; afterwards the
history checker (compare/lab/history.py) compares each cart with its record.

Replication is asynchronous, as Redis ships: the primary acknowledges a write
before the replica has it, so a change acknowledged just before the kill can be
lost on promotion. The API never talks to Redis (its cart is in the token, and
CART_TOKEN_REVOCATION is "none" as shipped): its errors and lost changes are
expected to be 0. With the Redis denylist every API request would ask Redis too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

from compare.lab.fleet import cart_on_page, start_fleet
from compare.lab.history import FAILED, OK, UNKNOWN, Change, History, check
from compare.lab.results import Point, RunContext, channel_name, shown
from compare.lab.scenarios import LabScenario
from compare.lab.topology import SENTINEL_SERVICE, Lab, Redis

NAME = "failover"
TIMEOUT_S = 5  # per request: a shopper waits no longer for an answer
MAX_CHANGES = 2000  # per shopper: the load loop ends at this count or at the deadline
PROMOTION_WAIT_S = 30

WEB_OK = "Added 1 ×"
WEB_REFUSED = ("cannot be reached", "being changed by another request")

NOTES = (
    "replication is asynchronous as shipped: the primary acknowledges a session write "
    "before the replica has it, so a change acknowledged in the moment before the kill can "
    "be lost when the replica is promoted (lost_acknowledged)",
    "min-replicas-to-write 1 with min-replicas-max-lag N would make the primary refuse "
    "writes while no replica is within N s: the loss window shrinks to N s and those "
    "changes get the shop's 'cannot be reached' instead of a silent loss; WAIT 1 <ms> after "
    "each session write would make an acknowledgement mean 'on the replica too', at one "
    "more round trip per change (still not a guarantee in every failover)",
)


@dataclass
class Shopper:
    """One visitor or API client; its history records every change it tried."""

    name: str
    channel: str
    urls: list[str]
    products: list[int]
    csrf_page: str  # a page with a form, which sets the CSRF cookie
    history: History = field(init=False)
    http: requests.Session = field(default_factory=requests.Session)
    token: str = ""
    turn: int = 0

    def __post_init__(self) -> None:
        self.history = History(self.name)

    def url(self, path: str) -> str:
        """Each request to the next instance, as a round-robin balancer would."""
        self.turn += 1
        return self.urls[self.turn % len(self.urls)] + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            answer = self.http.request(method, self.url(path), timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException:
            return None
        if answer.status_code >= 500:
            self.history.server_errors += 1
        return answer

    # --- the channel's own change and read --------------------------------------

    def start(self) -> None:
        if self.channel == "api":
            answer = self.request("POST", "/api/cart/")
            if answer is None or answer.status_code != 201:
                raise RuntimeError(f"{self.name}: could not start an API cart")
            self.token = answer.json()["token"]
        else:
            self.request("GET", self.csrf_page)
            if not self.http.cookies.get("csrftoken"):
                raise RuntimeError(f"{self.name}: {self.csrf_page} set no CSRF cookie")

    def change(self, product_id: int) -> Change:
        started = time.monotonic()
        if self.channel == "api":
            outcome, status = self._api_add(product_id)
        else:
            outcome, status = self._web_add(product_id)
        return Change(product_id, started, time.monotonic(), outcome, status)

    def _api_add(self, product_id: int) -> tuple[str, int | None]:
        answer = self.request(
            "POST",
            "/api/cart/items/",
            json={"product_id": product_id, "quantity": 1},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        if answer is None or answer.status_code >= 500:
            return UNKNOWN, answer.status_code if answer is not None else None
        if answer.status_code == 200:
            self.token = answer.json()["token"]
            return OK, 200
        return FAILED, answer.status_code

    def _web_add(self, product_id: int) -> tuple[str, int | None]:
        csrf = self.http.cookies.get("csrftoken", "")
        answer = self.request(
            "POST",
            "/cart/add/",
            data={
                "product_id": product_id,
                "quantity": 1,
                "next": "/cart/",
                "csrfmiddlewaretoken": csrf,
            },
            headers={"X-CSRFToken": csrf},
        )
        if answer is None or answer.status_code >= 500:
            return UNKNOWN, answer.status_code if answer is not None else None
        page = answer.text
        if WEB_OK in page:
            return OK, answer.status_code
        if any(text in page for text in WEB_REFUSED):
            return FAILED, answer.status_code
        return UNKNOWN, answer.status_code

    def read_cart(self) -> dict[int, int] | None:
        if self.channel == "api":
            answer = self.request(
                "GET", "/api/cart/", headers={"Authorization": f"Bearer {self.token}"}
            )
            if answer is None or answer.status_code != 200:
                return None
            return {i["product_id"]: i["quantity"] for i in answer.json()["cart"]["items"]}
        answer = self.request("GET", "/cart/")
        if answer is None or answer.status_code != 200 or "not answering" in answer.text:
            return None
        return cart_on_page(answer.text)

    def shop(self, deadline: float) -> None:
        """Add one unit at a time, product after product, until the deadline or MAX_CHANGES."""
        for count in range(MAX_CHANGES):
            if time.monotonic() >= deadline:
                break
            self.history.record(self.change(self.products[count % len(self.products)]))


def current_primary(sentinels: list[Redis]) -> tuple[str, int] | None:
    for sentinel in sentinels:
        try:
            host, port = sentinel.client().execute_command(
                "SENTINEL", "get-master-addr-by-name", SENTINEL_SERVICE
            )
            return host.decode(), int(port)
        except Exception:  # noqa: S112 - ask the next Sentinel
            continue
    return None


def run(lab: Lab, ctx: RunContext) -> list[Point]:
    ctx.say("Starting PostgreSQL, a Redis primary and its replica, and three Sentinels ...")
    database = lab.postgres()
    primary = lab.redis("redis-primary")
    lab.redis("redis-replica", replica_of=primary)
    sentinels = lab.sentinels(primary, count=3)
    ctx.say("Migrating and seeding the lab's database ...")
    stage = lab.prepare_shop(database)
    rows = stage.db.query("SELECT id, slug FROM shop_product WHERE active ORDER BY id")
    products = [row[0] for row in rows]
    csrf_page = f"/products/{rows[0][1]}/"
    ctx.say("Starting two shop instances with their sessions in Redis, through Sentinel ...")
    env = lab.shop_env(store="cache", sentinels=sentinels)
    fleet = start_fleet(lab, "shop", env, count=2, mode="round-robin", workers=2)
    urls = [fleet.url]
    ctx.say(f"Shoppers go through HAProxy ({fleet.url}), round robin over two instances")

    per_channel = max(1, ctx.users // 2)
    shoppers = [
        Shopper(f"{channel}-{index}", channel, urls, products[index:] + products[:index], csrf_page)
        for channel in ("web", "api")
        for index in range(per_channel)
    ]
    for shopper in shoppers:
        shopper.start()

    seconds = max(ctx.seconds, 6)
    started = time.monotonic()
    deadline = started + seconds
    threads = [threading.Thread(target=s.shop, args=(deadline,), daemon=True) for s in shoppers]
    for thread in threads:
        thread.start()
    show = ctx.progress(f"{len(shoppers)} shoppers for {seconds} s; SIGKILL at {seconds / 3:.0f} s")
    killed_at = promoted_at = None
    old = primary.address
    while time.monotonic() < deadline + TIMEOUT_S + 1 and any(t.is_alive() for t in threads):
        now = time.monotonic()
        if killed_at is None and now - started >= seconds / 3:
            primary.process.kill()
            killed_at = now
        if killed_at is not None and promoted_at is None:
            address = current_primary(sentinels)
            if address is not None and address != old:
                promoted_at = time.monotonic()
        show(min(1.0, (now - started) / seconds))
        time.sleep(0.1)
    show(1.0)
    for thread in threads:
        thread.join(timeout=TIMEOUT_S + 1)

    while promoted_at is None and time.monotonic() - killed_at < PROMOTION_WAIT_S:
        address = current_primary(sentinels)
        if address is not None and address != old:
            promoted_at = time.monotonic()
        time.sleep(0.2)
    promoted_after = round(promoted_at - killed_at, 2) if promoted_at else None
    if promoted_at is None:
        ctx.note(f"Sentinel did not promote the replica within {PROMOTION_WAIT_S} s")
    else:
        ctx.say(f"  Sentinel promoted the replica {promoted_after} s after the kill")

    for shopper in shoppers:
        shopper.history.final = shopper.read_cart()
    for line in NOTES:
        ctx.note(line)

    points = []
    for channel, store in (("web", "redis"), ("api", None)):
        verdict = check(s.history for s in shoppers if s.channel == channel)
        points.append(
            Point(
                NAME,
                channel,
                store,
                {
                    "shoppers": per_channel,
                    "changes": verdict.changes,
                    "unavailable_s": verdict.unavailable_s,
                    "acknowledged": verdict.acknowledged,
                    "lost_acknowledged": verdict.lost_acknowledged,
                    "carts_lost": verdict.carts_lost,
                    "errors": verdict.errors,
                    "server_errors": verdict.server_errors,
                    "unclear_errors": verdict.unclear,
                    "kept_unacknowledged": verdict.not_acknowledged_but_kept,
                    "promoted_after_s": promoted_after,
                    "killed_at_s": round(killed_at - started, 2) if killed_at else None,
                    "via": "direct, alternating",
                },
            )
        )
    return points


def summary(points) -> str:
    """Per channel: how long changes failed, and what was lost of what was acknowledged."""
    return "; ".join(
        f"{channel_name(p)}: changes failed for {shown(p.figures.get('unavailable_s'), ' s')}, "
        f"{shown(p.figures.get('lost_acknowledged'))} of {shown(p.figures.get('acknowledged'))} "
        f"acknowledged changes lost, {shown(p.figures.get('carts_lost'))} carts lost, "
        f"{shown(p.figures.get('server_errors'))} answers of 5xx"
        for p in points
    )


SCENARIO = LabScenario(
    name=NAME,
    help="web and API shoppers while the Redis primary is killed and Sentinel promotes",
    run=run,
    columns=(
        "changes",
        "unavailable_s",
        "acknowledged",
        "lost_acknowledged",
        "carts_lost",
        "errors",
        "server_errors",
        "unclear_errors",
        "promoted_after_s",
    ),
    chart=("unavailable_s", "s"),
    speaks_to="resilience",
    summary=summary,
)
