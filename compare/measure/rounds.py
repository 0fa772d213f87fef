"""The benchmark plan: which scenarios run against which server, interleaved in rounds.

Every scenario of a round runs once, in the order bare, twin, shop, twin, shop,
..., and a figure is the median of its rounds, with the spread (lowest and
highest) beside it. Ratios are taken within a round (to that round's bare view)
before the median, so that a busy minute lowers both sides of a ratio alike.

To add a scenario: a user class in compare/measure/locustfile.py and a
`Scenario` in SCENARIOS (with `twin=` naming its minimal twin, if it has one).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from .load import Scenario, ScenarioResult

BARE = Scenario(
    "bare", "baseline", "bare Django view", "BareView", ("bare: django view",), app="bare"
)
DRF_BARE = Scenario(
    "drf_bare", "baseline", "bare DRF view", "BareDrfView", ("bare: drf view",), app="bare"
)
TWIN_API_ADD = Scenario(
    "twin_api_add",
    "twin",
    "twin: API add (PyJWT, one query)",
    "TwinApiShopper",
    ("twin api: add to cart",),
    ("add",),
    app="twin",
    sized=True,
)
API_ADD = Scenario(
    "api_add",
    "api",
    "API add-to-cart",
    "ApiShopper",
    ("api: add to cart",),
    ("add",),
    twin="twin_api_add",
    sized=True,
)
TWIN_WEB_ADD = Scenario(
    "twin_web_add",
    "twin",
    "twin: web add, locked session",
    "TwinWebShopper",
    ("twin web: add to cart",),
    ("add",),
    app="twin",
    sized=True,
)
TWIN_WEB_ADD_UNLOCKED = Scenario(
    "twin_web_add_unlocked",
    "twin",
    "twin: web add, no lock",
    "UnlockedTwinWebShopper",
    ("twin web unlocked: add to cart",),
    ("add",),
    app="twin",
    sized=True,
)
WEB_ADD = Scenario(
    "web_add",
    "web",
    "web add-to-cart",
    "WebShopper",
    ("web: add to cart",),
    ("add",),
    twin="twin_web_add",
    sized=True,
)
API_JOURNEY = Scenario("api_journey", "api", "API shopper journey", "ApiShopper", (), ("journey",))
WEB_JOURNEY = Scenario("web_journey", "web", "web shopper journey", "WebShopper", (), ("journey",))

SCENARIOS = {
    s.key: s
    for s in (
        BARE,
        DRF_BARE,
        TWIN_API_ADD,
        API_ADD,
        TWIN_WEB_ADD,
        TWIN_WEB_ADD_UNLOCKED,
        WEB_ADD,
        API_JOURNEY,
        WEB_JOURNEY,
    )
}
UNLOCKED_STORES = ("signed_cookies",)  # nothing to lock: the twin is the unlocked one


@dataclass(frozen=True)
class Run:
    """One scenario on one store (the server's) with one cart size, in one round."""

    scenario: Scenario
    store: str  # the session store of the server: db, redis, signed_cookies
    lines: int
    round: int

    @property
    def server(self) -> tuple[str, str]:
        return (self.scenario.app, "" if self.scenario.app == "bare" else self.store)


def twin_key(scenario: Scenario, store: str) -> str:
    if scenario.twin == "twin_web_add" and store in UNLOCKED_STORES:
        return "twin_web_add_unlocked"
    return scenario.twin


def plan(
    *, stores: list[str], lines: list[int], rounds: int, journeys: bool = True
) -> Iterator[Run]:
    """The runs in order: per round the bare view, then each twin just before its shop."""
    api_store = stores[0]
    for number in range(rounds):
        yield Run(BARE, "", 0, number)
        for size in lines:
            yield Run(TWIN_API_ADD, api_store, size, number)
            yield Run(API_ADD, api_store, size, number)
            for store in stores:
                if store not in UNLOCKED_STORES:
                    yield Run(TWIN_WEB_ADD, store, size, number)
                yield Run(TWIN_WEB_ADD_UNLOCKED, store, size, number)
                yield Run(WEB_ADD, store, size, number)
        if number == 0:
            yield Run(DRF_BARE, "", 0, number)
            if journeys:
                yield Run(API_JOURNEY, api_store, 0, number)
                for store in stores:
                    yield Run(WEB_JOURNEY, store, 0, number)


def _spread(values: list[float]) -> tuple[float, float] | None:
    return (min(values), max(values)) if values else None


def median_of_rounds(
    runs: Iterable[tuple[Run, ScenarioResult]],
) -> list[ScenarioResult]:
    """One result per (scenario, store, lines): medians of its rounds, ratios within rounds."""
    runs = list(runs)
    bare_rps = {run.round: result.rps for run, result in runs if run.scenario.key == "bare"}
    groups: dict[tuple[str, str, int], list[tuple[Run, ScenarioResult]]] = {}
    for run, result in runs:
        groups.setdefault((run.scenario.key, run.store, run.lines), []).append((run, result))
    medians: dict[tuple[str, str, int], ScenarioResult] = {}
    for key, members in groups.items():
        results = [result for _, result in members]
        ratios = [
            r.rps / bare_rps[run.round] for run, r in members if bare_rps.get(run.round, 0) > 0
        ]
        cpus = [r.cpu_us_per_request for r in results if r.cpu_us_per_request is not None]
        clients = [
            r.client_cpu_us_per_request for r in results if r.client_cpu_us_per_request is not None
        ]
        first = results[0]
        medians[key] = replace(
            first,
            requests=sum(r.requests for r in results),
            failures=sum(r.failures for r in results),
            all_requests=sum(r.all_requests for r in results),
            rps=statistics.median(r.rps for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            cpu_seconds=sum(r.cpu_seconds or 0.0 for r in results),
            errors=_summed_errors(results),
            ratio=statistics.median(ratios) if ratios else None,
            ratio_spread=_spread(ratios),
            median_cpu_us=statistics.median(cpus) if cpus else None,
            median_client_cpu_us=statistics.median(clients) if clients else None,
            cpu_spread=_spread(cpus),
            rounds=len(results),
            wall_seconds=sum(r.wall_seconds for r in results),
            others_cpu_seconds=sum(r.others_cpu_seconds or 0.0 for r in results),
        )
    _compare_with_twins(groups, medians)
    return list(medians.values())


def _compare_with_twins(groups, medians) -> None:
    """Each shop figure over its twin's, round by round, then the median."""
    for (key, store, lines), members in groups.items():
        scenario = members[0][0].scenario
        twin = groups.get((twin_key(scenario, store), store, lines))
        if not scenario.twin or not twin:
            continue
        twin_by_round = {run.round: result for run, result in twin}
        cpu, rps = [], []
        for run, result in members:
            other = twin_by_round.get(run.round)
            if other is None:
                continue
            if result.cpu_us_per_request and other.cpu_us_per_request:
                cpu.append(result.cpu_us_per_request / other.cpu_us_per_request)
            if other.rps:
                rps.append(result.rps / other.rps)
        median = medians[(key, store, lines)]
        median.twin_cpu_ratio = statistics.median(cpu) if cpu else None
        median.twin_rps_ratio = statistics.median(rps) if rps else None


def _summed_errors(results: list[ScenarioResult]) -> dict[str, int]:
    errors: dict[str, int] = {}
    for result in results:
        for message, count in result.errors.items():
            errors[message] = errors.get(message, 0) + count
    return errors
