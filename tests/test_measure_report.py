"""The measurement report: figures from locust samples, ratios, targets, tables, and saving."""

from datetime import UTC, datetime, timedelta

import pytest

from compare.measure import report
from compare.measure.drills import DrillOutcome
from compare.measure.load import Scenario, ScenarioResult, percentile, summarise
from compare.models import BenchmarkResult, DrillResult, MeasurementRun

BARE = Scenario("bare", "baseline", "bare Django view", "BareView", ("bare: django view",))
API_ADD = Scenario("api_add", "api", "API add-to-cart", "ApiShopper", ("api: add to cart",))
WEB_ADD = Scenario("web_add", "web", "web add-to-cart", "WebShopper", ("web: add to cart",))
JOURNEY = Scenario("web_journey", "web", "web shopper journey", "WebShopper", ())


def result(scenario, *, requests, seconds=10.0, store="", cpu=None, all_requests=None, failures=0):
    return ScenarioResult(
        scenario=scenario,
        store=store,
        requests=requests,
        failures=failures,
        seconds=seconds,
        p50_ms=2.0,
        p99_ms=9.5,
        all_requests=all_requests if all_requests is not None else requests,
        cpu_seconds=cpu,
    )


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_summarise_counts_only_the_measured_requests_but_every_failure():
    data = {
        "started": 100.0,
        "stopped": 110.0,
        "requests": {
            "web: add to cart": {"count": 4, "failures": 1, "times": [1.0, 2.0, 3.0, 40.0]},
            "web: product page": {"count": 2, "failures": 1, "times": [5.0, 6.0]},
        },
        "errors": {"web: product page: boom": 1},
    }
    summary = summarise(data, WEB_ADD, store="db", cpu_seconds=0.012)
    assert summary.requests == 4
    assert summary.all_requests == 6
    assert summary.failures == 2
    assert summary.rps == pytest.approx(0.4)
    assert summary.p50_ms == 2.0
    assert summary.p99_ms == 40.0
    assert summary.cpu_us_per_request == pytest.approx(2000.0)
    assert summary.errors == {"web: product page: boom": 1}


def test_a_journey_scenario_counts_every_request():
    data = {
        "started": 0.0,
        "stopped": 2.0,
        "requests": {
            "web: catalogue": {"count": 3, "failures": 0, "times": [1.0, 1.0, 1.0]},
            "web: check out": {"count": 1, "failures": 0, "times": [9.0]},
        },
    }
    assert summarise(data, JOURNEY, store="db", cpu_seconds=None).requests == 4


def test_ratio_is_throughput_over_the_bare_view_of_the_same_run():
    bare = result(BARE, requests=20_000)
    api = result(API_ADD, requests=7_000)
    report.apply_ratios([bare, api], baseline_rps=bare.rps)
    assert bare.ratio == pytest.approx(1.0)
    assert api.ratio == pytest.approx(0.35)


def test_cpu_per_request_is_absent_without_a_cpu_reading():
    assert result(API_ADD, requests=10, cpu=None).cpu_us_per_request is None
    assert result(API_ADD, requests=0, all_requests=0, cpu=1.0).cpu_us_per_request is None


def test_targets_say_met_below_aim_and_missed():
    bare = result(BARE, requests=10_000, cpu=2.0)  # 200 µs per request
    api = result(API_ADD, requests=3_600, cpu=2.0)  # 0.36x: aim reached
    web_db = result(WEB_ADD, requests=1_300, store="db")  # 0.13x: met, below the aim
    web_redis = result(WEB_ADD, requests=1_000, store="cache (Redis)")  # 0.10x: missed
    report.apply_ratios([bare, api, web_db, web_redis], baseline_rps=bare.rps)
    lines = report.target_lines([bare, api, web_db, web_redis])
    assert "API add-to-cart: 0.36x" in lines[0]
    assert "met (aim reached)" in lines[0]
    assert "556 µs CPU/request" in lines[0]  # 2 s over 3,600 requests
    assert "(bare view's CPU / this: 0.36)" in lines[0]
    assert "0.13x" in lines[1]
    assert lines[1].endswith("met (below the aim)")
    assert "0.10x" in lines[2]
    assert lines[2].endswith("MISSED")


