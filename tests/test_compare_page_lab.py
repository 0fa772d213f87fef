"""/admin/compare/: the latest run of each lab scenario, beside the row it proves or qualifies."""

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compare.models import LabPoint, LabRun

URL = "/admin/compare/"
WHEN = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)


def lab_run(scenario: str, points: list[tuple[str, str, dict, str]], *, when=WHEN) -> LabRun:
    run = LabRun.objects.create(
        scenario=scenario, started_at=when, finished_at=when + timedelta(minutes=2), seconds=5
    )
    for channel, store, figures, note in points:
        LabPoint.objects.create(run=run, channel=channel, store=store, figures=figures, note=note)
    return run


def distance_point(channel, store, target, rtt, p50, trips, note=""):
    figures = {"target": target, "rtt_ms": rtt, "moved": "redis", "p50_ms": p50}
    figures |= {"rps": None if p50 is None else 200.0, "p99_ms": p50, "errors": 0}
    return (channel, store, {**figures, "round_trips": trips}, note)


def row(html: str, key: str) -> str:
    """The text of one row of the classic comparison, tags removed."""
    found = re.search(rf'<article class="compare-row" id="row-{key}".*?</article>', html, re.S)
    assert found, f"no row {key}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def test_a_scenario_never_run_says_so_beside_its_row_with_the_command(admin_client):
    html = page(admin_client)
    assert "lab distance : not run yet; run sudo python manage.py lab distance" in row(
        html, "scalability"
    )
    assert "lab balancer : not run yet; run python manage.py lab balancer" in row(
        html, "scalability"
    )
    assert "run python manage.py lab failover" in row(html, "resilience")
    assert "run python manage.py lab rolling-keys" in row(html, "complexity")
    assert "run python manage.py lab header-cliff" in row(html, "session")
    assert 'href="#lab-results"' in html


def test_distance_beside_scalability_gives_p50_at_0_and_20_ms_and_round_trips(admin_client):
    run = lab_run(
        "distance",
        [
            distance_point("api", "", "session_store", 0, 3.1, 0.0),
            distance_point("api", "", "session_store", 20, 3.2, 0.0),
            distance_point("web", "redis", "session_store", 0, 4.5, 2.0),
            distance_point("web", "redis", "session_store", 20, 46.0, 2.0),
            distance_point("web", "redis", "database", 0, 4.4, 7.0),
            distance_point("web", "redis", "database", 20, 148.0, 7.0),
        ],
    )
    html = page(admin_client)
    text = row(html, "scalability")
    assert f"lab distance (run #{run.pk}, 2026-12-04 18:30 UTC)" in text
    assert (
        "session store away: API p50 3.10 ms at 0 ms, 3.20 ms at 20 ms (0.00 round trips a "
        "request); web on redis p50 4.50 ms at 0 ms, 46.00 ms at 20 ms (2.00 round trips" in text
    )
    assert "database away: web on redis p50 4.40 ms at 0 ms, 148 ms at 20 ms (7.00" in text
    assert 'href="#lab-distance"' in html
    assert 'id="lab-distance"' in html  # the section the line links to
    assert "lab distance" not in row(html, "resilience")


def test_a_point_not_measured_says_so_and_shows_no_number(admin_client):
    note = "not measured: this kernel has no netem"
    lab_run(
        "distance",
        [
            distance_point("api", "", "session_store", 0, 3.1, 0.0),
            distance_point("api", "", "session_store", 20, None, None, note),
            distance_point("web", "db", "session_store", 0, None, None, "the load did not run"),
        ],
    )
    text = row(page(admin_client), "scalability")
    assert "API p50 3.10 ms at 0 ms, not measured at 20 ms (0.00 round trips" in text
    assert "web on db p50 not measured at 0 ms, not measured at 20 ms (round trips not" in text
    assert "None" not in text
    assert text.count("not measured: this kernel has no netem") == 1
    assert "the load did not run" in text


def test_failover_beside_resilience_says_how_long_changes_failed_and_what_was_lost(
    admin_client,
):
    figures = {"unavailable_s": 2.4, "acknowledged": 500, "lost_acknowledged": 3}
    lab_run(
        "failover",
        [
            ("web", "redis", {**figures, "carts_lost": 0, "server_errors": 0}, ""),
            ("api", "", {"unavailable_s": 0, "acknowledged": 610, "lost_acknowledged": 0}, ""),
        ],
    )
    text = row(page(admin_client), "resilience")
    assert (
        "web on redis: changes failed for 2.40 s, 3 of 500 acknowledged changes lost, "
        "0 carts lost, 0 answers of 5xx" in text
    )
    # A figure the run did not record is not made up.
    assert "API: changes failed for 0 s, 0 of 610 acknowledged changes lost, not measured" in text


