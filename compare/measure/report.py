"""The printed report: benchmark and drill tables, ratios, targets; and saving it for the admin."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from .drills import DrillOutcome
from .load import ScenarioResult


@dataclass(frozen=True)
class Target:
    scenario: str
    store: str
    minimum: float  # ratio to the bare Django view
    label: str


TARGETS = (
    Target("api_add", "", 0.35, "API add-to-cart"),
    Target("web_add", "db", 0.18, "web add-to-cart, db sessions"),
    Target("web_add", "cache (Redis)", 0.18, "web add-to-cart, Redis sessions"),
    Target("web_add", "signed_cookies", 0.0, "web add-to-cart, signed cookies"),
)
TWIN_CPU_LIMIT = 1.1  # a shop endpoint's CPU per request over its minimal twin's, at most
REFERENCE_LINES = 10  # the cart size the targets are stated for


def reference_lines(results: Iterable[ScenarioResult]) -> int:
    sizes = sorted({r.lines for r in results if r.scenario.sized})
    if not sizes or REFERENCE_LINES in sizes:
        return REFERENCE_LINES
    return sizes[len(sizes) // 2]


def apply_ratios(results: Iterable[ScenarioResult], *, baseline_rps: float) -> None:
    """Each scenario's throughput over the bare Django view's, measured in the same run."""
    for result in results:
        result.ratio = result.rps / baseline_rps if baseline_rps > 0 else None


def fmt(value: float | int | None, spec: str, *, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def table(headers: list[str], rows: list[list[str]], *, right: set[int] = frozenset()) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def times(value: float | None) -> str:
    return fmt(value, ".2f") + ("x" if value is not None else "")


def _spread(spread: tuple[float, float] | None, spec: str) -> str:
    return "" if spread is None else f" [{spread[0]:{spec}}-{spread[1]:{spec}}]"


def benchmark_table(results: list[ScenarioResult]) -> str:
    headers = [
        "scenario",
        "channel",
        "store",
        "lines",
        "req/s",
        "x bare [spread]",
        "CPU µs/req [spread]",
        "load gen µs/req",
        "CPU / twin",
        "req/s / twin",
        "p50 ms",
        "p99 ms",
        "errors",
        "lost",
        "server B/cart",
        "client B/cart",
    ]
    rows = [
        [
            r.scenario.title,
            r.scenario.channel,
            r.store or "-",
            str(r.lines) if r.scenario.sized else "-",
            fmt(r.rps, ".0f"),
            fmt(r.ratio, ".2f")
            + ("x" if r.ratio is not None else "")
            + _spread(r.ratio_spread, ".2f"),
            fmt(r.cpu_us_per_request, ",.0f") + _spread(r.cpu_spread, ",.0f"),
            fmt(r.client_cpu_us_per_request, ",.0f"),
            times(r.twin_cpu_ratio),
            times(r.twin_rps_ratio),
            fmt(r.p50_ms, ".1f"),
            fmt(r.p99_ms, ".1f"),
            f"{r.failures}/{r.all_requests}",
            str(r.lost_updates),
            fmt(r.state_bytes, ",d"),
            fmt(r.client_bytes, ",d"),
        ]
        for r in results
    ]
    return table(headers, rows, right=set(range(3, 16)))


def target_lines(results: list[ScenarioResult]) -> list[str]:
    lines_ref = reference_lines(results)
    by_key = {
        (r.scenario.key, r.store): r
        for r in results
        if not r.scenario.sized or r.lines == lines_ref
    }
    lines = []
    for target in TARGETS:
        result = by_key.get((target.scenario, target.store))
        if result is None or result.ratio is None:
            if target.minimum:
                lines.append(
                    f"  {target.label}: not measured in this run (target >= {target.minimum:.2f}x)"
                )
            continue
        parts = [f"  {target.label}, {lines_ref} lines: {result.ratio:.2f}x the bare view"]
        verdicts = []
        if target.minimum:
            parts[0] += f" (target >= {target.minimum:.2f}x)"
            verdicts.append(result.ratio >= target.minimum)
        cpu = fmt(result.cpu_us_per_request, ",.0f")
        if result.twin_cpu_ratio is not None:
            parts.append(
                f"{cpu} µs CPU/request = {result.twin_cpu_ratio:.2f}x its twin's "
                f"(target <= {TWIN_CPU_LIMIT:.1f}x)"
            )
            verdicts.append(result.twin_cpu_ratio <= TWIN_CPU_LIMIT)
        else:
            parts.append(f"{cpu} µs CPU/request (no twin measured)")
        state = "met" if verdicts and all(verdicts) else "MISSED"
        lines.append("; ".join(parts) + f": {state}")
        if target.scenario == "api_add":
            lines += _framework_line(results)
        if target.minimum:
            lines += _budget_line(results, result, target.minimum)
    return lines


def _budget_line(
    results: list[ScenarioResult], result: ScenarioResult, minimum: float
) -> list[str]:
    """What the target leaves the server: the machine's CPU per request, less the generator's.

    The load generator (one locust process) runs on the same cores. It alone bounds the
    bare view's req/s (one process, one core), so a ratio to the bare view also moves
    with what the generator spends on each request of the scenario.
    """
    bare = next((r for r in results if r.scenario.key == "bare"), None)
    client = result.client_cpu_us_per_request
    if bare is None or not bare.rps or client is None or not result.requests:
        return []
    # The ratio counts the measured requests (the adds); CPU per request, the server's and
    # the generator's, is per request sent (setup adds and checks too): the same unit here.
    sent_per_measured = result.all_requests / result.requests
    cores = os.cpu_count() or 1
    budget = cores * 1e6 / (minimum * bare.rps * sent_per_measured)
    bare_client = fmt(bare.client_cpu_us_per_request, ",.0f")
    return [
        f"    at {minimum:.2f}x the bare view's {bare.rps:,.0f} req/s, this machine's "
        f"{cores} cores give each request {budget:,.0f} µs of CPU; the load generator "
        f"took {client:,.0f} of them (on the bare view {bare_client}), which leaves the server "
        f"{budget - client:,.0f} µs"
    ]


def _framework_line(results: list[ScenarioResult]) -> list[str]:
    """What DRF's dispatch alone costs: the API is a DRF view, its twin a plain Django view."""
    cpu = {r.scenario.key: r.cpu_us_per_request for r in results}
    bare, drf = cpu.get("bare"), cpu.get("drf_bare")
    if not (bare and drf):
        return []
    return [
        f"    of which DRF's own dispatch (bare DRF view over bare Django view, this run): "
        f"{drf - bare:+,.0f} µs CPU/request; the API's twin is a plain Django view"
    ]


