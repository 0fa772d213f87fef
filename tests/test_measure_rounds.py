"""The benchmark plan: interleaved rounds, medians and spreads, ratios to bare and to the twin."""

import pytest

from compare.measure.load import ScenarioResult
from compare.measure.rounds import (
    API_ADD,
    BARE,
    TWIN_API_ADD,
    TWIN_WEB_ADD,
    WEB_ADD,
    Run,
    median_of_rounds,
    plan,
)


def figure(scenario, *, rps, cpu_us, store="", lines=0):
    requests = int(rps * 10)
    return ScenarioResult(
        scenario=scenario,
        store=store,
        requests=requests,
        failures=0,
        rps=rps,
        p50_ms=1.0,
        p99_ms=2.0,
        all_requests=requests,
        cpu_seconds=cpu_us * requests / 1e6,
        lines=lines,
    )


def test_each_round_runs_the_bare_view_first_and_each_twin_just_before_its_shop():
    runs = list(plan(stores=["db", "signed_cookies"], lines=[10], rounds=2, journeys=False))
    first = [(r.scenario.key, r.store) for r in runs if r.round == 0]
    assert first[0] == ("bare", "")
    assert first[1:3] == [("twin_api_add", "db"), ("api_add", "db")]
    assert first[3:6] == [
        ("twin_web_add", "db"),
        ("twin_web_add_unlocked", "db"),
        ("web_add", "db"),
    ]
    # Nothing to lock in a signed cookie: its twin is the unlocked one.
    assert first[6:8] == [
        ("twin_web_add_unlocked", "signed_cookies"),
        ("web_add", "signed_cookies"),
    ]
    second = [(r.scenario.key, r.store) for r in runs if r.round == 1]
    assert second == [k for k in first if k[0] != "drf_bare"]


def test_every_cart_size_is_measured_in_every_round():
    runs = list(plan(stores=["db"], lines=[1, 10, 50], rounds=3, journeys=False))
    sizes = {(r.round, r.lines) for r in runs if r.scenario.key == "web_add"}
    assert sizes == {(n, size) for n in range(3) for size in (1, 10, 50)}


def test_a_figure_is_the_median_of_its_rounds_with_ratios_taken_within_each_round():
    runs = []
    for number, (bare_rps, api_rps, api_cpu) in enumerate(
        [(1000, 400, 1500), (500, 180, 1600), (900, 300, 2000)]
    ):
        runs.append((Run(BARE, "", 0, number), figure(BARE, rps=bare_rps, cpu_us=400)))
        runs.append(
            (
                Run(TWIN_API_ADD, "db", 10, number),
                figure(TWIN_API_ADD, rps=api_rps * 1.1, cpu_us=api_cpu / 1.05, lines=10),
            )
        )
        runs.append(
            (
                Run(API_ADD, "db", 10, number),
                figure(API_ADD, rps=api_rps, cpu_us=api_cpu, lines=10),
            )
        )
    medians = {r.scenario.key: r for r in median_of_rounds(runs)}
    api = medians["api_add"]
    assert api.rounds == 3
    assert api.rps == 300
    assert api.ratio == pytest.approx(0.36)  # 0.40, 0.36, 0.333...: the middle one
    assert api.ratio_spread == pytest.approx((1 / 3, 0.40))
    assert api.cpu_us_per_request == pytest.approx(1600)
    assert api.cpu_spread == pytest.approx((1500, 2000))
    assert api.twin_cpu_ratio == pytest.approx(1.05)
    assert api.twin_rps_ratio == pytest.approx(1 / 1.1)
    assert medians["bare"].ratio == pytest.approx(1.0)


def test_the_load_generators_cpu_per_request_is_the_median_of_its_rounds():
    runs = []
    for number, client_us in enumerate([600, 900, 700]):
        api = figure(API_ADD, rps=300, cpu_us=1500, lines=10)
        api.client_cpu_seconds = client_us * api.all_requests / 1e6
        runs.append((Run(API_ADD, "db", 10, number), api))
    (api,) = median_of_rounds(runs)
    assert api.client_cpu_us_per_request == pytest.approx(700)


def test_the_web_shop_is_compared_with_the_twin_of_its_own_store():
    runs = [
        (Run(BARE, "", 0, 0), figure(BARE, rps=1000, cpu_us=400)),
        (Run(TWIN_WEB_ADD, "db", 10, 0), figure(TWIN_WEB_ADD, rps=200, cpu_us=2000, lines=10)),
        (
            Run(TWIN_WEB_ADD, "redis", 10, 0),
            figure(TWIN_WEB_ADD, rps=250, cpu_us=1000, lines=10),
        ),
        (Run(WEB_ADD, "db", 10, 0), figure(WEB_ADD, rps=190, cpu_us=2100, lines=10)),
    ]
    web = next(r for r in median_of_rounds(runs) if r.scenario.key == "web_add")
    assert web.twin_cpu_ratio == pytest.approx(1.05)
