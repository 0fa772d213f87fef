"""The comparison page shows the session lock's price and the updates lost without it."""

import pytest
from django.utils import timezone

from compare.lock_price import lock_prices
from compare.models import BenchmarkResult, MeasurementRun

URL = "/admin/compare/"
LOCK = [
    {
        "store": "db",
        "adds": 50,
        "lost": {"unlocked twin": 7, "locked twin": 0, "shop": 0},
        "server_errors": 0,
    }
]


@pytest.fixture
def run_with_twins(db):
    run = MeasurementRun.objects.create(finished_at=timezone.now(), environment={"lock": LOCK})
    BenchmarkResult.objects.bulk_create(
        [
            BenchmarkResult(run=run, scenario=scenario, channel=channel, store="db",
                            requests=1000, rps=rps, p50_ms=1.0, p99_ms=2.0, cpu_us_per_request=cpu)
            for scenario, channel, rps, cpu in (
                ("twin_web_add", "twin", 400.0, 1800.0),
                ("twin_web_add_unlocked", "twin", 500.0, 1500.0),
                ("web_add", "web", 380.0, 1900.0),
            )
        ]
    )  # fmt: skip
    return run


def test_the_lock_costs_the_locked_twins_cpu_over_the_unlocked_one(run_with_twins):
    (row,) = lock_prices(run_with_twins, run_with_twins.benchmarks.all())
    assert (row.store, row.locked_us, row.unlocked_us, row.shop_us) == ("db", 1800, 1500, 1900)
    assert row.extra_us == 300
    assert row.extra_share == pytest.approx(20)
    assert (row.lost_unlocked, row.lost_locked, row.lost_shop, row.adds) == (7, 0, 0, 50)


def test_no_run_has_no_lock_price():
    assert lock_prices(None, []) == []


def test_the_page_shows_the_lock_price_and_the_lost_lines(admin_client, run_with_twins):
    html = admin_client.get(URL).content.decode()
    assert "The price of the session lock" in html
    assert "300 (20 %)" in html
    assert "7 of 50" in html
    assert "[{&#x27;store&#x27;" not in html  # the raw figures are not dumped as an environment
