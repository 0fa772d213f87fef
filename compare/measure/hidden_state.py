"""What the stateless channel still keeps: ending tokens, replay guards, forked carts, staleness.

Each part starts its own server(s) on the throwaway database and stops them at
its end, whatever happens:

- `revocation`: for each CART_TOKEN_REVOCATION mode, logged-in API add-to-cart
  under the same load as the other benchmarks (ratio to the bare view), the
  lookups a request makes (counted by the store, read from each answer's
  Server-Timing), the bytes kept per revoked token and in total, the time from a
  logout to the first 401 of a copied token, and the denylist's size once its
  entries have expired;
- `drills`: the forked cart (N copies of one token changed apart, then both
  checked out: how many changes end up in no order), the replay guard (a spent
  cart replayed, then replayed again after its spent id and idempotency key are
  deleted), and staleness (a deactivated user, a withdrawn or repriced product).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus

import requests

from .clients import TIMEOUT, Product
from .drills import REFUSED, DrillOutcome, failed_drill
from .load import Scenario, ScenarioResult, run_scenario
from .servers import Server, serve
from .stage import Stage

MODES = ("none", "denylist", "user-version", "short-ttl")
API_ADD_LOGGED_IN = Scenario(
    "api_add_login",
    "api",
    "API add-to-cart, logged in",
    "ApiShopper",
    ("api: add to cart",),
    ("add",),
)
CUSTOMER = {"name": "Drill Shopper", "email": "drill@example.com", "address": "1 Drill Street"}
LOOKUPS_RE = re.compile(r'revocation;dur=[0-9.]+;desc="(\d+) lookups?"')
REVOKED_SAMPLE = 20  # logouts whose server state is measured
SHORT_TTL = 2  # seconds, for the revoke-to-401 and expiry figures of short-lived tokens
SHORT_LIVED = {"CART_TOKEN_TTL": str(SHORT_TTL), "CART_TOKEN_LEEWAY": "0"}


@dataclass
class ModeFigures:
    mode: str
    rps: float = 0.0
    p99_ms: float = 0.0
    ratio: float | None = None
    p99_ratio: float | None = None
    failures: int = 0
    lookups_logged_in: float = 0.0
    lookups_anonymous: float = 0.0
    revoked: int = 0
    state_entries: int = 0
    state_bytes: int = 0
    seconds_to_401: float | None = None
    to_401: str = ""
    entries_after_expiry: int | None = None
    error: str = ""

    @property
    def bytes_per_revoked(self) -> float | None:
        return self.state_bytes / self.revoked if self.revoked else None


@dataclass
class KeptItem:
    """One piece of server state the API keeps, with its size and what it buys."""

    item: str
    where: str
    rows: int
    bytes: int
    lookups: str
    retention: str
    buys: str


@dataclass
class Api:
    """A minimal API client for the drills: every call returns (status, body)."""

    url: str
    statuses: list[int] = field(default_factory=list)

    def call(self, method: str, path: str, *, token: str = "", body=None, headers=None):
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        sent.update(headers or {})
        answer = requests.request(method, self.url + path, json=body, headers=sent, timeout=TIMEOUT)
        self.statuses.append(answer.status_code)
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return answer, data

    def cart_with(self, products: list[Product], *, token: str = "") -> str:
        _, data = self.call("POST", "/api/cart/", token=token)
        token = data["token"]
        for product in products:
            _, data = self.call(
                "POST", "/api/cart/items/", token=token, body={"product_id": product.id}
            )
            token = data["token"]
        return token

    def login(self, token: str, username: str, password: str) -> str:
        answer, data = self.call(
            "POST",
            "/api/auth/token/",
            token=token,
            body={"username": username, "password": password},
        )
        if answer.status_code != HTTPStatus.OK:
            raise RuntimeError(f"login failed: {answer.status_code} {answer.text[:200]}")
        return data["token"]

    @property
    def server_errors(self) -> list[int]:
        return [s for s in self.statuses if s >= 500]


class HiddenState:
    def __init__(
        self,
        stage: Stage,
        products: list[Product],
        *,
        seconds: int,
        users: int,
        workers: int,
        log: Callable[[str], None],
        products_file=None,
        progress=None,
    ) -> None:
        self.stage = stage
        self.products = products
        self.seconds, self.users, self.workers = seconds, users, workers
        self.log = log
        self.products_file = products_file
        self.progress = progress or (lambda label, seconds: None)
        self.username = f"hidden-state-{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(16)
        self._user_created = False

    # --- set-up ----------------------------------------------------------------

    def ensure_user(self) -> None:
        if self._user_created:
            return
        code = (
            "from django.contrib.auth import get_user_model as g; "
            f"g().objects.create_user({self.username!r}, password={self.password!r})"
        )
        self.stage.manage("shell", "-c", code)
        self._user_created = True

    def env(self, mode: str, **extra: str) -> dict[str, str]:
        env = self.stage.env(store="db", redis=bool(self.stage.redis_url))
        env.update(
            CART_TOKEN_REVOCATION=mode,
            API_LOGIN_THROTTLE="100000/min",  # the load logs in once per simulated user
            **extra,
        )
        return env

    def server(self, mode: str, name: str, **extra: str):
        return serve(
            "shop",
            env=self.env(mode, **extra),
            workers=self.workers,
            name=name,
            log_dir=self.stage.log_dir,
        )

    # --- revocation, per mode -------------------------------------------------------

    def revocation(self, baseline: ScenarioResult) -> list[ModeFigures]:
        self.ensure_user()
        figures = []
        for mode in MODES:
            self.clear_revocation_state()
            result = ModeFigures(mode=mode)
            try:
                with self.server(mode, f"revocation-{mode}") as server:
                    self.load(server, result, baseline)
                    self.lookups(server, result)
                    self.revoke_sample(server, result)
                    if mode != "short-ttl":
                        self.time_to_401(server, result)
                if mode == "short-ttl":
                    with self.server(mode, "revocation-short", **SHORT_LIVED) as server:
                        self.time_to_401(server, result, limit=SHORT_TTL + 8)
                if mode == "denylist":
                    self.expiry(result)
            except Exception as error:  # reported, never a crash of the command
                result.error = f"{type(error).__name__}: {error}"[:300]
            self.log(self.describe(result))
            figures.append(result)
        return figures

    def load(self, server: Server, result: ModeFigures, baseline: ScenarioResult) -> None:
        label = f"{API_ADD_LOGGED_IN.title} ({result.mode})"
        measured = run_scenario(
            API_ADD_LOGGED_IN,
            server,
            store=result.mode,
            seconds=self.seconds,
            users=self.users,
            work_dir=self.stage.tmp,
            products_file=self.products_file,
            progress=self.progress(label, self.seconds),
            env={"LOAD_API_TOKEN": self.logged_in_cart(server)},
        )
        result.rps, result.p99_ms, result.failures = (
            measured.rps,
            measured.p99_ms,
            measured.failures,
        )
        if baseline.rps:
            result.ratio = measured.rps / baseline.rps
        if baseline.p99_ms:
            result.p99_ratio = measured.p99_ms / baseline.p99_ms

    def logged_in_cart(self, server: Server) -> str:
        """A logged-in cart of two lines: logging in once, outside the measured load."""
        api = Api(server.url)
        return api.login(api.cart_with(self.products[:2]), self.username, self.password)

    def lookups(self, server: Server, result: ModeFigures, samples: int = 20) -> None:
        api = Api(server.url)
        anonymous = api.cart_with(self.products[:1])
        logged_in = api.login(api.cart_with(self.products[:1]), self.username, self.password)
        for token, attribute in (
            (anonymous, "lookups_anonymous"),
            (logged_in, "lookups_logged_in"),
        ):
            total = 0
            for _ in range(samples):
                answer, _ = api.call("GET", "/api/cart/", token=token)
                match = LOOKUPS_RE.search(answer.headers.get("Server-Timing", ""))
                total += int(match.group(1)) if match else 0
            setattr(result, attribute, total / samples)

    def revoke_sample(self, server: Server, result: ModeFigures) -> None:
        api = Api(server.url)
        for _ in range(REVOKED_SAMPLE):
            token = api.login(api.cart_with(self.products[:1]), self.username, self.password)
            answer, body = api.call("POST", "/api/auth/logout/", token=token)
            if answer.status_code != HTTPStatus.OK:
                raise RuntimeError(f"logout answered {answer.status_code}: {answer.text[:200]}")
            if body.get("ended") != "nothing":
                result.revoked += 1
        result.state_entries, result.state_bytes = self.revocation_state()

    def time_to_401(self, server: Server, result: ModeFigures, *, limit: float = 3.0) -> None:
        api = Api(server.url)
        token = api.login(api.cart_with(self.products[:1]), self.username, self.password)
        copy = token
        api.call("POST", "/api/auth/logout/", token=token)
        started = time.monotonic()
        while time.monotonic() - started < limit:
            answer, body = api.call("GET", "/api/cart/", token=copy)
            if answer.status_code == HTTPStatus.UNAUTHORIZED:
                result.seconds_to_401 = time.monotonic() - started
                result.to_401 = f"{result.seconds_to_401 * 1000:,.0f} ms (401 {body.get('code')})"
                return
            time.sleep(0.05)
        result.to_401 = f"still accepted after {limit:.0f} s (works until its exp)"

    def expiry(self, result: ModeFigures) -> None:
        """Denylist entries of short-lived tokens, counted again once those have expired."""
        self.clear_revocation_state()
        with self.server("denylist", "denylist-expiry", **SHORT_LIVED) as server:
            api = Api(server.url)
            for _ in range(REVOKED_SAMPLE):
                api.call("POST", "/api/auth/logout/", token=api.cart_with([]))
            time.sleep(SHORT_TTL + 1.5)  # the entries' own expiry, not a stand-in for work
            if not self.stage.redis_url:  # the table deletes past entries on the next revoke
                api.call("POST", "/api/auth/logout/", token=api.cart_with([]))
            result.entries_after_expiry = self.revocation_state()[0]

    # --- server state of revocation ---------------------------------------------------

    def revocation_state(self) -> tuple[int, int]:
        """(entries, bytes) of the denylist and the login versions, as their stores hold them."""
        entries = size = 0
        if self.stage.redis_url:
            client = self.stage.redis()
            for key in client.scan_iter(match=f"{self.stage.redis_prefix}:*revoked-cart:*"):
                entries += 1
                size += client.memory_usage(key) or 0
        for table, length in (
            ("api_revokedcart", "LENGTH(cid) + 16"),
            ("api_loginversion", "16"),
        ):
            count, total = self.stage.db.query(
                f"SELECT COUNT(*), COALESCE(SUM({length}), 0) FROM {table}"  # noqa: S608
            )[0]
            entries += int(count)
            size += int(total)
        return entries, size

    def clear_revocation_state(self) -> None:
        self.stage.db.execute("DELETE FROM api_revokedcart")
        self.stage.db.execute("DELETE FROM api_loginversion")
        if self.stage.redis_url:
            client = self.stage.redis()
            keys = list(client.scan_iter(match=f"{self.stage.redis_prefix}:*revoked-cart:*"))
            if keys:
                client.delete(*keys)

    def describe(self, r: ModeFigures) -> str:
        if r.error:
            return f"{r.mode:<13} FAILED: {r.error}"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        p99 = f"{r.p99_ratio:.2f}x" if r.p99_ratio is not None else "-"
        per = f"{r.bytes_per_revoked:.0f}" if r.bytes_per_revoked is not None else "-"
        return (
            f"{r.mode:<13} {r.rps:6.0f} req/s ({ratio}), p99 {r.p99_ms:.1f} ms ({p99}), "
            f"{r.failures} failures; "
            f"lookups/request {r.lookups_logged_in:.1f} logged in, {r.lookups_anonymous:.1f} "
            f"anonymous; {r.revoked} of {REVOKED_SAMPLE} logouts ended something, "
            f"{r.state_bytes} bytes kept ({per} per revoked token); revoke to 401: {r.to_401}"
            + (
                f"; entries after expiry: {r.entries_after_expiry}"
                if r.entries_after_expiry is not None
                else ""
            )
        )

    # --- drills -------------------------------------------------------------------------

    def drills(self, *, pairs: int = 10) -> tuple[list[DrillOutcome], list[KeptItem]]:
        self.ensure_user()
        outcomes: list[DrillOutcome] = []
        kept: list[KeptItem] = []
        with self.server("none", "hidden-state-drills") as server:
            for drill in (
                lambda: [self.fork(server, pairs)],
                lambda: self.replay(server, kept),
                lambda: self.staleness(server),
            ):
                try:
                    outcomes += drill()
                except Exception as error:  # a broken drill is a FAIL
                    outcomes.append(failed_drill("hidden_state", "api", "", "-", error))
        return outcomes, kept

    def fork(self, server: Server, pairs: int) -> DrillOutcome:
        """Two copies of one token each change the cart, then both check out."""
        api = Api(server.url)
        changes = in_orders = 0
        a, b = self.products[0], self.products[1]
        for _ in range(pairs):
            shared = api.cart_with(self.products[2:3])
            _, first = api.call("POST", "/api/cart/items/", token=shared, body={"product_id": a.id})
            _, second = api.call(
                "POST", "/api/cart/items/", token=shared, body={"product_id": b.id}
            )
            changes += 2
            for data, product in ((first, a), (second, b)):
                answer, body = api.call(
                    "POST", "/api/checkout/", token=data["token"], body=CUSTOMER
                )
                if answer.status_code == HTTPStatus.CREATED and any(
                    line.get("product_id") == product.id for line in body["order"].get("lines", [])
                ):
                    in_orders += 1
        lost = changes - in_orders
        return DrillOutcome(
            drill="forked_cart",
            channel="api",
            store="",
            expected=f"{pairs} of {changes} changes in no order",
            observed=f"{lost} of {changes} changes in no order",
            kept=f"{in_orders} changes ordered",
            lost=f"{lost} changes",
            details=(
                f"{pairs} tokens each copied to two clients; each copy added a different "
                "product (both answers valid), then both checked out: the first order spends "
                "the cart id, the second gets 409 cart_already_ordered. The web shop's lock "
                "keeps every simultaneous change of one session (concurrent_adds)"
            ),
            server_errors=api.server_errors,
        )

    def replay(self, server: Server, kept: list[KeptItem]) -> list[DrillOutcome]:
        """A spent cart replayed: refused while its id is kept; a second order once it is not."""
        api = Api(server.url)
        token = api.cart_with(self.products[:1])
        key = {"Idempotency-Key": f"drill-{secrets.token_hex(4)}"}
        first, _ = api.call("POST", "/api/checkout/", token=token, body=CUSTOMER, headers=key)
        retry, _ = api.call("POST", "/api/checkout/", token=token, body=CUSTOMER, headers=key)
        replay, body = api.call("POST", "/api/checkout/", token=token, body=CUSTOMER)
        guarded = (
            f"refused ({replay.status_code} {body.get('code')})"
            if replay.status_code == HTTPStatus.CONFLICT
            else f"answered {replay.status_code}"
        )
        kept += self.kept_state(server)  # measured before the drill deletes it
        cleared = self.stage.db.query(
            "SELECT COUNT(*) FROM shop_order WHERE cart_id IS NOT NULL AND channel = 'api'"
        )[0][0]
        self.stage.db.execute(
            "UPDATE shop_order SET cart_id = NULL, idempotency_key = '' WHERE channel = 'api'"
        )
        again, _ = api.call("POST", "/api/checkout/", token=token, body=CUSTOMER)
        second = (
            "a second order of the same cart"
            if again.status_code == HTTPStatus.CREATED
            else f"answered {again.status_code}"
        )
        return [
            DrillOutcome(
                drill="replay",
                channel="api",
                store="spent ids kept",
                expected="refused (409 cart_already_ordered)",
                observed=guarded,
                kept=f"first checkout {first.status_code}, retry with its key {retry.status_code}",
                details="a spent token replayed without its Idempotency-Key; a retry with "
                "the key gets the same order back (200)",
                server_errors=api.server_errors,
            ),
            DrillOutcome(
                drill="replay",
                channel="api",
                store="spent ids deleted",
                expected="a second order of the same cart",
                observed=second,
                lost=f"{cleared} spent cart ids and their idempotency keys",
                details="the spent cart ids and idempotency keys deleted (what losing that "
                "state does), then the same token replayed: nothing else stops it",
                server_errors=api.server_errors,
            ),
        ]

    def staleness(self, server: Server) -> list[DrillOutcome]:
        api = Api(server.url)
        outcomes = []
        token = api.login(api.cart_with(self.products[:1]), self.username, self.password)
        self.stage.db.execute(
            "UPDATE auth_user SET is_active = %s WHERE username = %s", (False, self.username)
        )
        try:
            answer, body = api.call("GET", "/api/orders/", token=token)
        finally:
            self.stage.db.execute(
                "UPDATE auth_user SET is_active = %s WHERE username = %s", (True, self.username)
            )
        outcomes.append(
            DrillOutcome(
                drill="stale_claims",
                channel="api",
                store="deactivated sub",
                expected=REFUSED,
                observed=REFUSED
                if answer.status_code == HTTPStatus.UNAUTHORIZED
                else f"answered {answer.status_code}",
                details=f"the token's user deactivated, then its orders asked for: "
                f"{answer.status_code} {body.get('code', '')}",
                server_errors=api.server_errors,
            )
        )
        withdrawn, repriced = self.products[-1], self.products[-2]
        token = api.cart_with([withdrawn, repriced])
        (price,) = self.stage.db.query(
            "SELECT price FROM shop_product WHERE id = %s", (repriced.id,)
        )[0]
        new_price = str((Decimal(str(price)) * 2).quantize(Decimal("0.01")))
        self.stage.db.execute(
            "UPDATE shop_product SET active = %s WHERE id = %s", (False, withdrawn.id)
        )
        self.stage.db.execute(
            "UPDATE shop_product SET price = %s WHERE id = %s", (new_price, repriced.id)
        )
        try:
            _, body = api.call("GET", "/api/cart/", token=token)
            checkout, conflict = api.call("POST", "/api/checkout/", token=token, body=CUSTOMER)
        finally:
            self.stage.db.execute(
                "UPDATE shop_product SET active = %s WHERE id = %s", (True, withdrawn.id)
            )
            self.stage.db.execute(
                "UPDATE shop_product SET price = %s WHERE id = %s", (str(price), repriced.id)
            )
        items = {item["product_id"]: item for item in body.get("cart", {}).get("items", [])}
        codes = [n["code"] for n in body.get("cart", {}).get("notices", [])]
        outcomes.append(
            DrillOutcome(
                drill="stale_claims",
                channel="api",
                store="withdrawn product",
                expected="dropped with a notice",
                observed="dropped with a notice"
                if withdrawn.id not in items and "unavailable" in codes
                else "kept",
                details=f"the cart answer dropped it (notice {codes}); checkout of the old "
                f"token: {checkout.status_code} {conflict.get('code', '')}",
                server_errors=api.server_errors,
            )
        )
        shown = items.get(repriced.id, {}).get("unit_price")
        outcomes.append(
            DrillOutcome(
                drill="stale_claims",
                channel="api",
                store="repriced product",
                expected="new price shown",
                observed="new price shown" if shown == new_price else f"showed {shown}",
                details=f"price changed from {price} to {new_price} after the token was "
                "issued: the token carries no price (0 bytes), every answer prices live",
                server_errors=api.server_errors,
            )
        )
        return outcomes

    # --- what the API keeps ---------------------------------------------------------------

    def kept_state(self, server: Server) -> list[KeptItem]:
        db = self.stage.db
        orders, cid_bytes, key_rows, key_bytes = db.query(
            "SELECT COUNT(cart_id), COALESCE(SUM(LENGTH(cart_id)), 0), "
            "COUNT(NULLIF(idempotency_key, '')), COALESCE(SUM(LENGTH(idempotency_key)), 0) "
            "FROM shop_order WHERE channel = 'api'"
        )[0]
        accounts, account_bytes = db.query(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(lines AS TEXT))), 0) FROM shop_accountcart"
        )[0]
        throttle_keys = throttle_bytes = 0
        if self.stage.redis_url:
            client = self.stage.redis()
            for key in client.scan_iter(match=f"{self.stage.redis_prefix}:*throttle_login*"):
                throttle_keys += 1
                throttle_bytes += client.memory_usage(key) or 0
        return [
            KeptItem(
                "spent cart ids",
                "shop_order.cart_id (unique)",
                int(orders),
                int(cid_bytes),
                "0 per cart request; 1 unique-index check per checkout",
                "as long as the order (a token of the cart lives up to CART_TOKEN_MAX_AGE)",
                "a cart is ordered once, whichever of its tokens is replayed (replay drill)",
            ),
            KeptItem(
                "idempotency keys",
                "shop_order.idempotency_key",
                int(key_rows),
                int(key_bytes),
                "0 per cart request; read with the spent id on a conflicting checkout",
                "as long as the order",
                "a retried checkout gets its order back instead of a 409",
            ),
            KeptItem(
                "login throttle counters",
                "the cache (Redis when REDIS_URL is set, else per process)",
                throttle_keys,
                int(throttle_bytes),
                "1 per login attempt",
                "the throttle's window (a minute)",
                "password guessing limited per client address",
            ),
            KeptItem(
                "account carts",
                "shop_accountcart (one row per account)",
                int(accounts),
                int(account_bytes),
                "1 per login, 1-2 writes per logout",
                "until the next login, or set aside after CART_ACCOUNT_CART_MAX_AGE",
                "a cart that follows its account across devices and channels",
            ),
        ]


def render(figures: list[ModeFigures], outcomes: list[DrillOutcome], kept: list[KeptItem]) -> str:
    """The report's section on the API's hidden state."""
    from .report import table

    lines = ["", "What the stateless channel still keeps"]
    if figures:
        rows = []
        for r in figures:
            per = f"{r.bytes_per_revoked:.0f}" if r.bytes_per_revoked is not None else "-"
            if r.mode == "user-version" and r.revoked:
                per = f"{r.state_bytes} per user"  # one counter, however many tokens it ends
            rows.append(
                [
                    r.mode,
                    f"{r.rps:,.0f}" if not r.error else "FAILED",
                    f"{r.ratio:.2f}x" if r.ratio is not None else "-",
                    f"{r.p99_ratio:.2f}x" if r.p99_ratio is not None else "-",
                    f"{r.lookups_logged_in:.1f} / {r.lookups_anonymous:.1f}",
                    per,
                    f"{r.state_bytes} ({r.state_entries})",
                    r.to_401 or r.error[:60],
                    "-" if r.entries_after_expiry is None else str(r.entries_after_expiry),
                ]
            )
        lines += [
            "Revocation modes (API add-to-cart with a logged-in token; ratios to the bare view)",
            table(
                [
                    "mode",
                    "req/s",
                    "ratio",
                    "p99 ratio",
                    "lookups/req (login/anon)",
                    "bytes/revoked",
                    "bytes kept (entries)",
                    "revoke to first 401",
                    "entries after expiry",
                ],
                rows,
                right={1, 2, 3, 5},
            ),
        ]
    if kept:
        lines += [
            "",
            "Replay and idempotency state, and the rest the API keeps",
            table(
                ["item", "where", "rows", "bytes", "lookups", "kept for", "buys"],
                [
                    [k.item, k.where, str(k.rows), str(k.bytes), k.lookups, k.retention, k.buys]
                    for k in kept
                ],
                right={2, 3},
            ),
        ]
    lines.append(
        "  The forked_cart, replay and stale_claims drills are in the drill table above; the "
        "web shop's counterpart of the fork is concurrent_adds."
    )
    return "\n".join(lines) + "\n"


def as_json(figures: list[ModeFigures], kept: list[KeptItem]) -> dict:
    """What /admin/compare/ shows: saved in the run's environment under "hidden_state"."""
    return {
        "modes": [
            {
                "mode": r.mode,
                "rps": round(r.rps, 1),
                "ratio": r.ratio,
                "p99_ms": r.p99_ms,
                "p99_ratio": r.p99_ratio,
                "lookups_logged_in": r.lookups_logged_in,
                "lookups_anonymous": r.lookups_anonymous,
                "revoked": r.revoked,
                "state_bytes": r.state_bytes,
                "bytes_per_revoked": r.bytes_per_revoked,
                "to_401": r.to_401,
                "seconds_to_401": r.seconds_to_401,
                "entries_after_expiry": r.entries_after_expiry,
                "error": r.error,
            }
            for r in figures
        ],
        "kept": [k.__dict__ for k in kept],
    }