def lock_lines(results: list[ScenarioResult], lock: list[dict]) -> list[str]:
    """The price of the session lock (the twin with and without it) and what it saves."""
    lines_ref = reference_lines(results)
    twins = {
        (r.scenario.key, r.store): r
        for r in results
        if r.scenario.channel == "twin" and r.lines == lines_ref
    }
    shops = {r.store: r for r in results if r.scenario.key == "web_add" and r.lines == lines_ref}
    out = []
    for store in sorted({store for key, store in twins if key == "twin_web_add"}):
        locked, unlocked = (
            twins.get(("twin_web_add", store)),
            twins.get(("twin_web_add_unlocked", store)),
        )
        if not (locked and unlocked and locked.cpu_us_per_request and unlocked.cpu_us_per_request):
            continue
        extra = locked.cpu_us_per_request - unlocked.cpu_us_per_request
        share = extra / unlocked.cpu_us_per_request
        rps = locked.rps / unlocked.rps if unlocked.rps else 0.0
        out.append(
            f"  {store}, {lines_ref} lines: the lock costs {extra:+,.0f} µs CPU per add "
            f"({share:+.0%}); locked req/s = {rps:.2f}x unlocked"
        )
        shop = shops.get(store)
        if shop and shop.cpu_us_per_request:
            over = shop.cpu_us_per_request - unlocked.cpu_us_per_request
            out.append(
                f"    the shop's add (compare-and-set or lock, and all the shop's own code): "
                f"{over:+,.0f} µs CPU per add over the unlocked twin; "
                f"shop req/s = {shop.rps / unlocked.rps if unlocked.rps else 0.0:.2f}x unlocked"
            )
    for figure in lock:
        lost = figure["lost"]
        out.append(
            f"  {figure['store']}: of {figure['adds']} simultaneous adds to one session, lost "
            f"without the lock {lost['unlocked twin']}, with the twin's lock "
            f"{lost['locked twin']}, in the shop {lost['shop']}"
            + (f" ({figure['server_errors']} x 5xx)" if figure["server_errors"] else "")
        )
    return out


