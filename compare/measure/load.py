"""Run one locust scenario headless against a server and turn its samples into figures."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .servers import BASE_DIR, Server

LOCUSTFILES = "tests/load/locustfile.py,compare/bare/locustfile.py"


@dataclass(frozen=True)
class Scenario:
    """What to run: a locust user class, its tags, and the request names that count."""

    key: str  # "bare", "api_add", "web_add" ...
    channel: str  # "baseline", "api" or "web"
    title: str
    user_class: str
    measured: tuple[str, ...]  # request names that make the figure; () for every request
    tags: tuple[str, ...] = ()


@dataclass
class ScenarioResult:
    scenario: Scenario
    store: str
    requests: int  # of the measured request names
    failures: int  # over every request of the run
    seconds: float
    p50_ms: float
    p99_ms: float
    all_requests: int
    cpu_seconds: float | None
    errors: dict[str, int] = field(default_factory=dict)
    ratio: float | None = None
    state_bytes: int | None = None
    client_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.cpu_seconds is None or not self.all_requests:
            return None
        return self.cpu_seconds / self.all_requests * 1e6


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summarise(
    data: dict, scenario: Scenario, *, store: str, cpu_seconds: float | None
) -> ScenarioResult:
    """Figures of one run from the JSON the locustfile's recorder wrote."""
    entries = data.get("requests", {})
    names = scenario.measured or tuple(entries)
    measured = [entries[name] for name in names if name in entries]
    times = [t for entry in measured for t in entry["times"]]
    return ScenarioResult(
        scenario=scenario,
        store=store,
        requests=sum(entry["count"] for entry in measured),
        failures=sum(entry["failures"] for entry in entries.values()),
        seconds=max(0.0, data.get("stopped", 0) - data.get("started", 0)),
        p50_ms=percentile(times, 0.50),
        p99_ms=percentile(times, 0.99),
        all_requests=sum(entry["count"] for entry in entries.values()),
        cpu_seconds=cpu_seconds,
        errors=dict(data.get("errors", {})),
    )


def locust_command(scenario: Scenario, *, host: str, seconds: int, users: int) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        LOCUSTFILES,
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
        "--loglevel",
        "WARNING",
    ]
    if scenario.tags:
        command += ["--tags", *scenario.tags]
    return command


def run_scenario(
    scenario: Scenario,
    server: Server,
    *,
    store: str,
    seconds: int,
    users: int,
    work_dir: Path,
    products_file: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> ScenarioResult:
    """Run locust for `seconds` against `server`; CPU is read from its workers around the run."""
    results = work_dir / f"{scenario.key}-{store or 'none'}.json"
    results.unlink(missing_ok=True)
    env = dict(os.environ, LOCUST_RESULTS_FILE=str(results), LOCUST_WAIT="0")
    if products_file is not None:
        env["LOAD_PRODUCTS_FILE"] = str(products_file)
    log = open(work_dir / f"locust-{scenario.key}-{store or 'none'}.log", "wb")  # noqa: SIM115
    cpu_before = server.worker_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        locust_command(scenario, host=server.url, seconds=seconds, users=users),
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
    cpu_after = server.worker_cpu_seconds()
    if not results.exists():
        tail = (work_dir / f"locust-{scenario.key}-{store or 'none'}.log").read_text(
            errors="replace"
        )[-1500:]
        raise RuntimeError(f"locust wrote no results (exit {process.returncode}):\n{tail}")
    data = json.loads(results.read_text())
    return summarise(data, scenario, store=store, cpu_seconds=max(0.0, cpu_after - cpu_before))
