"""The printed report: benchmark and drill tables, ratios, targets; and saving it for the admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .drills import DrillOutcome
from .load import ScenarioResult


@dataclass(frozen=True)
class Target:
    scenario: str
    store: str
    minimum: float
    aim: float | None
    label: str


TARGETS = (
    Target("api_add", "", 0.25, 0.35, "API add-to-cart"),
    Target("web_add", "db", 0.12, 0.16, "web add-to-cart, db sessions"),
    Target("web_add", "cache (Redis)", 0.15, None, "web add-to-cart, Redis sessions"),
)


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


def benchmark_table(results: list[ScenarioResult]) -> str:
    headers = [
        "scenario",
        "channel",
        "store",
        "req/s",
        "ratio",
        "p50 ms",
        "p99 ms",
        "errors",
        "CPU µs/req",
        "server B/cart",
        "client B/cart",
    ]
    rows = [
        [
            r.scenario.title,
            r.scenario.channel,
            r.store or "-",
            fmt(r.rps, ".0f"),
            fmt(r.ratio, ".2f") + ("x" if r.ratio is not None else ""),
            fmt(r.p50_ms, ".1f"),
            fmt(r.p99_ms, ".1f"),
            f"{r.failures}/{r.all_requests}",
            fmt(r.cpu_us_per_request, ",.0f"),
            fmt(r.state_bytes, ",d"),
            fmt(r.client_bytes, ",d"),
        ]
        for r in results
    ]
    return table(headers, rows, right={3, 4, 5, 6, 7, 8, 9, 10})


def target_lines(results: list[ScenarioResult]) -> list[str]:
    by_key = {(r.scenario.key, r.store): r for r in results}
    lines = []
    for target in TARGETS:
        result = by_key.get((target.scenario, target.store))
        aim = f", aim {target.aim:.2f}x" if target.aim else ""
        if result is None or result.ratio is None:
            lines.append(
                f"  {target.label}: not measured in this run (target >= {target.minimum:.2f}x)"
            )
            continue
        if result.ratio >= (target.aim or target.minimum):
            state = "met" + (" (aim reached)" if target.aim else "")
        elif result.ratio >= target.minimum:
            state = "met (below the aim)"
        else:
            state = "MISSED"
        cpu = fmt(result.cpu_us_per_request, ",.0f")
        bare = by_key.get(("bare", ""))
        cpu_ratio = ""
        if bare and bare.cpu_us_per_request and result.cpu_us_per_request:
            # Less sensitive to other work on the machine than the throughput ratio.
            share = bare.cpu_us_per_request / result.cpu_us_per_request
            cpu_ratio = f" (bare view's CPU / this: {share:.2f})"
        lines.append(
            f"  {target.label}: {result.ratio:.2f}x, {cpu} µs CPU/request{cpu_ratio} "
            f"(target >= {target.minimum:.2f}x{aim}): {state}"
        )
    return lines


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
) -> str:
    parts = [header]
    if results:
        parts += [
            "",
            "Benchmarks",
            benchmark_table(results),
            "",
            "Targets (ratio to the bare Django view)",
        ]
        parts += target_lines(results)
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
