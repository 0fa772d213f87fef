"""The measurement report: figures from locust samples, ratios, targets, tables, and saving."""

from datetime import UTC, datetime, timedelta

import pytest

from compare.measure import report
from compare.measure.drills import DrillOutcome
from compare.measure.load import Scenario, ScenarioResult, read_stats, summarise
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
        rps=requests / seconds,
        p50_ms=2.0,
        p99_ms=9.5,
        all_requests=all_requests if all_requests is not None else requests,
        cpu_seconds=cpu,
    )


def stats_row(name, count, failures, rps, p50, p99):
    return {
        "Name": name,
        "Request Count": str(count),
        "Failure Count": str(failures),
        "Requests/s": str(rps),
        "50%": str(p50),
        "99%": str(p99),
    }


def test_summarise_counts_only_the_measured_requests_but_every_failure():
    rows = {
        "web: add to cart": stats_row("web: add to cart", 4, 1, 0.4, 2, 40),
        "web: product page": stats_row("web: product page", 2, 1, 0.2, 5, 6),
        "Aggregated": stats_row("Aggregated", 6, 2, 0.6, 3, 40),
    }
    summary = summarise(
        rows, {"web: product page: boom": 1}, WEB_ADD, store="db", cpu_seconds=0.012
    )
    assert summary.requests == 4
    assert summary.all_requests == 6
    assert summary.failures == 2
    assert summary.rps == pytest.approx(0.4)
    assert summary.p50_ms == 2.0
    assert summary.p99_ms == 40.0
    assert summary.cpu_us_per_request == pytest.approx(2000.0)
    assert summary.errors == {"web: product page: boom": 1}


def test_a_journey_scenario_counts_every_request():
    rows = {
        "web: catalogue": stats_row("web: catalogue", 3, 0, 1.5, 1, 1),
        "web: check out": stats_row("web: check out", 1, 0, 0.5, 9, 9),
        "Aggregated": stats_row("Aggregated", 4, 0, 2.0, 1, 9),
    }
    summary = summarise(rows, {}, JOURNEY, store="db", cpu_seconds=None)
    assert summary.requests == 4
    assert summary.rps == pytest.approx(2.0)


def test_read_stats_reads_locusts_csv_files(tmp_path):
    prefix = tmp_path / "run"
    (tmp_path / "run_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Requests/s,50%,99%\n"
        "POST,api: add to cart,10,1,5.0,12,30\n"
        ",Aggregated,10,1,5.0,12,30\n"
    )
    (tmp_path / "run_failures.csv").write_text(
        'Method,Name,Error,Occurrences\nPOST,api: add to cart,"lost update: x",1\n'
    )
    rows, errors = read_stats(prefix)
    assert rows["api: add to cart"]["Request Count"] == "10"
    assert errors == {"api: add to cart: lost update: x": 1}
    summary = summarise(rows, errors, API_ADD, store="", cpu_seconds=0.01)
    assert summary.lost_updates == 1
    assert summary.cpu_us_per_request == pytest.approx(1000.0)


def test_ratio_is_throughput_over_the_bare_view_of_the_same_run():
    bare = result(BARE, requests=20_000)
    api = result(API_ADD, requests=7_000)
    report.apply_ratios([bare, api], baseline_rps=bare.rps)
    assert bare.ratio == pytest.approx(1.0)
    assert api.ratio == pytest.approx(0.35)


def test_cpu_per_request_is_absent_without_a_cpu_reading():
    assert result(API_ADD, requests=10, cpu=None).cpu_us_per_request is None
    assert result(API_ADD, requests=0, all_requests=0, cpu=1.0).cpu_us_per_request is None


def sized(scenario, lines=10, **kwargs):
    figure = result(scenario, **kwargs)
    figure.lines = lines
    return figure


API_ADD_SIZED = Scenario(
    "api_add", "api", "API add-to-cart", "ApiShopper", ("api: add to cart",), sized=True
)
WEB_ADD_SIZED = Scenario(
    "web_add", "web", "web add-to-cart", "WebShopper", ("web: add to cart",), sized=True
)


def test_targets_ask_for_the_ratio_to_bare_and_the_cpu_over_the_twin_at_ten_lines():
    bare = result(BARE, requests=10_000, cpu=2.0)
    api = sized(API_ADD_SIZED, requests=3_600, cpu=2.0)  # 0.36x bare
    api.twin_cpu_ratio = 1.05
    web_db = sized(WEB_ADD_SIZED, requests=1_900, store="db", cpu=2.0)  # 0.19x bare
    web_db.twin_cpu_ratio = 1.2  # too far above its twin
    web_redis = sized(WEB_ADD_SIZED, requests=1_000, store="cache (Redis)")  # 0.10x
    other_size = sized(API_ADD_SIZED, lines=50, requests=100)
    figures = [bare, api, web_db, web_redis, other_size]
    report.apply_ratios(figures, baseline_rps=bare.rps)
    lines = report.target_lines(figures)
    assert "API add-to-cart, 10 lines: 0.36x the bare view" in lines[0]
    assert "556 µs CPU/request = 1.05x its twin's (target <= 1.1x)" in lines[0]
    assert lines[0].endswith(": met")
    assert "0.19x" in lines[1]
    assert lines[1].endswith("MISSED")
    assert "0.10x" in lines[2]
    assert "no twin measured" in lines[2]
    assert lines[2].endswith("MISSED")


