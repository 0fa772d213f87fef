"""`manage.py compare`: benchmark both channels, run the fault drills, print and save the results.

It starts its own gunicorn servers on 127.0.0.1 (2 sync workers, DEBUG off,
throwaway keys) on a throwaway copy of the demo catalogue, so the user's data
is never touched; only the results are saved, where /admin/compare/ reads them.
"""

from __future__ import annotations

import argparse
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
from compare.measure.load import ScenarioResult, run_scenario
from compare.measure.rounds import BARE, Run, median_of_rounds, plan
from compare.measure.servers import Server, ServerError, serve
from compare.measure.stage import Stage, static_manifest_is_current

STORES = ("db", "redis", "signed_cookies")
ADDS_PER_VISITOR = 90  # as compare/measure/locustfile.py (never imported here)


class Command(BaseCommand):
    help = (
        "Measure both channels under load (ratios to a bare Django view), run the fault drills, "
        "print a table and save it for /admin/compare/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds",
            type=int,
            default=6,
            help="Length of each load scenario in each round (default 6).",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="Rounds of every scenario, interleaved; figures are their medians (default 3).",
        )
        parser.add_argument(
            "--lines",
            type=_lines,
            default=[1, 10, 50],
            help="Cart sizes of the add-only scenarios, comma separated (default 1,10,50).",
        )
        parser.add_argument(
            "--users", type=int, default=10, help="Concurrent locust users (default 10)."
        )
        parser.add_argument(
            "--only",
            choices=("benchmarks", "drills", "hidden-state"),
            help="Run only one part of the command (hidden-state: what the API still keeps).",
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
        if options["seconds"] < 3 or options["users"] < 1 or options["rounds"] < 1:
            raise CommandError("--seconds must be at least 3, --users and --rounds at least 1.")

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
            # The page shows one cart size (the targets'); the printed report keeps them all.
            lines = report.reference_lines(results)
            run = report.save(
                results=[r for r in results if not r.scenario.sized or r.lines == lines],
                outcomes=outcomes,
                report=text,
                environment=environment,
                started_at=started_at,
                finished_at=datetime.now(UTC),
            )
            self.say(f"Saved as measurement run #{run.pk}: see /admin/compare/")

    def check_tools(self) -> None:
        # Never import locust here: it monkey-patches the whole process with gevent.
        # `make run` installs the shop without it (requirements.txt).
        found = importlib.util.find_spec("locust") is not None
        if not found or not Path(sys.executable).with_name("locust").exists():
            raise CommandError(
                "compare drives its load with locust, which is not installed: run "
                "`make compare`, which installs it (requirements-dev.txt) and runs compare."
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
        if options["only"] in (None, "benchmarks"):
            self.say(
                f"\nBenchmarks: {seconds} s each, {users} users, load generator on this machine"
            )
            results = self.benchmarks(
                stage, servers, stores, products, products_file, options, notes
            )
            notes.append(self.machine_note(results, environment))
            locking = [s for s in ("db", "redis") if s in stores]
            if locking:
                self.say(
                    "\nThe session lock: simultaneous adds to one session, with and without it"
                )
                drills = Drills(stage, products, log=lambda line: self.say(f"  {line}"))
                drills.workers = options["workers"]
                environment["lock"] = drills.lost_without_lock(locking)
        if options["only"] in (None, "drills"):
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
        hidden = ""
        if options["only"] in (None, "hidden-state"):
            hidden, environment["hidden_state"], more = self.hidden_state(
                stage, servers, products, products_file, options, results
            )
            outcomes += more
        if skipped:
            environment["skipped"] = skipped
        text = report.render(
            results=results,
            outcomes=outcomes,
            skipped=skipped,
            notes=notes,
            header=header,
            lock=environment.get("lock", []),
        )
        return text + hidden, results, outcomes, environment

    def hidden_state(self, stage, servers, products, products_file, options, results):
        """Revocation modes under load, replay, fork and staleness drills (hidden_state.py)."""
        from compare.measure import hidden_state

        self.say("\nWhat the stateless channel still keeps")
        baseline = next((r for r in results if r.scenario.key == BARE.key), None)
        if baseline is None:
            with serve(
                "bare",
                env=stage.env(settings="compare.bare.settings"),
                workers=options["workers"],
                log_dir=stage.log_dir,
            ) as bare:
                baseline = run_scenario(
                    BARE,
                    bare,
                    store="",
                    seconds=options["seconds"],
                    users=options["users"],
                    work_dir=stage.tmp,
                    progress=self.progress_bar(BARE.title, options["seconds"]),
                )
                self.done(BARE.title, baseline)
        part = hidden_state.HiddenState(
            stage,
            products,
            seconds=options["seconds"],
            users=options["users"],
            workers=options["workers"],
            log=lambda line: self.say(f"  {line}"),
            products_file=products_file,
            progress=self.progress_bar,
        )
        figures = part.revocation(baseline)
        outcomes, kept = part.drills()
        for outcome in outcomes:
            self.say(
                f"  {'PASS' if outcome.passed else 'FAIL'}  {outcome.drill:<15} "
                f"{outcome.store:<20} expected {outcome.expected}, saw {outcome.observed}"
            )
        text = hidden_state.render(figures, outcomes, kept)
        return text, hidden_state.as_json(figures, kept), outcomes

    def benchmarks(self, stage, servers, stores, products, products_file, options, notes):
        """Every scenario of `rounds.plan`, interleaved; the medians of the rounds."""
        seconds, users, workers = options["seconds"], options["users"], options["workers"]
        pool: dict[tuple[str, str], Server] = {}

        def server_for(run: Run) -> Server:
            app, store = run.server
            if (app, store) not in pool:
                env = store_env(stage, store or "db")
                name = f"{app}-{store}" if store else app
                server = Server.for_app(
                    app, env=env, workers=workers, name=name, log_dir=stage.log_dir
                )
                servers.append(server)
                server.start()
                if app != "bare":
                    self.warm_up(server, products, twin=app == "twin")
                pool[(app, store)] = server
            return pool[(app, store)]

        measured: list[tuple[Run, ScenarioResult]] = []
        wrote: dict[str, tuple] | None = None
        for run in plan(stores=stores, lines=options["lines"], rounds=options["rounds"]):
            label = f"round {run.round + 1}: {run.scenario.title}"
            # The API keeps no session: its figures name no store.
            store = "" if "api" in run.scenario.key else STORE_LABELS.get(run.store, "")
            label += f" ({store})" if store else ""
            label += f", {run.lines} lines" if run.scenario.sized else ""
            try:
                server = server_for(run)
                check_writes = run.scenario.key == "api_add" and wrote is None
                before = self.written_state(stage) if check_writes else None
                result = run_scenario(
                    run.scenario,
                    server,
                    store=store,
                    seconds=seconds,
                    users=users,
                    work_dir=stage.tmp,
                    products_file=products_file,
                    lines=run.lines or 2,
                    progress=self.progress_bar(label, seconds),
                )
                if before is not None:
                    after = self.written_state(stage)
                    wrote = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                    if wrote:
                        result.failures += 1
            except (ServerError, RuntimeError, TimeoutError) as error:
                notes.append(f"{label} failed: {error}")
                self.say(f"  {label} failed: {error}")
                continue
            self.done(label, result)
            measured.append((run, result))
            if not server.running:
                raise ServerError(f"{server.name} stopped during {label}")
        for server in pool.values():
            server.stop()
        results = median_of_rounds(measured)
        self.add_bytes(stage, stores, products, results)
        if wrote:
            notes.append(f"API add-to-cart run WROTE to the database or store: {wrote}")
        elif wrote is not None:
            notes.append(
                "API add-to-cart run wrote nothing: the rows of every table (sessions "
                "included), total stock, last product update and the run's Redis keys were "
                "read before and after: unchanged."
            )
        self.benchmark_notes(results, notes)
        return results

    def machine_note(self, results: list[ScenarioResult], environment: dict) -> str:
        """How busy the machine was: load averages and the CPU other processes took."""
        wall = sum(r.wall_seconds for r in results)
        others = sum(r.others_cpu_seconds or 0.0 for r in results)
        share = others / (wall * (os.cpu_count() or 1)) if wall else 0.0
        environment["load_average_after"] = round(os.getloadavg()[0], 2)
        environment["others_cpu_share"] = round(share, 3)
        return (
            f"Machine: load average {environment['load_average_before']} before the "
            f"benchmarks, {environment['load_average_after']} after; other processes took "
            f"{share:.0%} of the machine's CPU while they ran"
            + (" (busy: compare CPU per request, not req/s)" if share > 0.15 else "")
            + "."
        )

    def add_bytes(self, stage, stores, products, results) -> None:
        """What the server keeps and what the client carries for a 3-line cart."""
        for store in stores:
            env = store_env(stage, store)
            with Server.for_app("shop", env=env, workers=1, log_dir=stage.log_dir) as server:
                held = self.session_bytes(stage, server, store, products)
                token = self.token_bytes(server, products)
            for result in results:
                if result.store == STORE_LABELS[store] and result.scenario.channel == "web":
                    result.state_bytes, result.client_bytes = held
                elif result.scenario.channel == "api":
                    result.state_bytes, result.client_bytes = 0, token

    def benchmark_notes(self, results: list[ScenarioResult], notes: list[str]) -> None:
        lost = sum(r.lost_updates for r in results)
        notes.append(
            f"Lost updates under load: {lost}. Every API add answer is checked for the added "
            f"unit; web carts are checked after every {ADDS_PER_VISITOR} adds of a visitor."
        )
        for result in results:
            if result.errors:
                sample = "; ".join(f"{n} x {msg}" for msg, n in list(result.errors.items())[:3])
                notes.append(f"errors in {result.scenario.title} ({result.store or '-'}): {sample}")
        notes.append(
            "ratio = the scenario's requests per second / the bare Django view's in the same "
            "round, median of the rounds [lowest-highest]; CPU = user+system time of the "
            "gunicorn workers / every request they served (setup adds and cart checks "
            "included), median of the rounds. The add-only scenarios first build a cart of "
            "the given lines, then add units of its products (the cart keeps its size)."
        )
        notes.append(
            "Journeys (first round only): req/s and latencies over every request of the "
            "journey (browse, product pages, 3 adds, cart, checkout, order page)."
        )

    def warm_up(self, server: Server, products: list[Product], *, twin: bool = False) -> None:
        """A few requests so each worker has imported its views and opened its connection."""
        for _ in range(6):
            if twin:
                web = WebVisitor(server.url, add_path="/twin/cart/add/", csrf_path="/twin/cart/")
                web.add(products[0])
                web.twin_cart()
                continue
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


def store_env(stage: Stage, store: str) -> dict[str, str]:
    """The server settings for one of STORES: redis is the cache store on REDIS_URL."""
    if store == "redis":
        return stage.env(store="cache", redis=True)
    return stage.env(store=store)


def _lines(value: str) -> list[int]:
    try:
        lines = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--lines takes whole numbers, e.g. 1,10,50") from None
    if not lines or not all(1 <= n <= 50 for n in lines):
        raise argparse.ArgumentTypeError("--lines takes cart sizes from 1 to 50, e.g. 1,10,50")
    return lines


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
