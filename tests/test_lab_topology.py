"""The lab's topology: what it starts, it removes, also when a step fails."""

import json
import os
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compare.lab import results
from compare.lab.topology import Lab, LabError, LabNeedsRoot, require_root
from compare.models import LabPoint, LabRun

# Ports of the lab's own range (17000-17499), away from the default ones a run uses.
TEST_PORTS = range(17400, 17500)

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="network namespaces need root and iproute2",
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@needs_redis_server
def test_lab_starts_a_redis_replica_and_a_sentinel_and_removes_them_at_close():
    lab = Lab(ports=TEST_PORTS, log=lambda line: None)
    with lab:
        primary = lab.redis("primary")
        replica = lab.redis("replica", replica_of=primary)
        (sentinel,) = lab.sentinels(primary, count=1)
        primary.client().set("lab-test", "1")
        assert replica.client().info("replication")["role"] == "slave"
        master = sentinel.client().execute_command("SENTINEL", "get-master-addr-by-name", "shoplab")
        assert [part.decode() for part in master] == ["127.0.0.1", str(primary.port)]
        assert all(port in TEST_PORTS for port in (primary.port, replica.port, sentinel.port))
        pids = [server.process.pid for server in (primary, replica, sentinel)]
        tmp = lab.tmp
    assert not any(alive(pid) for pid in pids)
    assert not tmp.exists()
    assert lab.pending == []


@needs_redis_server
def test_lab_removes_what_it_started_when_a_later_step_fails():
    lab = Lab(ports=TEST_PORTS, log=lambda line: None)
    with pytest.raises(LabError), lab:
        primary = lab.redis("primary")
        lab.process("broken", ["redis-server", "--port", "not-a-port"]).start()
        lab.wait("broken", lambda: False, lab.process("never", ["true"]).start(), timeout=1)
    assert not alive(primary.process.pid)


def test_a_failing_clean_up_does_not_stop_the_others():
    done = []
    lab = Lab(ports=TEST_PORTS, log=lambda line: None)
    lab.on_close("first", lambda: done.append("first"))
    lab.on_close("broken", lambda: 1 / 0)
    lab.on_close("last", lambda: done.append("last"))
    failed = lab.close()
    assert done == ["last", "first"]
    assert failed == ["broken: division by zero"]


def test_steps_that_need_root_say_so_in_one_line(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabNeedsRoot) as error:
        require_root("lab distance")
    assert "\n" not in str(error.value)
    assert "needs root" in str(error.value)


def test_lab_command_refuses_without_root_in_one_line(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(CommandError, match="lab distance needs root"):
        call_command("lab", "distance", "--no-save")


@needs_root
def test_lab_namespace_and_its_link_are_deleted_at_close():
    with Lab(ports=TEST_PORTS, log=lambda line: None) as lab:
        ns = lab.namespace()
        assert ns.name in namespaces()
        link = subprocess.run(["ip", "link", "show", ns.host_link], capture_output=True)
        assert link.returncode == 0
    assert ns.name not in namespaces()
    link = subprocess.run(["ip", "link", "show", ns.host_link], capture_output=True)
    assert link.returncode != 0


def _netem_missing() -> str:
    if os.geteuid() != 0 or shutil.which("tc") is None:
        return "tc netem needs root and iproute2"
    with Lab(ports=TEST_PORTS, log=lambda line: None) as lab:
        reason = lab.netem_missing(lab.namespace())
    return f"this kernel has no netem: {reason}" if reason else ""


@pytest.mark.skipif(bool(_netem_missing()), reason=_netem_missing() or "netem is available")
def test_netem_is_applied_to_the_lab_link_only_and_removed():
    with Lab(ports=TEST_PORTS, log=lambda line: None) as lab:
        ns = lab.namespace()
        lab.netem(ns, 20)
        shown = lab.qdiscs(ns)
        assert shown.count("netem") == 2
        assert "delay 10ms" in shown
        lab.clear_netem(ns)
        assert "netem" not in lab.qdiscs(ns)
        lab.netem(ns, 5)
    assert ns.name not in namespaces()


def test_points_are_written_as_a_json_list_with_scenario_channel_and_store(tmp_path):
    points = [
        results.Point("distance", "api", None, {"rtt_ms": 0, "p50_ms": 3.2}),
        results.Point("distance", "web", "redis", {"rtt_ms": 5, "p50_ms": None}, note="no netem"),
    ]
    results.write_json(points, tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert data == [
        {"scenario": "distance", "channel": "api", "store": None, "rtt_ms": 0, "p50_ms": 3.2},
        {
            "scenario": "distance",
            "channel": "web",
            "store": "redis",
            "rtt_ms": 5,
            "p50_ms": None,
            "note": "no netem",
        },
    ]


@pytest.mark.django_db
def test_saved_run_keeps_every_point_and_its_figures():
    from django.utils import timezone

    now = timezone.now()
    run = results.save(
        scenario="failover",
        points=[results.Point("failover", "api", None, {"lost_acknowledged": 0})],
        seconds=5,
        report="table",
        notes=["a note"],
        environment={},
        started_at=now,
        finished_at=now,
    )
    assert LabRun.objects.get() == run
    point = LabPoint.objects.get()
    assert (point.channel, point.store, point.figures) == ("api", "", {"lost_acknowledged": 0})
    assert run.notes == "a note"


def test_table_says_dash_for_what_was_not_measured():
    text = results.points_table(
        [results.Point("distance", "web", "db", {"rtt_ms": 20, "rps": None}, note="no netem")],
        ["rtt_ms", "rps"],
    )
    assert text.splitlines()[-1].split() == ["web", "db", "20", "-", "no", "netem"]


@pytest.mark.django_db
def test_comparison_page_shows_the_latest_run_of_each_lab_scenario(admin_client):
    from django.utils import timezone

    def save(scenario, points):
        now = timezone.now()
        return results.save(
            scenario=scenario,
            points=points,
            seconds=5,
            report="",
            notes=["tc netem is missing on this kernel"],
            environment={},
            started_at=now,
            finished_at=now,
        )

    save("failover", [results.Point("failover", "web", "redis", {"unavailable_s": 9.0})])
    latest = save(
        "failover",
        [
            results.Point("failover", "web", "redis", {"unavailable_s": 2.4, "carts_lost": 0}),
            results.Point("failover", "api", None, {"unavailable_s": 0, "carts_lost": 0}),
        ],
    )
    html = admin_client.get("/admin/compare/").content.decode()
    assert f"run #{latest.pk}" in html
    assert "lab failover: unavailable_s" in html  # the chart's title
    assert "<td>2.40</td>" in html
    assert "9.00" not in html  # the older run is not shown
    assert "tc netem is missing on this kernel" in html


@needs_redis_server
def test_the_redis_round_trip_count_leaves_out_what_a_lua_script_runs():
    from compare.lab.scenarios.distance import RedisCommands

    lab = Lab(ports=TEST_PORTS, log=lambda line: None)
    with lab:
        server = lab.redis("counted")
        counter = RedisCommands(server)
        client = server.client()
        client.ping()  # connected before the count starts
        counter.reset()
        client.set("k", "1")  # 1
        client.get("k")  # 2
        # 3: one request, though the script runs GET and SET inside it
        client.eval("redis.call('GET', KEYS[1]); return redis.call('SET', KEYS[1], '2')", 1, "k")
        client.info()  # the lab's own reading: not counted
        assert counter.read() == 3
        counter.reset()
        assert counter.read() == 0
