"""Live gunicorn servers: lifecycle, the locust scenarios, and two instances sharing a database.

These start real servers on 127.0.0.1 (a few seconds each), on a throwaway
SQLite file — or a throwaway PostgreSQL database when DATABASE_URL is
PostgreSQL — seeded once for the module. Redis cases run only with REDIS_URL
and touch only keys under their own prefix.
"""

import os
import socket
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import psutil
import pytest

from compare.measure.clients import ApiScript, Product, WebVisitor
from compare.measure.drills import BREAKS, KEPT, LOST, REFUSED, WORKS, Drills
from compare.measure.load import Scenario, read_stats, run_scenario
from compare.measure.servers import Server, ServerError, free_port, serve, server_env
from compare.measure.stage import Stage
from tests.helpers import measurement_stage

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="set REDIS_URL to test the Redis store")


@pytest.fixture(scope="module")
def stage(django_db_blocker):
    with measurement_stage(django_db_blocker) as stage:
        yield stage


@pytest.fixture(scope="module")
def products(stage, django_db_blocker) -> list[Product]:
    with django_db_blocker.unblock():
        rows = stage.db.query("SELECT id, slug, name FROM shop_product WHERE active ORDER BY id")
    return [Product(*row) for row in rows]


@pytest.fixture
def drills(stage, products) -> Drills:
    return Drills(stage, products, log=lambda line: None)


def bare_server(stage: Stage) -> Server:
    return Server.for_app("bare", env=stage.env(), log_dir=stage.log_dir)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def alive(processes) -> list:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_server_runs_two_workers_survives_kill_9_and_stops_without_leftovers(stage):
    server = bare_server(stage).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        workers = psutil.Process(server.process.pid).children()
        assert len(workers) == 2
        before = server.worker_cpu_seconds()
        for _ in range(200):
            WebVisitor(server.url).get("/bare/")
        assert server.worker_cpu_seconds() > before

        server.kill_master()
        psutil.wait_procs(workers, timeout=5)
        assert not alive(workers)
        assert port_is_free(server.port)

        server.start()
        workers = psutil.Process(server.process.pid).children()
        assert WebVisitor(server.url).get("/bare/").status_code == 200
    finally:
        server.stop()
    psutil.wait_procs(workers, timeout=5)
    assert not alive(workers)
    assert port_is_free(server.port)


def test_the_benchmark_servers_run_with_debug_off_fresh_keys_and_the_throwaway_db(stage):
    command_stage = Stage(database_url=stage.database_url)
    try:
        env = command_stage.env(store="db")
    finally:
        command_stage.cleanup()
    assert env["DJANGO_DEBUG"] == "0"
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    assert env["DJANGO_SECRET_KEY"] != stage.secret_key
    kid, _, secret = env["CART_TOKEN_KEYS"].partition(":")
    assert kid and len(secret) >= 32
    assert env["DATABASE_URL"] == stage.database_url
    assert env["DATABASE_URL"] != os.environ.get("DATABASE_URL")


def test_both_shoppers_add_and_check_out_without_errors_or_lost_updates(stage, tmp_path):
    """Each shopper runs its add-only task and its whole journey (no tags: both kinds)."""
    web = Scenario("web_all", "web", "web shopper", "WebShopper", ())
    api = Scenario("api_all", "api", "API shopper", "ApiShopper", ())
    with Server.for_app("shop", env=stage.env(store="db"), log_dir=stage.log_dir) as server:
        for scenario, prefix in ((web, "web"), (api, "api")):
            result = run_scenario(
                scenario, server, store="db", seconds=5, users=3, work_dir=tmp_path, lines=1
            )
            assert result.failures == 0, result.errors
            assert result.lost_updates == 0
            assert result.cpu_us_per_request > 0
            # locust's own CPU from the test's start to its end, written by the locustfile
            assert 0 < result.client_cpu_seconds < result.wall_seconds
            rows, _ = read_stats(tmp_path / f"{scenario.key}-db-1")
            assert result.requests == int(rows["Aggregated"]["Request Count"]) > 0
            assert f"{prefix}: check out" in rows
            assert {f"{prefix}: setup add", f"{prefix}: journey add"} & set(rows)


def test_the_web_add_only_check_reads_the_stored_cart_and_catches_lost_lines(stage, tmp_path):
    """The add-only check (`GET /session/`) passes on a sound store and fails on a lossy one.

    Local memory with two workers is lossy: each worker keeps its own sessions, so a
    visitor's adds are split between two carts and the check must see lines missing.
    """
    adds = Scenario("web_add", "web", "web add", "WebShopper", ("web: add to cart",), ("add",))
    sound = stage.env(store="db")
    lossy = stage.env(store="cache", redis=False)
    for env, store in ((sound, "db"), (lossy, "locmem")):
        with Server.for_app("shop", env=env, workers=2, log_dir=stage.log_dir) as server:
            result = run_scenario(
                adds, server, store=store, seconds=4, users=2, work_dir=tmp_path, lines=2
            )
        rows, _ = read_stats(tmp_path / f"web_add-{store}-2")
        assert int(rows["web: cart check"]["Request Count"]) > 0
        if store == "db":
            assert result.failures == 0, result.errors
        else:
            assert result.lost_updates > 0, result.errors


