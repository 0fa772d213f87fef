"""Server CPU per request under a light load generator (wrk): the API add, its twin, bare views.

    python -m compare.measure.light --lines 10 --rounds 3 --seconds 6

`manage.py compare` drives every scenario with locust, which checks each answer
in Python and spends 350-850 µs of CPU on every request it sends, on the same
cores as the server: the server's CPU per request then includes what sharing
the machine with it costs (caches, context switches). This probe sends the same
stateless requests with wrk (C, one thread, `--connections` connections), which
spends about 100 µs on each, most of it on the new connection that gunicorn's
sync workers need for every request; the server's figures come closer to its
own cost. Every answer is still checked: a status of 400 or more is one of
wrk's errors, and an add's answer is read in wrk's Lua, which wants status 200
and the added unit in the answer's cart (`"quantity": 2` on the line of the
product added, the others holding 1).

Only requests that stay valid when sent again and again are measured here: the
bare Django and DRF views, and the API add with one token (the shop's and its
twin's), which adds the same unit to the same cart every time. The web adds need
a cookie jar per visitor and change the server's state, so they stay with
locust (`manage.py compare`).

It prepares a throwaway database (the stage of `manage.py compare`), starts the
bare baseline, the twin and the shop under gunicorn (2 sync workers, DEBUG off),
runs the scenarios interleaved in rounds and prints the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .clients import ApiScript, Product
from .load import children_cpu_seconds
from .servers import Server, ServerError, serve


class LightError(RuntimeError):
    """The probe could not run (no wrk, a server or wrk failed) or an answer was wrong."""


@dataclass(frozen=True)
class Target:
    """One scenario: a name, the server that answers it, and wrk's script for it."""

    name: str
    server: Server
    script: Path


@dataclass(frozen=True)
class Run:
    """What one wrk run measured, over its whole duration."""

    requests: int
    seconds: float
    errors: int  # socket errors and answers with a status of 400 or more, as wrk counts them
    wrong: int  # answers the script's check refused
    server_cpu: float
    wrk_cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.server_cpu / max(self.requests, 1) * 1e6

    @property
    def wrk_us(self) -> float:
        return self.wrk_cpu / max(self.requests, 1) * 1e6


# What every script ends with: wrk's own figures, and the answers refused by an
# add's check (counted per wrk thread), summed into one line that `run` reads.
_SUMMARY = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do refused = refused + (thread:get("wrong") or 0) end
  local e = summary.errors
  io.write(string.format("light: requests=%d us=%d errors=%d wrong=%d\\n", summary.requests,
    summary.duration, e.connect + e.read + e.write + e.status + e.timeout, refused))
end
"""

# An add's answers are read in Lua: `check(status, body)` says whether one is right.
_CHECKING = """
wrong = 0
function response(status, headers, body)
  if not check(status, body) then wrong = wrong + 1 end
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string


def get_script(path: str) -> str:
    """A GET of `path`; an answer with a status of 400 or more is one of wrk's own errors.

    Its bodies are not read in Lua, which would cost wrk more than the bare view.
    """
    return f"wrk.path = {_lua_string(path)}\n" + _SUMMARY


def add_script(path: str, token: str, product_id: int, quantity: int) -> str:
    """A POST adding a unit of `product_id` with `token`; the answer must hold `quantity`."""
    body = json.dumps({"product_id": product_id, "quantity": 1})
    # The line of the product, up to the end of its object, must say the quantity.
    line = f'"product_id":%s*{product_id},[^}}]-"quantity":%s*{quantity}[,}}]'
    return (
        f'wrk.method = "POST"\nwrk.path = {_lua_string(path)}\nwrk.body = {_lua_string(body)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {_lua_string("Bearer " + token)}\n'
        f"local line = {_lua_string(line)}\n"
        "function check(status, body)\n"
        "  return status == 200 and string.find(body, line) ~= nil\n"
        "end\n" + _CHECKING + _SUMMARY
    )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LightError("wrk is not installed (Debian: apt-get install wrk).")
    return path


