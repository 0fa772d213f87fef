"""`lab distance`: the same load while the session store, then the database, moves away.

PostgreSQL and Redis each run in a network namespace of their own, reached over
a veth pair; `tc netem` on that pair (both ends, half the round trip each) puts
them 0, 1, 5 and 20 ms away. Each point reports what locust measured and the
round trips per request that the store itself counted (the requests Redis's
`MONITOR` shows, less the commands a Lua script runs inside one request;
PostgreSQL's `pg_stat_statements`), so that p50 reads as base + round trips ×
distance.

Where the kernel has no netem, the 0 ms points are measured and every delayed
point says so, with tc's own error, and carries no figure.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass

from compare.lab.results import Point, RunContext, cell, channel_name, shown
from compare.lab.scenarios import LabScenario
from compare.lab.topology import Lab, Namespace, Postgres, Redis
from compare.measure.load import Scenario, run_scenario
from compare.measure.servers import Server

NAME = "distance"
RTTS_MS = (0, 1, 5, 20)
TARGETS = ("session_store", "database")

API_ADD = Scenario(
    "api_add", "api", "API add-to-cart", "ApiShopper", ("api: add to cart",), ("add",)
)
WEB_ADD = Scenario(
    "web_add", "web", "web add-to-cart", "WebShopper", ("web: add to cart",), ("add",)
)


class RedisCommands:
    """Requests that clients sent a Redis server, as the server itself shows them (MONITOR).

    MONITOR shows every command the server runs. Those a Lua script runs (the
    shop's compare-and-set, redis-py's lock release) come marked `lua`: they are
    no round trip of their own, so they are not counted, where `INFO
    commandstats` would count them. The lab's own commands are not counted either.
    """

    OWN = {"INFO", "CONFIG", "PING", "ECHO", "CLIENT"}
    WAIT_SECONDS = 60  # for the last commands of a point to reach the monitor

    def __init__(self, server: Redis) -> None:
        self.server = server
        self._count = 0
        self._watching: threading.Thread | None = None
        self._mark = ""
        self._lab = server.client()  # the lab's own connection, made before any count
        self._watcher = None

    def reset(self) -> None:
        import redis

        self._count = 0
        self._mark = f"lab-mark-{secrets.token_hex(6)}"
        self._lab.ping()
        # Kept on self: the monitor's connection belongs to this client's pool.
        self._watcher = redis.Redis(
            host=self.server.host, port=self.server.port, socket_timeout=self.WAIT_SECONDS
        )
        monitor = self._watcher.monitor().__enter__()  # MONITOR is on when this returns
        self._watching = threading.Thread(target=self._watch, args=(monitor,), daemon=True)
        self._watching.start()

    def _watch(self, monitor) -> None:
        from redis.exceptions import RedisError

        try:
            while True:
                command = monitor.next_command()
                name, _, args = command["command"].partition(" ")
                if name.upper() == "ECHO" and args == self._mark:
                    return
                if command["client_type"] != "lua" and name.upper() not in self.OWN:
                    self._count += 1
        except (OSError, RedisError, AttributeError, ValueError):
            self._count = -1  # the count is incomplete: say so instead of a wrong figure
        finally:
            monitor.__exit__()

    def read(self) -> int | None:
        """Requests since `reset()`, or None if the monitor could not see them all."""
        self._lab.echo(self._mark)
        if self._watching is not None:
            self._watching.join(timeout=self.WAIT_SECONDS)
            if self._watching.is_alive():
                return None
        return None if self._count < 0 else self._count


class PostgresStatements:
    """Statements the shop's database executed, from pg_stat_statements."""

    def __init__(self, server: Postgres) -> None:
        self.server = server

    def reset(self) -> None:
        with self.server.connect() as conn:
            conn.execute("SELECT pg_stat_statements_reset()")

    def read(self) -> int:
        with self.server.connect() as conn:
            row = conn.execute(
                "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid "
                "WHERE d.datname = %s AND s.query NOT ILIKE %s",
                (self.server.database, "%pg_stat_statements%"),
            ).fetchone()
        return int(row[0])


@dataclass
class Combo:
    """One channel and store under load: where it runs and which store is moved away."""

    channel: str
    store: str | None
    load: Scenario
    server: Server


def round_trips_per_request(calls: int | None, requests: int) -> float | None:
    return round(calls / requests, 2) if requests and calls is not None else None