def drill_table(outcomes: list[DrillOutcome]) -> str:
    headers = ["drill", "channel", "store", "expected", "observed", "verdict", "kept", "lost"]
    rows = [
        [
            o.drill,
            o.channel,
            o.store or "-",
            o.expected,
            o.observed + (f" ({len(o.server_errors)} x 5xx)" if o.server_errors else ""),
            "PASS" if o.passed else "FAIL",
            short(o.kept),
            short(o.lost),
        ]
        for o in outcomes
    ]
    return table(headers, rows)


def short(text: str) -> str:
    """The head of a kept/lost description: "2 lines (A, B)" -> "2 lines"."""
    return text.split(" (", 1)[0]


def drill_details(outcomes: list[DrillOutcome]) -> str:
    return "\n".join(
        f"  {o.drill}/{o.channel}{'/' + o.store if o.store else ''}: {o.details}. "
        f"Kept: {o.kept or 'nothing'}. Lost: {o.lost or 'nothing'}."
        for o in outcomes
    )


def render(
    *,
    results: list[ScenarioResult],
    outcomes: list[DrillOutcome],
    skipped: list[str],
    notes: list[str],
    header: str,
    lock: list[dict] | None = None,
) -> str:
    parts = [header]
    if results:
        parts += [
            "",
            "Benchmarks: each shop endpoint beside its minimal twin and the bare view",
            benchmark_table(results),
            "",
            "Targets",
        ]
        parts += target_lines(results)
    lock_text = lock_lines(results, lock or [])
    if lock_text:
        parts += ["", "The price of the session lock, and the lost updates without it"]
        parts += lock_text
    if outcomes:
        passed = sum(o.passed for o in outcomes)
        parts += ["", f"Fault drills ({passed}/{len(outcomes)} as the design predicts)"]
        parts += [drill_table(outcomes), "", "What happened", drill_details(outcomes)]
    if skipped:
        parts += ["", "Skipped"] + [f"  {line}" for line in skipped]
    if notes:
        parts += ["", "Notes"] + [f"  {line}" for line in notes]
    return "\n".join(parts) + "\n"


def save(
    *,
    results: list[ScenarioResult],
    outcomes: list[DrillOutcome],
    report: str,
    environment: dict,
    started_at,
    finished_at,
):
    """Store one run where /admin/compare/ reads it; returns the MeasurementRun."""
    from django.db import transaction

    from compare.models import BenchmarkResult, DrillResult, MeasurementRun

    with transaction.atomic():
        run = MeasurementRun.objects.create(environment=environment, report=report)
        # auto_now_add ignores a value given at creation; the run's real start is set here.
        MeasurementRun.objects.filter(pk=run.pk).update(
            started_at=started_at, finished_at=finished_at
        )
        run.refresh_from_db()
        BenchmarkResult.objects.bulk_create(
            BenchmarkResult(
                run=run,
                scenario=r.scenario.key,
                channel=r.scenario.channel,
                store=r.store,
                requests=r.requests,
                failures=r.failures,
                rps=r.rps,
                p50_ms=r.p50_ms,
                p99_ms=r.p99_ms,
                ratio=r.ratio,
                cpu_us_per_request=r.cpu_us_per_request,
                state_bytes_per_cart=r.state_bytes,
                client_bytes_per_cart=r.client_bytes,
            )
            for r in results
        )
        DrillResult.objects.bulk_create(
            DrillResult(
                run=run,
                drill=o.drill,
                channel=o.channel,
                store=o.store,
                passed=o.passed,
                expected=o.expected[:200],
                observed=o.observed[:200],
                kept=o.kept[:200],
                lost=o.lost[:200],
                details=o.details
                + (f" [5xx answers: {o.server_errors}]" if o.server_errors else ""),
            )
            for o in outcomes
        )
    return run