def run(target: Target, *, seconds: int, connections: int) -> Run:
    """One wrk run of `seconds` against the target; CPU read around it."""
    before = target.server.worker_cpu_seconds()
    children = children_cpu_seconds()
    result = subprocess.run(  # noqa: S603
        [
            wrk_path(),
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--script",
            str(target.script),
            target.server.url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    server_cpu = target.server.worker_cpu_seconds() - before
    wrk_cpu = children_cpu_seconds() - children  # wrk, reaped by subprocess.run
    line = next((text for text in result.stdout.splitlines() if text.startswith("light:")), "")
    if not line:
        raise LightError(
            f"wrk printed no figures (exit {result.returncode}): {result.stderr[-500:]}"
        )
    figures = dict(part.split("=") for part in line.split()[1:])
    return Run(
        requests=int(figures["requests"]),
        seconds=int(figures["us"]) / 1e6,
        errors=int(figures["errors"]),
        wrong=int(figures["wrong"]),
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu,
    )


def cart_token(server: Server, add_path: str, product_ids: list[int], *, new_cart: bool) -> str:
    """A token whose cart holds one unit of each product, made by adding them one by one.

    `new_cart` starts with the shop's `POST /api/cart/`; the twin starts a cart with
    its first add.
    """
    client = ApiScript(server.url, add_path=add_path)
    if new_cart:
        client.new_cart()
    for product_id in product_ids:
        client.add(Product(product_id, "", ""))
    if not client.token or any(status >= 300 for status in client.statuses):
        raise LightError(f"building a cart on {server.url}{add_path} got {client.statuses}")
    return client.token


ORDER = ("bare Django view", "bare DRF view", "twin: API add", "API add-to-cart")
TWINS = {"API add-to-cart": "twin: API add"}


def measure(
    stage, *, lines: int, rounds: int, seconds: int, connections: int, log=print
) -> dict[str, list[Run]]:
    """Every scenario's runs, interleaved in rounds, on the stage's database."""
    rows = stage.db.query("SELECT id FROM shop_product WHERE active ORDER BY id")
    product_ids = [row[0] for row in rows][:lines]
    if len(product_ids) < lines:
        raise LightError(f"the catalogue has {len(product_ids)} products, fewer than {lines}")
    scripts = stage.tmp / "light"
    scripts.mkdir(exist_ok=True)

    def script(name: str, text: str) -> Path:
        path = scripts / f"{name}.lua"
        path.write_text(text)
        return path

    shop_env = stage.env(store="db")
    twin_env = stage.env(store="db", settings="compare.bare.twin_settings")
    with (
        serve(
            "bare", env=stage.env(settings="compare.bare.settings"), log_dir=stage.log_dir
        ) as bare,
        serve("twin", env=twin_env, log_dir=stage.log_dir) as twin,
        serve("shop", env=shop_env, log_dir=stage.log_dir) as shop,
    ):
        added = product_ids[0]
        shop_token = cart_token(shop, "/api/cart/items/", product_ids, new_cart=True)
        twin_token = cart_token(twin, "/twin/api/cart/items/", product_ids, new_cart=False)
        targets = [
            Target("bare Django view", bare, script("bare", get_script("/bare/"))),
            Target("bare DRF view", bare, script("bare-drf", get_script("/bare-drf/"))),
            Target(
                "twin: API add",
                twin,
                script("twin", add_script("/twin/api/cart/items/", twin_token, added, 2)),
            ),
            Target(
                "API add-to-cart",
                shop,
                script("api", add_script("/api/cart/items/", shop_token, added, 2)),
            ),
        ]
        runs: dict[str, list[Run]] = {target.name: [] for target in targets}
        for number in range(1, rounds + 1):
            for target in targets:
                result = run(target, seconds=seconds, connections=connections)
                runs[target.name].append(result)
                log(
                    f"  round {number}: {target.name:<18} {result.rps:7,.0f} req/s  "
                    f"server CPU {result.cpu_us:6,.0f} µs/req  wrk {result.wrk_us:4,.0f} µs/req  "
                    f"errors {result.errors}  wrong {result.wrong}"
                )
    return runs


def table(runs: dict[str, list[Run]], *, lines: int) -> list[str]:
    """Medians of the rounds: req/s, ratio to the bare view, CPU, and the API over its twin.

    A ratio (to the bare view, to the twin) is taken in each round, then the median
    of the rounds, as `manage.py compare` takes its own.
    """

    def median(name: str, figure) -> float:
        return statistics.median(figure(run) for run in runs[name])

    def per_round(name: str, other: str, figure) -> list[float]:
        return [
            figure(run) / figure(base) for run, base in zip(runs[name], runs[other], strict=True)
        ]

    out = [
        f"{'scenario':<18}  {'lines':>5}  {'req/s':>6}  {'x bare [spread]':>17}  "
        f"{'CPU µs/req':>10}  {'wrk µs/req':>10}  {'CPU / twin':>10}  {'req/s / twin':>12}  "
        f"{'errors':>6}  {'wrong':>5}"
    ]
    for name in ORDER:
        ratios = per_round(name, "bare Django view", lambda run: run.rps)
        twin = TWINS.get(name)
        versus_cpu = versus_rps = "-"
        if twin:
            versus_cpu = f"{statistics.median(per_round(name, twin, lambda run: run.cpu_us)):.2f}x"
            versus_rps = f"{statistics.median(per_round(name, twin, lambda run: run.rps)):.2f}x"
        spread = f"{statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"
        out.append(
            f"{name:<18}  {lines if 'add' in name else '-':>5}  "
            f"{median(name, lambda run: run.rps):>6,.0f}  {spread:>17}  "
            f"{median(name, lambda run: run.cpu_us):>10,.0f}  "
            f"{median(name, lambda run: run.wrk_us):>10,.0f}  {versus_cpu:>10}  {versus_rps:>12}  "
            f"{sum(run.errors for run in runs[name]):>6}  {sum(run.wrong for run in runs[name]):>5}"
        )
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10, help="cart lines (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, interleaved (default 3)")
    parser.add_argument("--seconds", type=int, default=6, help="seconds per run (default 6)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, *, debug: bool = False) -> list[str]:
    """Run the probe and print its table; returns the table's lines."""
    options = parse(argv)
    wrk_path()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from .stage import Stage

    stage = Stage(user_database_url=os.environ.get("DATABASE_URL", ""), debug=debug)
    try:
        stage.create_database()
        stage.collectstatic()
        print(
            f"Light load: wrk, 1 thread, {options.connections} connections, "
            f"{options.rounds} rounds of {options.seconds} s, a {options.lines}-line cart"
        )
        for note in stage.notes:
            print(f"  note: {note}")
        runs = measure(
            stage,
            lines=options.lines,
            rounds=options.rounds,
            seconds=options.seconds,
            connections=options.connections,
        )
    except (ServerError, subprocess.TimeoutExpired, RuntimeError) as error:
        raise LightError(str(error)) from error
    finally:
        stage.cleanup()
    lines = table(runs, lines=options.lines)
    print("\n".join(["", *lines]))
    failed = sum(run.errors + run.wrong for scenario in runs.values() for run in scenario)
    if failed:
        raise LightError(f"{failed} answers were errors or wrong: the figures above do not count")
    return lines


if __name__ == "__main__":
    try:
        main()
    except LightError as error:
        sys.exit(f"light: {error}")