def run(lab: Lab, ctx: RunContext) -> list[Point]:
    ctx.say("Starting PostgreSQL and Redis, each in a network namespace of its own ...")
    db_ns, redis_ns = lab.namespace(), lab.namespace()
    database = lab.postgres(ns=db_ns)
    redis = lab.redis("redis", ns=redis_ns)
    ctx.say("Migrating and seeding the lab's database ...")
    stage = lab.prepare_shop(database)
    products = stage.db.query("SELECT id, slug, name FROM shop_product WHERE active ORDER BY id")
    products_file = lab.tmp / "products.json"
    products_file.write_text(
        json.dumps([{"id": i, "slug": s, "name": n} for i, s, n in products]), encoding="utf-8"
    )
    missing = lab.netem_missing(db_ns)
    if missing:
        ctx.note(
            f"tc netem is missing on this kernel ({missing}): the 0 ms points are measured; "
            "the 1, 5 and 20 ms points are not (no delay is faked)"
        )

    ctx.say("Starting the shop: one instance on Redis sessions, one on database sessions ...")
    on_redis = lab.shop("shop-redis", lab.shop_env(store="cache", redis=redis))
    on_db = lab.shop("shop-db", lab.shop_env(store="db"))
    combos = (
        Combo("api", None, API_ADD, on_redis),
        Combo("web", "redis", WEB_ADD, on_redis),
        Combo("web", "db", WEB_ADD, on_db),
    )
    counters = {"redis": RedisCommands(redis), "db": PostgresStatements(database)}
    namespaces: dict[str, Namespace] = {"redis": redis_ns, "db": db_ns}

    points = []
    for target in TARGETS:
        for combo in combos:
            # The session store of the API instance is Redis (configured, never used).
            moved = "db" if target == "database" or combo.store == "db" else "redis"
            for rtt in RTTS_MS:
                condition = {"target": target, "rtt_ms": rtt, "moved": moved}
                label = f"{target} {rtt:>2} ms: {combo.channel} {combo.store or ''}".rstrip()
                if rtt and missing:
                    points.append(
                        Point(
                            NAME,
                            combo.channel,
                            combo.store,
                            {**condition, **dict.fromkeys(FIGURES)},
                            note="not measured: this kernel has no netem",
                        )
                    )
                    continue
                if rtt:
                    lab.netem(namespaces[moved], rtt)
                try:
                    figures = measure(lab, ctx, combo, counters[moved], products_file, label)
                finally:
                    if rtt:
                        lab.clear_netem(namespaces[moved])
                points.append(Point(NAME, combo.channel, combo.store, {**condition, **figures}))
    return points


FIGURES = ("rps", "p50_ms", "p99_ms", "errors", "round_trips")


def measure(lab: Lab, ctx: RunContext, combo: Combo, counter, products_file, label: str) -> dict:
    counter.reset()
    result = run_scenario(
        combo.load,
        combo.server,
        store=combo.store or "",
        seconds=ctx.seconds,
        users=ctx.users,
        work_dir=lab.tmp,
        products_file=products_file,
        progress=ctx.progress(label),
    )
    calls = counter.read()
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "errors": result.failures,
        "round_trips": round_trips_per_request(calls, result.all_requests),
    }


def summary(points) -> str:
    """p50 at 0 and 20 ms and round trips per request, per target and channel."""
    parts = []
    for target, moved in (("session_store", "session store"), ("database", "database")):
        at: dict[str, dict] = {}
        for point in points:
            if point.figures.get("target") == target:
                at.setdefault(channel_name(point), {})[point.figures.get("rtt_ms")] = point
        said = []
        for who, by_rtt in at.items():
            near, far = by_rtt.get(0), by_rtt.get(RTTS_MS[-1])
            said.append(
                f"{who} p50 {p50(near)} at 0 ms, {p50(far)} at {RTTS_MS[-1]} ms "
                f"({round_trips(near, far)})"
            )
        if said:
            parts.append(f"{moved} away: " + "; ".join(said))
    # Why a point was not measured, said once (e.g. a kernel without netem).
    why = dict.fromkeys(p.note for p in points if p.figures.get("p50_ms") is None and p.note)
    return " · ".join(parts + list(why))


def p50(point) -> str:
    return shown(None if point is None else point.figures.get("p50_ms"), " ms")


def round_trips(*points) -> str:
    """The round trips a request of the first point that counted them."""
    counted = [
        p.figures["round_trips"] for p in points if p and p.figures.get("round_trips") is not None
    ]
    return f"{cell(counted[0])} round trips a request" if counted else "round trips not measured"


SCENARIO = LabScenario(
    name=NAME,
    help="API and web add-to-cart while the session store, then the database, is 0-20 ms away",
    run=run,
    columns=("target", "moved", "rtt_ms", *FIGURES),
    chart=("p50_ms", "ms"),
    condition=("target", "rtt_ms"),
    speaks_to="scalability",
    summary=summary,
    needs_root=True,
    tools=("redis-server", "initdb", "postgres", "ip", "tc"),
)