def test_balancer_beside_scalability_says_which_carts_a_killed_instance_took(admin_client):
    lab_run(
        "balancer",
        [
            ("web", "locmem", {"mode": "round-robin", "carts_lost": 4, "moved": 4}, ""),
            ("api", "", {"mode": "round-robin", "carts_lost": 0, "moved": 4}, ""),
            ("web", "redis", {"mode": "sticky", "carts_lost": 0, "moved": 2}, ""),
            ("api", "", {"mode": "sticky", "carts_lost": 0, "moved": 2}, ""),
        ],
    )
    text = row(page(admin_client), "scalability")
    assert "round-robin on locmem: 4 carts lost" in text
    assert "sticky on redis: 0 carts lost" in text
    assert "API: 0 carts lost over 2 runs" in text


def test_rolling_keys_beside_complexity_compares_the_two_rolls(admin_client):
    def point(channel, procedure, refused, lost):
        figures = {"procedure": procedure, "requests": 1388, "refused_401": refused}
        return (
            channel,
            "" if channel == "api" else "db",
            {**figures, "carts_lost": lost, "server_errors": 0},
            "",
        )

    lab_run(
        "rolling-keys",
        [
            point("web", "naive", 0, 4),
            point("api", "naive", 184, 4),
            point("web", "two-phase", 0, 0),
            point("api", "two-phase", 0, 0),
        ],
    )
    text = row(page(admin_client), "complexity")
    assert (
        "naive roll: 184 of 1,388 API requests refused with 401, 4 web carts lost, "
        "0 answers of 5xx; two-phase roll: 0 of 1,388" in text
    )


def test_header_cliff_beside_session_management_gives_the_longest_cart_of_each_hop(
    admin_client,
):
    def point(channel, hop, carrier, per, lines, status, note=""):
        figures = {"hop": hop, "carrier": carrier, "bytes_per_line": per, "max_lines": lines}
        return (
            channel,
            "" if channel == "api" else "signed_cookies",
            {**figures, "status": status},
            note,
        )

    lab_run(
        "header-cliff",
        [
            point("api", "project-lines", "jwt", 11.2, 50, 401),
            point("api", "haproxy", "jwt", 11.2, 1356, 400),
            point("web", "project-lines", "cookie", 7.0, 50, 302),
            point("web", "haproxy", "cookie", 7.0, None, None, "not refused within the grown cart"),
        ],
    )
    text = row(page(admin_client), "session")
    assert "JWT (+11.20 B a line): project-lines 50 lines, then 401, haproxy 1,356 lines" in text
    assert "signed cookie (+7.00 B a line): project-lines 50 lines, then 302, haproxy: not " in text


def test_only_the_latest_run_of_a_scenario_is_shown_beside_its_row(admin_client):
    old = {"unavailable_s": 9.9, "acknowledged": 1, "lost_acknowledged": 1}
    lab_run("failover", [("web", "redis", old, "")], when=WHEN - timedelta(days=1))
    new = lab_run("failover", [("web", "redis", {"unavailable_s": 1.5}, "")])
    text = row(page(admin_client), "resilience")
    assert f"run #{new.pk}" in text
    assert "9.90" not in text


@pytest.mark.django_db
def test_the_lines_beside_the_rows_cost_no_query_per_scenario(client, admin_user):
    client.force_login(admin_user)
    lab_run("failover", [("web", "redis", {"unavailable_s": 1.5}, "")])
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    lab_run("balancer", [("web", "redis", {"mode": "sticky", "carts_lost": 0}, "")])
    lab_run("rolling-keys", [("api", "", {"procedure": "naive", "refused_401": 3}, "")])
    with CaptureQueriesContext(connection) as three:
        client.get(URL)
    assert len(three.captured_queries) == len(one.captured_queries)


def test_every_lab_scenario_has_its_line_beside_a_row_of_the_page(admin_client):
    from compare.lab.scenarios import scenarios

    html = page(admin_client)
    for scenario in scenarios().values():
        assert scenario.speaks_to and scenario.summary, scenario.name
        assert f"lab {scenario.name} :" in row(html, scenario.speaks_to)