def test_a_target_not_measured_says_so():
    lines = report.target_lines([result(BARE, requests=10)])
    assert all("not measured in this run" in line for line in lines)


def test_benchmark_table_shows_each_figure_in_its_column():
    bare = result(BARE, requests=25_000, cpu=5.0)
    web = result(WEB_ADD, requests=3_000, store="db", cpu=3.0, all_requests=3_100, failures=2)
    web.state_bytes, web.client_bytes = 89, 32
    report.apply_ratios([bare, web], baseline_rps=bare.rps)
    lines = report.benchmark_table([bare, web]).splitlines()
    assert lines[0].split()[:4] == ["scenario", "channel", "store", "req/s"]
    assert set(lines[1]) <= {"-", " "}
    row = lines[3]
    for cell in ("web add-to-cart", "web", "db", "300", "0.12x", "2.0", "9.5", "2/3100", "968"):
        assert cell in row
    assert row.rstrip().endswith("89             32") or row.split()[-2:] == ["89", "32"]


def test_drill_table_shows_verdicts_and_short_kept_and_lost():
    outcomes = [
        DrillOutcome("restart", "api", "", "kept", "kept", kept="2 lines (A, B)", lost="nothing"),
        DrillOutcome(
            "two_instances",
            "web",
            "db",
            "works",
            "breaks",
            kept="nothing",
            lost="3 lines (A, B, C)",
        ),
    ]
    text = report.drill_table(outcomes)
    rows = text.splitlines()[2:]
    assert "PASS" in rows[0]
    assert "2 lines" in rows[0]
    assert "(A, B)" not in rows[0]
    assert "FAIL" in rows[1]
    assert "3 lines" in rows[1]


def test_render_lists_skipped_stores_and_notes():
    text = report.render(
        results=[],
        outcomes=[],
        skipped=["cache store on Redis: skipped: set REDIS_URL to measure it"],
        notes=["API add-to-cart run wrote nothing"],
        header="manage.py compare",
    )
    assert "Skipped\n  cache store on Redis: skipped: set REDIS_URL" in text
    assert "Notes\n  API add-to-cart run wrote nothing" in text
    assert "Benchmarks" not in text


def test_save_stores_the_run_its_benchmarks_and_drills(db):
    bare = result(BARE, requests=20_000, cpu=4.0)
    web = result(WEB_ADD, requests=3_000, store="db", cpu=3.0)
    web.state_bytes, web.client_bytes = 89, 32
    report.apply_ratios([bare, web], baseline_rps=bare.rps)
    drill = DrillOutcome(
        "store_lost",
        "web",
        "cache (Redis)",
        "lost",
        "lost",
        kept="nothing",
        lost="2 lines (A, B)",
        details="deleted 3 keys",
    )
    started = datetime.now(UTC) - timedelta(minutes=3)
    run = report.save(
        results=[bare, web],
        outcomes=[drill],
        report="the table",
        environment={"cpus": 2},
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    run = MeasurementRun.objects.get(pk=run.pk)
    assert run.report == "the table"
    assert run.environment == {"cpus": 2}
    assert run.started_at == started
    saved = BenchmarkResult.objects.get(run=run, scenario="web_add")
    assert saved.store == "db"
    assert saved.ratio == pytest.approx(0.15)
    assert saved.cpu_us_per_request == pytest.approx(1000.0)
    assert (saved.state_bytes_per_cart, saved.client_bytes_per_cart) == (89, 32)
    saved_drill = DrillResult.objects.get(run=run)
    assert saved_drill.passed
    assert (saved_drill.expected, saved_drill.observed) == ("lost", "lost")
    assert saved_drill.lost == "2 lines (A, B)"
