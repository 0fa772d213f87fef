"""Fault drills: what a crash, a lost session store, a second instance or a key change does.

Each drill starts its own servers, builds carts on both channels, applies one
failure, looks at the carts again and stops every process it started, whatever
happens. Its verdict compares what was observed with what the design predicts.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

from shop import stores

from .clients import ApiScript, Product, WebVisitor, token_kid
from .servers import Server
from .stage import Stage, new_key

KEPT, LOST, PARTLY_LOST = "kept", "lost", "partly lost"
WORKS, BREAKS = "works", "breaks"
REFUSED = "refused with 401"


@dataclass
class DrillOutcome:
    drill: str
    channel: str
    store: str
    expected: str
    observed: str
    kept: str = ""
    lost: str = ""
    details: str = ""
    server_errors: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return verdict(expected=self.expected, observed=self.observed, errors=self.server_errors)


def verdict(*, expected: str, observed: str, errors: list[int]) -> bool:
    """A drill passes when it went as the design predicts, with no 5xx on the way."""
    return observed == expected and not errors


def cart_outcome(before: list[Product], after: list[Product]) -> str:
    """kept (every line still there), lost (none) or partly lost."""
    if not before:
        raise ValueError("a drill must build a cart before the failure")
    remaining = set(after) & set(before)
    if remaining == set(before):
        return KEPT
    return LOST if not remaining else PARTLY_LOST


def describe(products: list[Product]) -> str:
    if not products:
        return "nothing"
    lines = "line" if len(products) == 1 else "lines"
    return f"{len(products)} {lines} ({', '.join(p.name for p in products)})"


def split(before: list[Product], after: list[Product]) -> tuple[str, str]:
    kept = [p for p in before if p in after]
    lost = [p for p in before if p not in after]
    return describe(kept), describe(lost)


def cart_drill(
    *,
    drill: str,
    channel: str,
    store: str,
    expected: str,
    before: list[Product],
    after: list[Product],
    details: str,
    server_errors: list[int],
    observed: str | None = None,
) -> DrillOutcome:
    """The outcome of a drill that compares a cart before and after a fault.

    `observed` defaults to what became of the cart (kept, lost or partly lost).
    """
    kept, lost = split(before, after)
    return DrillOutcome(
        drill=drill,
        channel=channel,
        store=store,
        expected=expected,
        observed=cart_outcome(before, after) if observed is None else observed,
        kept=kept,
        lost=lost,
        details=details,
        server_errors=list(server_errors),
    )


def failed_drill(drill: str, channel: str, store: str, expected: str, error: BaseException):
    return DrillOutcome(
        drill=drill,
        channel=channel,
        store=store,
        expected=expected,
        observed="error",
        details="".join(traceback.format_exception_only(error)).strip()[-600:],
    )


# The stores a drill can run on, labelled by shop/stores.py: redis and locmem are `cache`.
STORE_LABELS = {
    "db": stores.STORES["db"].label,
    "redis": stores.STORES["cache"].on(stores.REDIS).label,
    "locmem": stores.STORES["cache"].on(stores.LOCAL_MEMORY).label,
    "signed_cookies": stores.STORES["signed_cookies"].label,
}


class Drills:
    """Runs the drills on a stage; `log` receives one line per step."""

    def __init__(
        self,
        stage: Stage,
        products: list[Product],
        *,
        log: Callable[[str], None] = print,
        workers: int = 2,
    ) -> None:
        self.stage = stage
        self.products = products
        self.log = log
        self.workers = workers

    # --- servers --------------------------------------------------------------

    def store_env(self, store: str, **kwargs) -> dict[str, str]:
        """`store` is one of STORE_LABELS: redis and locmem are the `cache` engine."""
        if store == "redis":
            return self.stage.env(store="cache", redis=True, **kwargs)
        if store == "locmem":
            return self.stage.env(store="cache", redis=False, **kwargs)
        return self.stage.env(store=store, **kwargs)

    def workers_for(self, store: str) -> int:
        # Local memory is per process: with two workers, one instance would already
        # split a visitor's session between them, so each instance gets one worker.
        return 1 if store == "locmem" else self.workers

    @contextmanager
    def servers(self, *servers: Server) -> Iterator[tuple[Server, ...]]:
        try:
            for server in servers:
                server.start()
            yield servers
        finally:
            for server in servers:
                server.stop()

    def server(self, store: str, name: str, **env_kwargs) -> Server:
        return Server.for_app(
            "shop",
            env=self.store_env(store, **env_kwargs),
            workers=self.workers_for(store),
            name=name,
            log_dir=self.stage.log_dir,
        )

    def pick(self, n: int, offset: int = 0) -> list[Product]:
        return self.products[offset : offset + n]

    # --- the drills -------------------------------------------------------------

    def _for_each_store(
        self,
        drill: str,
        stores: list[str],
        expect: Callable[[str], str],
        run: Callable[[str, str, bool], list[DrillOutcome]],
    ) -> list[DrillOutcome]:
        """Run one drill per store; a drill that breaks is a FAIL outcome, not the end.

        `run(store, expected, with_api)` also checks the API channel for the first store.
        """
        outcomes = []
        for index, store in enumerate(stores):
            expected = expect(store)
            try:
                outcomes += run(store, expected, index == 0)
            except Exception as error:
                outcomes.append(failed_drill(drill, "web", STORE_LABELS[store], expected, error))
        return outcomes

    def restart(self, stores: list[str]) -> list[DrillOutcome]:
        """kill -9 the gunicorn master, start again: carts of each channel before and after."""
        return self._for_each_store(
            "restart",
            stores,
            lambda store: KEPT if store != "locmem" else LOST,
            lambda store, expected, with_api: self._restart(store, expected, with_api=with_api),
        )

    def _restart(self, store: str, expected: str, *, with_api: bool) -> list[DrillOutcome]:
        label = STORE_LABELS[store]
        wanted = self.pick(2)
        with self.servers(self.server(store, f"restart-{store}")) as (server,):
            web = WebVisitor(server.url)
            for product in wanted:
                web.add(product)
            _, web_before = web.cart(wanted)
            api = ApiScript(server.url)
            if with_api:
                api.new_cart()
                for product in wanted:
                    api.add(product)
                _, api_before = api.cart(wanted)
            self.log(
                f"restart/{label}: carts built; kill -9 of gunicorn master {server.process.pid}"
            )
            server.kill_master()
            server.start()
            status, web_after = web.cart(wanted)
            outcomes = []
            outcomes.append(
                cart_drill(
                    drill="restart",
                    channel="web",
                    store=label,
                    expected=expected,
                    before=web_before,
                    after=web_after,
                    details=f"cart page after the restart answered {status}",
                    server_errors=web.server_errors,
                )
            )
            if with_api:
                status, api_after = api.cart(wanted)
                outcomes.append(
                    cart_drill(
                        drill="restart",
                        channel="api",
                        store="",
                        expected=KEPT,
                        before=api_before,
                        after=api_after,
                        details=f"GET /api/cart/ with the old token answered {status}",
                        server_errors=api.server_errors,
                    )
                )
        return outcomes

    def store_lost(self, stores: list[str]) -> list[DrillOutcome]:
        """The session store loses everything: Redis keys deleted, or local memory restarted."""
        return self._for_each_store(
            "store_lost", stores, lambda store: LOST, lambda store, _e, _a: self._store_lost(store)
        )

    def _store_lost(self, store: str) -> list[DrillOutcome]:
        label = STORE_LABELS[store]
        wanted, later = self.pick(2), self.pick(1, offset=2)
        with self.servers(self.server(store, f"store-lost-{store}")) as (server,):
            web, api = WebVisitor(server.url), ApiScript(server.url)
            for product in wanted:
                web.add(product)
            api.new_cart()
            for product in wanted:
                api.add(product)
            _, web_before = web.cart(wanted)
            _, api_before = api.cart(wanted)
            if store == "redis":
                dropped = self.stage.drop_redis_keys()
                how = f"deleted this run's {dropped} Redis key(s) (as FLUSHDB would)"
            else:
                server.restart()
                how = "restarted the instance (local memory goes with its processes)"
            self.log(f"store_lost/{label}: {how}")
            status, web_after = web.cart(wanted)
            add_status = web.add(later[0])
            _, fresh = web.cart(later)
            fresh_ok = status == HTTPStatus.OK and add_status == HTTPStatus.FOUND and fresh
            observed = cart_outcome(web_before, web_after)
            web_outcome = cart_drill(
                drill="store_lost",
                channel="web",
                store=label,
                expected=LOST,
                observed=observed if fresh_ok else f"{observed}, no fresh cart",
                before=web_before,
                after=web_after,
                details=(
                    f"{how}; the returning visitor's cart page answered {status} with a "
                    f"fresh cart; adding again answered {add_status}"
                ),
                server_errors=web.server_errors,
            )
            status, api_after = api.cart(wanted)
            api_outcome = cart_drill(
                drill="store_lost",
                channel="api",
                store=label,
                expected=KEPT,
                before=api_before,
                after=api_after,
                details=f"{how}; GET /api/cart/ with the token answered {status}",
                server_errors=api.server_errors,
            )
        return [web_outcome, api_outcome]

    def two_instances(self, stores: list[str]) -> list[DrillOutcome]:
        """Two instances sharing the database; one client alternates between them."""
        return self._for_each_store(
            "two_instances",
            stores,
            lambda store: BREAKS if store == "locmem" else WORKS,
            lambda store, expected, with_api: self._two_instances(
                store, expected, with_api=with_api
            ),
        )

    def _two_instances(self, store: str, expected: str, *, with_api: bool) -> list[DrillOutcome]:
        label = STORE_LABELS[store]
        wanted = self.pick(3)
        one, two = self.server(store, f"two-a-{store}"), self.server(store, f"two-b-{store}")
        outcomes = []
        with self.servers(one, two):
            self.log(f"two_instances/{label}: instances on ports {one.port} and {two.port}")
            # Cookies are per host, not per port: one jar is a browser behind a load balancer.
            web = WebVisitor(one.url)
            for product, server in zip(wanted, (one, two, one), strict=True):
                web.base_url = server.url
                web.add(product)
            views = []
            for server in (two, one):
                web.base_url = server.url
                views.append(web.cart(wanted))
            shown = [
                f"port {s.port}: {describe(v[1])}" for s, v in zip((two, one), views, strict=True)
            ]
            worst = min((v[1] for v in views), key=len)
            works = all(v[0] == HTTPStatus.OK and set(v[1]) == set(wanted) for v in views)
            outcomes.append(
                cart_drill(
                    drill="two_instances",
                    channel="web",
                    store=label,
                    expected=expected,
                    observed=WORKS if works else BREAKS,
                    before=wanted,
                    after=worst,
                    details=(
                        "added on A, B, A; the cart seen on "
                        + "; on ".join(shown)
                        + ("; one worker per instance" if store == "locmem" else "")
                    ),
                    server_errors=web.server_errors,
                )
            )
            if with_api:
                api = ApiScript(one.url)
                api.new_cart()
                for product, server in zip(wanted, (two, one, two), strict=True):
                    api.base_url = server.url
                    api.add(product)
                api.base_url = one.url
                status, seen = api.cart(wanted)
                api.base_url = two.url
                checkout = api.checkout(
                    {"name": "Drill", "email": "drill@example.com", "address": "1 Drill St"}
                )
                works = status == HTTPStatus.OK and set(seen) == set(wanted)
                works = works and checkout == HTTPStatus.CREATED
                outcomes.append(
                    cart_drill(
                        drill="two_instances",
                        channel="api",
                        store="",
                        expected=WORKS,
                        observed=WORKS if works else BREAKS,
                        before=wanted,
                        after=seen,
                        details=(
                            f"new cart on A, added on B, A, B; GET on A answered {status}; "
                            f"checkout on B answered {checkout}"
                        ),
                        server_errors=api.server_errors,
                    )
                )
        return outcomes

    def key_rotation(self) -> list[DrillOutcome]:
        """Add a new signing key (old tokens still accepted), then remove the old one (401)."""
        try:
            return self._key_rotation()
        except Exception as error:
            return [failed_drill("key_rotation", "api", "", KEPT, error)]

    def _key_rotation(self) -> list[DrillOutcome]:
        wanted = self.pick(2)
        old, new = new_key("old"), new_key("new")
        server = self.server("db", "key-rotation", token_keys=old)
        with self.servers(server):
            api = ApiScript(server.url)
            api.new_cart()
            for product in wanted:
                api.add(product)
            old_token = api.token
            _, before = api.cart(wanted, token=old_token)
            server.restart(env=self.store_env("db", token_keys=f"{new},{old}"))
            self.log("key_rotation: restarted with keys new,old")
            status, after_add = api.cart(wanted, token=old_token)
            resigned = api.token if status == HTTPStatus.OK else ""
            new_kid = token_kid(resigned) if resigned else "-"
            first = cart_drill(
                drill="key_rotation",
                channel="api",
                store="",
                expected=KEPT,
                before=before,
                after=after_add,
                details=(
                    f"step 1, new key added: the old token (kid old) answered {status}; "
                    f"the answer's token is signed with kid {new_kid}"
                ),
                server_errors=list(api.server_errors),
            )
            server.restart(env=self.store_env("db", token_keys=new))
            self.log("key_rotation: restarted with key new only")
            refused, _ = api.cart(wanted, token=old_token)
            challenge = (
                api.last.headers.get("WWW-Authenticate", "")[:60] if api.last is not None else ""
            )
            status, with_new = api.cart(wanted, token=resigned) if resigned else (0, [])
            clean = refused == HTTPStatus.UNAUTHORIZED and challenge.startswith("Bearer")
            kept, _ = split(before, with_new)
            second = DrillOutcome(
                drill="key_rotation",
                channel="api",
                store="",
                expected=REFUSED,
                observed=REFUSED if clean else f"answered {refused}",
                kept=f"re-signed token: {kept}",
                lost=f"tokens signed with the old key: {describe(before)}",
                details=(
                    f"step 2, old key removed: the old token answered {refused} "
                    f"(WWW-Authenticate: {challenge or '-'}); the token re-signed in step 1 "
                    f"answered {status}"
                ),
                server_errors=api.server_errors,
            )
        return [first, second]

    def concurrent_adds(self, stores: list[str], *, threads: int = 10) -> list[DrillOutcome]:
        """Simultaneous adds of different products to one visitor's session: none may be lost.

        Only for the stores whose cart changes are made atomic (db, Redis); a
        signed cookie keeps what the last answer saw and cannot merge changes.
        """
        return self._for_each_store(
            "concurrent_adds",
            stores,
            lambda store: KEPT,
            lambda store, expected, _a: [self._concurrent_adds(store, expected, threads)],
        )

    def race(
        self, server: Server, wanted: list[Product], **paths: str
    ) -> tuple[list[int], list[WebVisitor]]:
        """Simultaneous adds of `wanted` to one new session; the statuses and the visitors."""
        first = WebVisitor(server.url, **paths)
        first.add(self.products[0])  # the session exists before the race
        visitors = [WebVisitor(server.url, jar=first.http.cookies, **paths) for _ in wanted]
        barrier = threading.Barrier(len(visitors))
        statuses: list[int] = []

        def add(visitor: WebVisitor, product: Product) -> None:
            barrier.wait(timeout=10)
            statuses.append(visitor.add(product))

        workers = [
            threading.Thread(target=add, args=(v, p), daemon=True)
            for v, p in zip(visitors, wanted, strict=True)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        return statuses, [first, *visitors]

    def lost_without_lock(
        self, stores: list[str], *, threads: int = 10, repeats: int = 5
    ) -> list[dict]:
        """Lines lost by simultaneous adds to one session: the twin without and with its lock.

        For each store, `repeats` races of `threads` adds against the minimal twin's
        unlocked add, its locked add and the shop. Returns one dict per store.
        """
        wanted = self.pick(threads, offset=3)
        figures = []
        for store in stores:
            twin = Server.for_app(
                "twin",
                env=self.store_env(store),
                workers=self.workers_for(store),
                name=f"lock-twin-{store}",
                log_dir=self.stage.log_dir,
            )
            shop = self.server(store, f"lock-shop-{store}")
            lost = {"unlocked twin": 0, "locked twin": 0, "shop": 0}
            errors: list[int] = []
            with self.servers(twin, shop):
                targets = {
                    "unlocked twin": (twin, "/twin/cart/add-unlocked/"),
                    "locked twin": (twin, "/twin/cart/add/"),
                    "shop": (shop, "/cart/add/"),
                }
                for _ in range(repeats):
                    for name, (server, path) in targets.items():
                        csrf = "/twin/cart/" if server is twin else ""
                        _, visitors = self.race(server, wanted, add_path=path, csrf_path=csrf)
                        held = visitors[0].twin_cart() if server is twin else None
                        if held is None:
                            _, seen = visitors[0].cart(wanted)
                            held = {p.id for p in seen}
                        lost[name] += sum(p.id not in held for p in wanted)
                        errors += [s for v in visitors for s in v.server_errors]
            self.log(f"lost_without_lock/{STORE_LABELS[store]}: {lost}")
            figures.append(
                {
                    "store": STORE_LABELS[store],
                    "adds": threads * repeats,
                    "lost": lost,
                    "server_errors": len(errors),
                }
            )
        return figures

    def _concurrent_adds(self, store: str, expected: str, threads: int) -> DrillOutcome:
        label = STORE_LABELS[store]
        wanted = self.pick(threads, offset=3)
        with self.servers(self.server(store, f"concurrent-{store}")) as (server,):
            statuses, (first, *visitors) = self.race(server, wanted)
            status, seen = first.cart(wanted)
            errors = [s for v in visitors for s in v.server_errors] + first.server_errors
            return cart_drill(
                drill="concurrent_adds",
                channel="web",
                store=label,
                expected=expected,
                before=wanted,
                after=seen,
                details=(
                    f"{threads} simultaneous adds to one session answered "
                    f"{sorted(set(statuses))}; the cart page answered {status}"
                ),
                server_errors=errors,
            )
