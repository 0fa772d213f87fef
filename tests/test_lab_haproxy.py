"""The lab's HAProxy: round robin, sticky cookie, health checks, runtime API, drain, clean stop."""

import http.server
import os
import threading
import time
from http import HTTPStatus

import pytest
import requests

from compare.lab.haproxy import (
    INSTANCE_HEADER,
    STICKY_COOKIE,
    Balancer,
    BalancerError,
    haproxy_path,
)
from compare.measure.servers import free_port, wait_port_free

pytestmark = pytest.mark.skipif(
    haproxy_path() is None, reason="HAProxy is not installed: apt-get install haproxy"
)


class Backend:
    """A tiny HTTP server that answers with its own name; `/hold` waits for `release`."""

    def __init__(self, name: str, port: int | None = None) -> None:
        self.name = name
        self.port = port or free_port()
        self.release = threading.Event()
        body = name.encode()
        release = self.release

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/hold":
                    release.wait(timeout=10)
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kill(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backends():
    started = [Backend("a"), Backend("b")]
    yield started
    for backend in started:
        backend.kill()


def balancer(backends, tmp_path, mode):
    return Balancer(
        backends=[(b.name, b.port) for b in backends],
        port=free_port(),
        work_dir=tmp_path,
        mode=mode,
    )


def test_round_robin_alternates_and_says_which_instance_answered(backends, tmp_path):
    with balancer(backends, tmp_path, "round-robin") as lb:
        answers = [requests.get(lb.url + "/", timeout=5) for _ in range(6)]
    served = [answer.text for answer in answers]
    assert sorted(set(served)) == ["a", "b"]
    assert all(served[i] != served[i + 1] for i in range(5))
    assert [answer.headers[INSTANCE_HEADER] for answer in answers] == served
    assert all(STICKY_COOKIE not in answer.cookies for answer in answers)


def test_sticky_mode_keeps_a_visitor_on_one_instance_until_it_dies(backends, tmp_path):
    with balancer(backends, tmp_path, "sticky") as lb, requests.Session() as visitor:
        first = visitor.get(lb.url + "/", timeout=5)
        assert visitor.cookies[STICKY_COOKIE] == first.text
        assert {visitor.get(lb.url + "/", timeout=5).text for _ in range(5)} == {first.text}
        dead = next(b for b in backends if b.name == first.text)
        dead.kill()
        lb.wait_status(dead.name, "DOWN")
        moved = visitor.get(lb.url + "/", timeout=5)
        assert moved.status_code == HTTPStatus.OK
        assert moved.text != dead.name
        assert lb.instances()[dead.name].status.startswith("DOWN")


def test_runtime_api_shows_instances_and_takes_one_out_of_rotation(backends, tmp_path):
    with balancer(backends, tmp_path, "round-robin") as lb:
        lb.wait_status("a", "UP")
        lb.wait_status("b", "UP")
        lb.set_state("a", "maint")
        assert {requests.get(lb.url + "/", timeout=5).text for _ in range(4)} == {"b"}
        states = lb.instances()
        assert states["a"].status == "MAINT"
        assert states["b"].sessions_total >= 4
        lb.set_state("a", "ready")
        lb.wait_status("a", "UP")


def test_taking_an_instance_out_waits_for_its_request_in_flight(backends, tmp_path):
    a = backends[0]
    with balancer(backends, tmp_path, "round-robin") as lb:
        lb.wait_status("a", "UP")
        lb.wait_status("b", "UP")
        held = []
        # Round robin starts at a: the first request is held there.
        visitor = threading.Thread(
            target=lambda: held.append(requests.get(lb.url + "/hold", timeout=10))
        )
        visitor.start()
        lb.wait_status("a", "UP")
        deadline = time.monotonic() + 5
        while lb.instances()["a"].sessions_now == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        out = threading.Thread(target=lb.take_out, args=("a",))
        out.start()
        out.join(timeout=0.5)
        assert out.is_alive()  # still waiting: a has a request to answer
        assert {requests.get(lb.url + "/", timeout=5).text for _ in range(4)} == {"b"}
        a.release.set()
        out.join(timeout=10)
        visitor.join(timeout=10)
        assert not out.is_alive()
        assert [answer.text for answer in held] == ["a"]
        assert lb.instances()["a"].status == "MAINT"


def test_an_instance_restarted_between_take_out_and_put_back_costs_no_request(backends, tmp_path):
    a = backends[0]
    with balancer(backends, tmp_path, "round-robin") as lb:
        lb.wait_status("a", "UP")
        lb.wait_status("b", "UP")
        stop = threading.Event()
        outcomes = []

        def visit():
            with requests.Session() as visitor:  # keep-alive, as a browser would
                while not stop.is_set():
                    try:
                        outcomes.append(visitor.get(lb.url + "/", timeout=5).status_code)
                    except requests.RequestException as error:
                        outcomes.append(repr(error))

        visitors = [threading.Thread(target=visit) for _ in range(4)]
        for thread in visitors:
            thread.start()
        try:
            for _ in range(3):
                lb.take_out("a")
                a.kill()
                a = Backend("a", port=a.port)
                lb.put_back("a")
        finally:
            stop.set()
            for thread in visitors:
                thread.join(timeout=10)
            backends[0] = a  # the fixture stops the last one
        assert len(outcomes) > 50
        assert set(outcomes) == {HTTPStatus.OK}
        assert lb.instances()["a"].status == "UP"


def test_stopping_removes_the_process_its_port_config_and_socket(backends, tmp_path):
    lb = balancer(backends, tmp_path, "round-robin").start()
    pid = lb.process.pid
    assert lb.config_path.exists() and lb.socket_path.exists()
    lb.stop()
    assert not lb.config_path.exists() and not lb.socket_path.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    wait_port_free(lb.port, timeout=2)


def test_a_bad_configuration_is_refused_before_anything_starts(tmp_path):
    lb = Balancer(backends=[("a b", 1)], port=free_port(), work_dir=tmp_path)
    with pytest.raises(BalancerError, match="refused its configuration"):
        lb.start()
    assert lb.process is None


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(BalancerError, match="round-robin, sticky"):
        Balancer(backends=[("a", 1)], port=1, work_dir=tmp_path, mode="random")
