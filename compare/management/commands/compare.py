"""`manage.py compare`: benchmark both channels, run the fault drills, print and save the results.

It starts its own gunicorn servers on 127.0.0.1 (2 sync workers, DEBUG off,
throwaway keys) on a throwaway copy of the demo catalogue, so the user's data
is never touched; only the results are saved, where /admin/compare/ reads them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import signal
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import django
from django.core.management.base import BaseCommand, CommandError

from compare.measure import report
from compare.measure.clients import ApiScript, Product, WebVisitor
from compare.measure.drills import STORE_LABELS, Drills
from compare.measure.load import Scenario, ScenarioResult, run_scenario
from compare.measure.servers import Server, ServerError
from compare.measure.stage import Stage, static_manifest_is_current

STORES = ("db", "redis", "signed_cookies")

BARE = Scenario("bare", "baseline", "bare Django view", "BareView", ("bare: django view",))
DRF_BARE = Scenario("drf_bare", "baseline", "bare DRF view", "BareDrfView", ("bare: drf view",))
API_ADD = Scenario(
    "api_add", "api", "API add-to-cart", "ApiShopper", ("api: add to cart",), ("add",)
)
API_JOURNEY = Scenario("api_journey", "api", "API shopper journey", "ApiShopper", (), ("journey",))
WEB_ADD = Scenario(
    "web_add", "web", "web add-to-cart", "WebShopper", ("web: add to cart",), ("add",)
)
WEB_JOURNEY = Scenario("web_journey", "web", "web shopper journey", "WebShopper", (), ("journey",))


class Command(BaseCommand):
    help = (
        "Measure both channels under load (ratios to a bare Django view), run the fault drills, "
        "print a table and save it for /admin/compare/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds", type=int, default=12, help="Length of each load scenario (default 12)."
        )
        parser.add_argument(
            "--users", type=int, default=10, help="Concurrent locust users (default 10)."
        )
        parser.add_argument(
            "--only", choices=("benchmarks", "drills"), help="Run only one half of the command."
        )
        parser.add_argument(
            "--stores",
            default=",".join(STORES),
            help="Session stores for the web scenarios: db, redis, signed_cookies "
            "(default: all; redis needs REDIS_URL).",
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn sync workers per instance (default 2)."
        )
        parser.add_argument("--no-save", action="store_true", help="Print only; save nothing.")

    # --- output -------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def progress_bar(self, label: str, seconds: int):
        interactive = self.stdout.isatty()
        self.say(f"  {label:<44} running {seconds} s ...") if not interactive else None

        def show(fraction: float) -> None:
            if not interactive:
                return
            filled = int(fraction * 20)
            left = max(0, round(seconds * (1 - fraction)))
            self.stdout.write(
                f"\r  {label:<44} [{'#' * filled:<20}] {fraction:4.0%} {left:3d} s left",
                ending="",
            )
            self.stdout.flush()

        return show

    def done(self, label: str, result: ScenarioResult) -> None:
        cpu = report.fmt(result.cpu_us_per_request, ",.0f")
        line = (
            f"  {label:<44} {result.rps:7.0f} req/s  p50 {result.p50_ms:5.1f} ms  "
            f"p99 {result.p99_ms:6.1f} ms  errors {result.failures}  CPU {cpu} µs/req"
        )
        if self.stdout.isatty():
            self.stdout.write("\r" + line + " " * 8)
        else:
            self.say(line)

    # --- the command ----------------------------------------------------------------

    def handle(self, *args, **options):
        self.check_tools()
        stores = [s.strip() for s in options["stores"].split(",") if s.strip()]
        unknown = set(stores) - set(STORES)
        if unknown:
            raise CommandError(f"Unknown store(s) {', '.join(sorted(unknown))}: use {STORES}")
        if options["seconds"] < 3 or options["users"] < 1:
            raise CommandError("--seconds must be at least 3 and --users at least 1.")

        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        stage = Stage(
            user_database_url=os.environ.get("DATABASE_URL", ""),
            redis_url=os.environ.get("REDIS_URL", ""),
        )
        servers: list[Server] = []
        started_at = datetime.now(UTC)
        try:
            text, results, outcomes, environment = self.run(stage, servers, stores, options)
        except KeyboardInterrupt:
            self.say("\nInterrupted: stopping every server; nothing was saved.")
            raise CommandError("interrupted") from None
        finally:
            for server in servers:
                server.stop()
            stage.cleanup()
            signal.signal(signal.SIGTERM, previous)
        self.say("\n" + text)
        if not options["no_save"]:
            run = report.save(
                results=results,
                outcomes=outcomes,
                report=text,
                environment=environment,
                started_at=started_at,
                finished_at=datetime.now(UTC),
            )
            self.say(f"Saved as measurement run #{run.pk}: see /admin/compare/")

    def check_tools(self) -> None:
        # Never import locust here: it monkey-patches the whole process with gevent.
        missing = [
            m for m in ("locust", "psutil", "requests") if importlib.util.find_spec(m) is None
        ]
        if missing or not Path(sys.executable).with_name("locust").exists():
            raise CommandError(
                f"compare needs the load tools ({', '.join(missing) or 'locust'} missing): "
                "pip install -r requirements-dev.txt, or run `make compare`."
            )

    def run(self, stage: Stage, servers: list[Server], stores: list[str], options):
        seconds, users = options["seconds"], options["users"]
        skipped: list[str] = []
        notes: list[str] = []
        if "redis" in stores and not stage.redis_url:
            stores = [s for s in stores if s != "redis"]
            skipped.append("cache store on Redis: skipped: set REDIS_URL to measure it")

        self.say("Preparing a throwaway database with the demo catalogue ...")
        stage.create_database()
        for note in stage.notes:
            self.say(f"  {note}")
        notes += stage.notes
        if not static_manifest_is_current():
            self.say("Collecting and compressing static files (once, about a minute) ...")
        stage.collectstatic()
        products = [
            Product(id=row[0], slug=row[1], name=row[2])
            for row in stage.db.query(
                "SELECT id, slug, name FROM shop_product WHERE active ORDER BY id"
            )
        ]
        products_file = stage.tmp / "products.json"
        products_file.write_text(json.dumps([p.__dict__ for p in products]), encoding="utf-8")
        environment = self.environment(stage, options, stores)
        header = self.header(environment)
        self.say(header)

        results: list[ScenarioResult] = []
        outcomes = []
        if options["only"] != "drills":
            self.say(
                f"\nBenchmarks: {seconds} s each, {users} users, load generator on this machine"
            )
            results = self.benchmarks(
                stage, servers, stores, products, products_file, options, notes
            )
        if options["only"] != "benchmarks":
            self.say("\nFault drills")
            drills = Drills(stage, products, log=lambda line: self.say(f"  {line}"))
            drills.workers = options["workers"]
            web_stores = [s for s in ("db", "redis", "signed_cookies") if s in stores]
            groups = (
                lambda: drills.restart(web_stores),
                lambda: drills.store_lost([s for s in ("redis",) if s in stores] + ["locmem"]),
                lambda: drills.two_instances([*web_stores, "locmem"]),
                drills.key_rotation,
                lambda: drills.concurrent_adds([s for s in ("db", "redis") if s in stores]),
            )
            for group in groups:
                for outcome in group():
                    outcomes.append(outcome)
                    verdict = "PASS" if outcome.passed else "FAIL"
                    self.say(
                        f"  {verdict}  {outcome.drill:<15} {outcome.channel:<4} "
                        f"{outcome.store or '-':<20} expected {outcome.expected}, "
                        f"saw {outcome.observed}"
                    )
        if skipped:
            environment["skipped"] = skipped
        text = report.render(
            results=results, outcomes=outcomes, skipped=skipped, notes=notes, header=header
        )
        return text, results, outcomes, environment

    def benchmarks(self, stage, servers, stores, products, products_file, options, notes):
        seconds, users, workers = options["seconds"], options["users"], options["workers"]
        results: list[ScenarioResult] = []

        def measure(scenario: Scenario, server: Server, store: str = "") -> ScenarioResult:
            label = scenario.title + (f" ({STORE_LABELS[store]})" if store else "")
            result = run_scenario(
                scenario,
                server,
                store=STORE_LABELS.get(store, ""),
                seconds=seconds,
                users=users,
                work_dir=stage.tmp,
                products_file=products_file,
                progress=self.progress_bar(label, seconds),
            )
            self.done(label, result)
            results.append(result)
            if not server.running:
                raise ServerError(f"{server.name} stopped during {label}")
            return result

        bare = Server.for_app(
            "bare",
            env=stage.env(settings="compare.bare.settings"),
            workers=workers,
            log_dir=stage.log_dir,
        )
        servers.append(bare)
        bare.start()
        baseline = measure(BARE, bare)
        measure(DRF_BARE, bare)
        bare.stop()

        for index, store in enumerate(stores):
            env = (
                stage.env(store="cache", redis=True) if store == "redis" else stage.env(store=store)
            )
            server = Server.for_app(
                "shop", env=env, workers=workers, name=f"shop-{store}", log_dir=stage.log_dir
            )
            servers.append(server)
            try:
                server.start()
                self.warm_up(server, products)
                if index == 0:
                    before = self.written_state(stage)
                    api_add = measure(API_ADD, server)
                    after = self.written_state(stage)
                    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                    if changes:
                        api_add.failures += 1
                        notes.append(
                            f"API add-to-cart run WROTE to the database or store: {changes}"
                        )
                    else:
                        notes.append(
                            f"API add-to-cart run wrote nothing: rows of {len(before) - 3} "
                            "tables (sessions included), total stock, last product update and "
                            "the run's Redis keys read before and after: unchanged."
                        )
                    api_add.state_bytes, api_add.client_bytes = (
                        0,
                        self.token_bytes(server, products),
                    )
                    api_journey = measure(API_JOURNEY, server)
                    api_journey.state_bytes, api_journey.client_bytes = (
                        api_add.state_bytes,
                        api_add.client_bytes,
                    )
                server_bytes, cookie_bytes = self.session_bytes(stage, server, store, products)
                for scenario in (WEB_ADD, WEB_JOURNEY):
                    result = measure(scenario, server, store)
                    result.state_bytes, result.client_bytes = server_bytes, cookie_bytes
            except (ServerError, RuntimeError, TimeoutError) as error:
                notes.append(f"{STORE_LABELS[store]} scenarios failed: {error}")
                self.say(f"  {STORE_LABELS[store]} scenarios failed: {error}")
            finally:
                server.stop()

        report.apply_ratios(results, baseline_rps=baseline.rps)
        lost = sum(
            n for r in results for message, n in r.errors.items() if "lost update" in message
        )
        notes.append(
            f"Lost updates: {lost}. Every API add answer is checked for the added unit; web "
            "carts are checked on the cart page after every 50 adds and in every journey."
        )
        for result in results:
            if result.errors:
                sample = "; ".join(f"{n} x {msg}" for msg, n in list(result.errors.items())[:3])
                notes.append(f"errors in {result.scenario.title} ({result.store or '-'}): {sample}")
        notes.append(
            "ratio = the scenario's requests per second / the bare Django view's, same run, same "
            "machine; CPU = user+system time of the gunicorn workers / every request served."
        )
        notes.append(
            "Journeys: req/s and latencies over every request of the journey (browse, product "
            "pages, 3 adds, cart, checkout, order page)."
        )
        return results

    def warm_up(self, server: Server, products: list[Product]) -> None:
        """A few requests so each worker has imported its views and opened its connection."""
        for _ in range(6):
            web, api = WebVisitor(server.url), ApiScript(server.url)
            web.add(products[0])
            web.cart(products[:1])
            api.new_cart()
            api.add(products[0])

    def written_state(self, stage: Stage) -> dict[str, object]:
        """Row counts of every table of the throwaway database, and the run's Redis keys."""
        from django.apps import apps

        tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)})
        counts = {t: stage.db.query(f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in tables}  # noqa: S608
        stock, updated = stage.db.query("SELECT SUM(stock), MAX(updated_at) FROM shop_product")[0]
        counts["total stock"] = stock
        counts["last product update"] = str(updated)
        counts["redis keys"] = len(stage.redis_keys())
        return counts

    def token_bytes(self, server: Server, products: list[Product]) -> int:
        api = ApiScript(server.url)
        api.new_cart()
        for product in products[:3]:
            api.add(product)
        return len(api.token)

    def session_bytes(self, stage: Stage, server: Server, store: str, products) -> tuple[int, int]:
        """(bytes the server keeps, bytes of the session cookie) for a 3-line web cart."""
        web = WebVisitor(server.url)
        for product in products[:3]:
            web.add(product)
        key = web.session_key()
        if store == "db":
            rows = stage.db.query(
                "SELECT LENGTH(session_data) FROM django_session WHERE session_key = %s", (key,)
            )
            held = rows[0][0] if rows else 0
        elif store == "redis":
            client = stage.redis()
            held = sum(
                client.strlen(k)
                for k in client.scan_iter(match=f"{stage.redis_prefix}:*{key}", count=1000)
            )
        else:
            held = 0
        return held, len(key)

    def environment(self, stage: Stage, options, stores) -> dict:
        return {
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "gunicorn": metadata.version("gunicorn"),
            "locust": metadata.version("locust"),
            "platform": platform.platform(),
            "workers": options["workers"],
            "worker_class": "sync",
            "users": options["users"],
            "seconds": options["seconds"],
            "stores": stores,
            "database": stage.db.vendor,
            "redis": bool(stage.redis_url),
            "bind": "127.0.0.1",
            "debug": False,
            "load_generator": "locust (FastHttpUser), same machine",
            "load_average_before": round(os.getloadavg()[0], 2),
        }

    def header(self, env: dict) -> str:
        return (
            f"manage.py compare - {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
            f"machine: {env['cpus']} CPU ({env['cpu_model']}), Python {env['python']}, "
            f"Django {env['django']}, gunicorn {env['gunicorn']} ({env['workers']} sync workers, "
            f"127.0.0.1, DEBUG off), locust {env['locust']} ({env['users']} users)\n"
            f"throwaway database: {env['database']}; Redis: "
            f"{'yes' if env['redis'] else 'no (set REDIS_URL)'}; "
            f"load average before the run: {env['load_average_before']} "
            "(other work on the machine lowers every figure)"
        )


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
