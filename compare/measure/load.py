"""Run one locust scenario headless against a server and read locust's own statistics.

A scenario names a user class of compare/measure/locustfile.py, its tags and
the request names that make its figure; locust writes its statistics as CSV
(`--csv`), and `summarise` reads them. CPU is read from the server's workers
around the run, and the machine's busy time beside it, so that the report can
say how much other processes took.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .servers import BASE_DIR, Server

LOCUSTFILE = "compare/measure/locustfile.py"


@dataclass(frozen=True)
class Scenario:
    """What to run: a locust user class, its tags, and the request names that count."""

    key: str  # "bare", "api_add", "web_add" ...
    channel: str  # "baseline", "api" or "web"
    title: str
    user_class: str
    measured: tuple[str, ...]  # request names that make the figure; () for every request
    tags: tuple[str, ...] = ()
    app: str = "shop"  # the server it runs against: a key of servers.APPS
    twin: str = ""  # key of the scenario that is this one's minimal twin
    sized: bool = False  # an add-only scenario whose cart size (lines) matters


@dataclass
class ScenarioResult:
    scenario: Scenario
    store: str
    requests: int  # of the measured request names
    failures: int  # over every request of the run
    rps: float  # of the measured request names, as locust counts it
    p50_ms: float
    p99_ms: float
    all_requests: int
    cpu_seconds: float | None
    errors: dict[str, int] = field(default_factory=dict)
    ratio: float | None = None
    state_bytes: int | None = None
    client_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    lines: int = 0  # the add-only scenarios' cart size
    wall_seconds: float = 0.0
    others_cpu_seconds: float | None = None  # CPU that other processes took meanwhile
    client_cpu_seconds: float | None = None  # CPU of the load generator (locust) during the run
    # Set on the median of several rounds (compare.measure.rounds):
    rounds: int = 1
    ratio_spread: tuple[float, float] | None = None
    cpu_spread: tuple[float, float] | None = None
    twin_cpu_ratio: float | None = None  # this one's CPU per request / its twin's
    twin_rps_ratio: float | None = None  # this one's req/s / its twin's
    median_cpu_us: float | None = None
    median_client_cpu_us: float | None = None

    @property
    def cpu_us_per_request(self) -> float | None:
        """The server's CPU per request sent (the gunicorn workers')."""
        return self._us_per_request(self.median_cpu_us, self.cpu_seconds)

    @property
    def client_cpu_us_per_request(self) -> float | None:
        """The load generator's CPU per request it sent: its share of the same cores."""
        return self._us_per_request(self.median_client_cpu_us, self.client_cpu_seconds)

    def _us_per_request(self, median: float | None, seconds: float | None) -> float | None:
        """The median of the rounds where there is one, else `seconds` over every request sent."""
        if median is not None:
            return median
        if seconds is None or not self.all_requests:
            return None
        return seconds / self.all_requests * 1e6

    @property
    def lost_updates(self) -> int:
        return sum(n for message, n in self.errors.items() if "lost update" in message)


def read_stats(prefix: Path) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """Locust's CSV statistics: rows by request name ("Aggregated" too), and errors counted."""
    with open(f"{prefix}_stats.csv", encoding="utf-8", newline="") as source:
        rows = {row["Name"]: row for row in csv.DictReader(source)}
    errors: dict[str, int] = {}
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with open(failures, encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                message = f"{row['Name']}: {row['Error']}"[:300]
                errors[message] = errors.get(message, 0) + int(row["Occurrences"])
    return rows, errors


def _number(row: dict[str, str], column: str) -> float:
    value = row.get(column, "") or "0"
    return 0.0 if value == "N/A" else float(value)


def summarise(
    rows: dict[str, dict[str, str]],
    errors: dict[str, int],
    scenario: Scenario,
    *,
    store: str,
    cpu_seconds: float | None,
) -> ScenarioResult:
    """Figures of one run from locust's statistics: the measured name's row, or every request."""
    total = rows.get("Aggregated", {})
    names = [name for name in scenario.measured if name in rows]
    if not scenario.measured:
        measured = [total] if total else []
    else:
        measured = [rows[name] for name in names]
    # One measured name: its own percentiles; several: the heaviest one's.
    main = max(measured, key=lambda row: _number(row, "Request Count"), default={})
    return ScenarioResult(
        scenario=scenario,
        store=store,
        requests=int(sum(_number(row, "Request Count") for row in measured)),
        failures=int(_number(total, "Failure Count")),
        rps=sum(_number(row, "Requests/s") for row in measured),
        p50_ms=_number(main, "50%"),
        p99_ms=_number(main, "99%"),
        all_requests=int(_number(total, "Request Count")),
        cpu_seconds=cpu_seconds,
        errors=errors,
    )


def locust_command(
    scenario: Scenario, *, host: str, seconds: int, users: int, csv_prefix: Path
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        LOCUSTFILE,
        scenario.user_class,
        "--headless",
        "--host",
        host,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "2",
        "--only-summary",
        "--csv",
        str(csv_prefix),
        "--loglevel",
        "WARNING",
    ]
    if scenario.tags:
        command += ["--tags", *scenario.tags]
    return command


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent working (not idle) since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_of_the_run(path: Path) -> float | None:
    """The CPU locust wrote it spent from the test's start to its end (see locustfile.py)."""
    try:
        return float(path.read_text())
    except (OSError, ValueError):
        return None


def run_scenario(
    scenario: Scenario,
    server: Server,
    *,
    store: str,
    seconds: int,
    users: int,
    work_dir: Path,
    products_file: Path | None = None,
    lines: int = 2,
    progress: Callable[[float], None] | None = None,
    env: dict[str, str] | None = None,
) -> ScenarioResult:
    """Run locust for `seconds` against `server`; CPU is read from its workers around the run."""
    name = f"{scenario.key}-{store or 'none'}-{lines}"
    prefix = work_dir / name
    for suffix in ("_stats.csv", "_failures.csv"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    cpu_file = work_dir / f"{name}.cpu"
    cpu_file.unlink(missing_ok=True)
    env = dict(
        os.environ,
        **(env or {}),
        LOCUST_WAIT="0",
        LOAD_CART_LINES=str(lines),
        LOAD_CPU_FILE=str(cpu_file),
    )
    if products_file is not None:
        env["LOAD_PRODUCTS_FILE"] = str(products_file)
    log_path = work_dir / f"locust-{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    cpu_before, busy_before = server.worker_cpu_seconds(), busy_cpu_seconds()
    own_before, children_before = time.process_time(), children_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        locust_command(scenario, host=server.url, seconds=seconds, users=users, csv_prefix=prefix),
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        limit = seconds + 30
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if progress is not None:
                progress(min(1.0, elapsed / seconds))
            if elapsed > limit:
                raise TimeoutError(f"locust did not finish within {limit} s")
            time.sleep(0.25)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    wall = time.monotonic() - started
    cpu = max(0.0, server.worker_cpu_seconds() - cpu_before)
    locust = children_cpu_seconds() - children_before  # the whole process, reaped by wait()
    ours = cpu + locust + (time.process_time() - own_before)
    others = max(0.0, busy_cpu_seconds() - busy_before - ours)
    if not Path(f"{prefix}_stats.csv").exists():
        tail = log_path.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"locust wrote no statistics (exit {process.returncode}):\n{tail}")
    rows, errors = read_stats(prefix)
    result = summarise(rows, errors, scenario, store=store, cpu_seconds=cpu)
    result.lines, result.wall_seconds, result.others_cpu_seconds = lines, wall, others
    result.client_cpu_seconds = _cpu_of_the_run(cpu_file)
    return result