def test_two_instances_share_the_api_cart_and_the_db_session_cart(drills):
    outcomes = drills.two_instances(["db"])
    web, api = outcomes
    assert (web.channel, web.observed) == ("web", WORKS)
    assert (api.channel, api.observed) == ("api", WORKS)
    assert web.passed and api.passed
    assert web.lost == "nothing"


def test_two_instances_break_the_web_cart_with_per_instance_local_memory(drills):
    (web,) = drills._two_instances("locmem", BREAKS, with_api=False)
    assert web.observed == BREAKS
    assert web.passed
    assert web.lost.startswith("3 lines")
    assert not web.server_errors


@needs_redis
def test_two_instances_share_the_web_cart_in_redis(drills):
    (web,) = drills._two_instances("redis", WORKS, with_api=False)
    assert web.observed == WORKS
    assert web.passed


@needs_redis
def test_losing_the_redis_store_loses_web_carts_but_not_api_carts(drills, stage):
    web, api = drills.store_lost(["redis"])
    assert (web.observed, api.observed) == (LOST, KEPT)
    assert "fresh cart" in web.details
    assert web.passed and api.passed
    assert stage.redis_keys()  # the returning visitor's new session


def test_a_restart_keeps_db_session_carts_and_api_carts(drills):
    web, api = drills.restart(["db"])
    assert (web.observed, api.observed) == (KEPT, KEPT)
    assert web.passed and api.passed


def test_key_rotation_keeps_old_tokens_then_refuses_them_with_401(drills):
    added, removed = drills.key_rotation()
    assert added.observed == KEPT
    assert "kid new" in added.details
    assert removed.observed == REFUSED
    assert "Bearer" in removed.details
    assert added.passed and removed.passed


def test_without_a_usable_postgresql_server_the_stage_measures_on_sqlite(django_db_blocker):
    fallback = Stage(user_database_url="postgres://nobody@127.0.0.1:1/shop", debug=True)
    with django_db_blocker.unblock():
        try:
            fallback.create_database()
            assert fallback.database_url.startswith("sqlite:///")
            assert "temporary SQLite file" in fallback.notes[0]
            assert fallback.db.query("SELECT COUNT(*) FROM shop_product WHERE id > %s", (0,)) == [
                (40,)
            ]
            assert fallback.db.vendor == "sqlite"
        finally:
            fallback.cleanup()
    assert not fallback.tmp.exists()


def test_serve_starts_the_bare_app_on_the_given_port_and_stops_it_when_the_block_fails():
    port = free_port()
    with pytest.raises(RuntimeError, match="inside the block"), serve("bare", port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert WebVisitor(server.url).get("/bare/").json() == {"ok": True}
        master = psutil.Process(server.process.pid)
        workers = master.children()
        raise RuntimeError("inside the block")
    psutil.wait_procs([master, *workers], timeout=5)
    assert not alive([master, *workers])
    assert port_is_free(port)


def test_server_env_keeps_the_safe_defaults_unless_overridden(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "1")
    monkeypatch.setenv("SESSION_STORE", "signed_cookies")
    env = server_env({"SESSION_STORE": "cache"})
    assert env["DJANGO_DEBUG"] == "0"
    assert env["SESSION_STORE"] == "cache"
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings"
    assert server_env(app="bare")["DJANGO_SETTINGS_MODULE"] == "compare.bare.settings"
    assert server_env()["DJANGO_SECRET_KEY"] != server_env()["DJANGO_SECRET_KEY"]


def test_free_ports_come_from_measure_ports_when_it_is_set(monkeypatch):
    monkeypatch.setenv("MEASURE_PORTS", "18290-18299")
    assert 18290 <= free_port() <= 18299
    monkeypatch.setenv("MEASURE_PORTS", "many")
    with pytest.raises(ServerError, match="MEASURE_PORTS"):
        free_port()


def test_the_twins_lock_keeps_simultaneous_adds_as_the_shop_does(drills):
    (figure,) = drills.lost_without_lock(["db"], threads=4, repeats=1)
    assert figure["adds"] == 4
    assert figure["lost"]["locked twin"] == 0
    assert figure["lost"]["shop"] == 0
    assert figure["server_errors"] == 0


def test_the_api_twin_starts_a_cart_adds_to_it_and_refuses_a_forged_token(stage, products):
    with serve("twin", env=stage.env(store="db"), log_dir=stage.log_dir) as twin:
        api = ApiScript(twin.url)
        api.add_path = "/twin/api/cart/items/"
        assert api.add(products[0]) == HTTPStatus.OK
        assert api.add(products[0]) == HTTPStatus.OK
        assert api.last.json()["cart"]["items"][0]["quantity"] == 2
        api.token += "x"
        assert api.add(products[0]) == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("endpoint", ["api_add", "twin_web_add"])
def test_the_profiler_times_an_endpoint_with_debug_off_and_prints_its_profile(endpoint):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compare.measure.profile",
            endpoint,
            "--requests",
            "30",
            "--loops",
            "2",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Ordered by: cumulative time" in result.stdout
    assert f"{endpoint} (db, 10 lines):" in result.stdout
    assert "µs CPU per request (lowest of 2 loops of 30 requests;" in result.stdout
