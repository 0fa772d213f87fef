"""Profile one shop endpoint in-process: µs of CPU per request, and where they go.

    python -m compare.measure.profile api_add --lines 10 --requests 2000
    python -m compare.measure.profile web_add --store cache --lines 10 --top 30

It prepares a throwaway database (the stage of `manage.py compare`), then, in a
child process with DEBUG off and that database, sends the endpoint's request
through Django's whole handler (every middleware) `--requests` times: first
timed (CPU time of the process, no profiler), then under cProfile, whose
functions are printed by cumulative time. The timed figure is the lowest of
`--loops` loops: other work on the machine can only add to a loop's CPU time.
Endpoints: api_add, web_add, and their twins twin_api_add, twin_web_add,
twin_web_add_unlocked.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
ENDPOINTS = ("api_add", "web_add", "twin_api_add", "twin_web_add", "twin_web_add_unlocked")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoint", choices=ENDPOINTS)
    parser.add_argument("--store", default="db", help="SESSION_STORE for web_add (default db)")
    parser.add_argument("--lines", type=int, default=10, help="cart lines (default 10)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per loop")
    parser.add_argument("--loops", type=int, default=5, help="timed loops (default 5)")
    parser.add_argument("--top", type=int, default=25, help="functions to print (0: no profile)")
    parser.add_argument("--settings", default="", help="a settings module to try instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.child:
        child(options)
        return
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from .servers import BASE_DIR, server_env
    from .stage import Stage

    stage = Stage(redis_url=os.environ.get("REDIS_URL", ""))
    try:
        stage.create_database()
        twin = options.endpoint.startswith("twin_")
        env = stage.env(
            store=options.store,
            redis=options.store == "cache",
            settings=options.settings
            or ("compare.bare.twin_settings" if twin else "config.settings"),
        )
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "compare.measure.profile", *sys.argv[1:], "--child"],
            cwd=BASE_DIR,
            env=server_env(env),
            check=True,
        )
    finally:
        stage.cleanup()


def child(options: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.test import Client

    client = Client(enforce_csrf_checks=True, raise_request_exception=True, SERVER_NAME="localhost")
    send = REQUESTS[options.endpoint](client, options.lines)
    for _ in range(50):
        send()
    loops = []
    for _ in range(max(options.loops, 1)):
        started = time.process_time()
        for _ in range(options.requests):
            send()
        loops.append((time.process_time() - started) / options.requests * 1e6)
    if options.top > 0:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(options.requests):
            send()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(options.top)
        print(out.getvalue())
    print(
        f"{options.endpoint} ({options.store}, {options.lines} lines): "
        f"{min(loops):,.0f} µs CPU per request (lowest of {len(loops)} loops of "
        f"{options.requests} requests; median {statistics.median(loops):,.0f}, "
        f"highest {max(loops):,.0f}; without the profiler)"
    )


def _products(lines: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM shop_product WHERE active ORDER BY id")
        return [row[0] for row in cursor.fetchall()][:lines]


def _api(client, lines: int, path: str):
    ids = _products(lines)
    token = client.post("/api/cart/").json()["token"] if path == "/api/cart/items/" else ""
    for pid in ids:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        body = json.dumps({"product_id": pid})
        token = client.post(path, body, content_type="application/json", **headers).json()["token"]
    body = json.dumps({"product_id": ids[0]})
    auth = f"Bearer {token}"

    def send():
        answer = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert answer.status_code == 200, answer.content[:300]

    return send


def _web(client, lines: int, path: str):
    from django.utils.crypto import get_random_string

    ids = _products(lines)
    # A CSRF secret as Django's own cookie holds one; the form sends the same value.
    csrf = get_random_string(32)
    client.cookies["csrftoken"] = csrf
    count = [0]

    def form(pid: int) -> str:  # as a browser sends it, not multipart
        return urlencode({"product_id": pid, "quantity": 1, "csrfmiddlewaretoken": csrf})

    def new_visitor():
        client.cookies.pop("sessionid", None)
        for pid in ids:
            client.post(path, form(pid), content_type=FORM)
        client.cookies.pop("messages", None)

    new_visitor()

    def send():
        count[0] += 1
        if count[0] % (80 * len(ids)) == 0:  # before a line reaches the quantity limit
            new_visitor()
        pid = ids[count[0] % len(ids)]
        answer = client.post(path, form(pid), content_type=FORM)
        assert answer.status_code == 302, answer.content[:300]
        client.cookies.pop("messages", None)

    return send


REQUESTS = {
    "api_add": lambda c, n: _api(c, n, "/api/cart/items/"),
    "twin_api_add": lambda c, n: _api(c, n, "/twin/api/cart/items/"),
    "web_add": lambda c, n: _web(c, n, "/cart/add/"),
    "twin_web_add": lambda c, n: _web(c, n, "/twin/cart/add/"),
    "twin_web_add_unlocked": lambda c, n: _web(c, n, "/twin/cart/add-unlocked/"),
}


if __name__ == "__main__":
    main()