def test_a_target_not_measured_says_so():
    lines = report.target_lines([result(BARE, requests=10)])
    assert lines
    assert all("not measured in this run" in line for line in lines)


def test_benchmark_table_shows_each_figure_in_its_column():
    bare = result(BARE, requests=25_000, cpu=5.0)
    web = sized(WEB_ADD_SIZED, requests=3_000, store="db", cpu=3.0, all_requests=3_100, failures=2)
    web.state_bytes, web.client_bytes = 89, 32
    web.ratio_spread, web.twin_cpu_ratio = (0.11, 0.13), 1.04
    report.apply_ratios([bare, web], baseline_rps=bare.rps)
    lines = report.benchmark_table([bare, web]).splitlines()
    assert lines[0].split()[:5] == ["scenario", "channel", "store", "lines", "req/s"]
    assert set(lines[1]) <= {"-", " "}
    row = lines[3]
    for cell in ("web add-to-cart", "web", "db", " 10 ", "300", "0.12x [0.11-0.13]", "968"):
        assert cell in row
    assert "1.04x" in row
    assert "2/3100" in row
    assert row.split()[-2:] == ["89", "32"]


def test_the_lock_lines_give_its_price_and_the_updates_lost_without_it():
    twin = Scenario("twin_web_add", "twin", "t", "T", (), sized=True)
    unlocked = Scenario("twin_web_add_unlocked", "twin", "u", "U", (), sized=True)
    locked_figure = sized(twin, requests=1_000, store="db", cpu=1.2)  # 1,200 µs
    unlocked_figure = sized(unlocked, requests=1_250, store="db", cpu=1.0)  # 800 µs
    lock = [
        {
            "store": "db",
            "adds": 50,
            "lost": {"unlocked twin": 7, "locked twin": 0, "shop": 0},
            "server_errors": 0,
        }
    ]
    shop = sized(WEB_ADD_SIZED, requests=1_500, store="db", cpu=1.5)  # 1,000 µs
    lines = report.lock_lines([locked_figure, unlocked_figure, shop], lock)
    assert lines[0] == (
        "  db, 10 lines: the lock costs +400 µs CPU per add (+50%); locked req/s = 0.80x unlocked"
    )
    assert "shop's add" in lines[1]
    assert "+200 µs CPU per add over the unlocked twin; shop req/s = 1.20x unlocked" in lines[1]
    assert "lost without the lock 7, with the twin's lock 0, in the shop 0" in lines[2]


def test_the_api_target_says_what_drfs_own_dispatch_costs_in_the_same_run():
    bare = result(BARE, requests=10_000, cpu=4.0)  # 400 µs
    drf = result(
        Scenario("drf_bare", "baseline", "bare DRF view", "BareDrfView", ()),
        requests=8_000,
        cpu=4.8,  # 600 µs
    )
    api = sized(API_ADD_SIZED, requests=3_600, cpu=6.0)
    report.apply_ratios([bare, drf, api], baseline_rps=bare.rps)
    lines = report.target_lines([bare, drf, api])
    assert "DRF's own dispatch" in lines[1]
    assert "+200 µs CPU/request" in lines[1]


def test_a_ratio_target_says_how_much_cpu_it_leaves_the_server_beside_the_load_generator(
    monkeypatch,
):
    monkeypatch.setattr(report.os, "cpu_count", lambda: 2)
    bare = result(BARE, requests=30_000, cpu=9.0)  # 3,000 req/s
    bare.client_cpu_seconds = 9.0  # 300 µs per request
    # 900 measured adds a second (0.30x), 1,000 requests sent a second with the setup adds
    api = sized(API_ADD_SIZED, requests=9_000, all_requests=10_000, cpu=13.5)
    api.client_cpu_seconds = 6.0  # 600 µs per request sent
    report.apply_ratios([bare, api], baseline_rps=bare.rps)
    lines = report.target_lines([bare, api])
    assert lines[0].endswith("MISSED")
    # At 0.35x: 1,050 adds and 1,167 requests a second; 2 cores / 1,167 = 1,714 µs a request
    assert lines[1] == (
        "    at 0.35x the bare view's 3,000 req/s, this machine's 2 cores give each request "
        "1,714 µs of CPU; the load generator took 600 of them (on the bare view 300), which "
        "leaves the server 1,114 µs"
    )
    assert "600" in report.benchmark_table([bare, api]).splitlines()[3]


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
