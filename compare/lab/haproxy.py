"""HAProxy in front of the lab's shop instances: writes its configuration, runs it, reads it.

Debian's haproxy (`apt-get install haproxy`) runs in the foreground (`-db`) in
its own process group, on 127.0.0.1, with a configuration written to the
lab's work directory. Two ways to spread visitors:

- `round-robin`: each request to the next instance, whoever the visitor is.
- `sticky`: HAProxy inserts a cookie naming the instance (`LAB_INSTANCE`) and
  sends the visitor back there, as long as that instance is up. When it is
  not, `option redispatch` sends the visitor elsewhere: the cookie only hides
  an unshared session store until an instance dies.

A TCP health check every `check_ms` marks a killed instance DOWN; a request
whose connection is refused is retried, on another instance. A check cannot
save a request that an instance had already taken when it went away: its
listening socket may hold connections no worker has accepted yet, and closing
it resets them (HAProxy then closes the visitor's connection without an
answer). So an instance that is stopped on purpose is first taken out of
rotation (`take_out`: `maint`, then wait until its last request is answered)
and put back once it answers again (`put_back`: `ready`, then wait for UP). Every answer
carries `X-Lab-Instance` (the instance that served it), so a client can tell
when it moved. The runtime API (a Unix socket at admin level) shows each
instance's state and can take one out of rotation or put it back.

    with Balancer(backends=[("a", 17501), ("b", 17502)], port=17500, work_dir=d) as lb:
        requests.get(lb.url + "/cart/")
        lb.instances()          # {"a": InstanceState(status="UP", ...), ...}
        lb.set_state("a", "maint")
        lb.take_out("a"); restart_it(); lb.put_back("a")   # a restart that costs no request
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
MODES = ("round-robin", "sticky")
STICKY_COOKIE = "LAB_INSTANCE"
INSTANCE_HEADER = "X-Lab-Instance"
DEFAULT_BUFSIZE = 16384  # HAProxy's default tune.bufsize
# The reserve the manual advises; a request's headers must fit in the rest of the buffer.
DEFAULT_MAXREWRITE = 1024


def haproxy_path() -> str | None:
    """The haproxy binary (PATH, then Debian's /usr/sbin), or None when it is not installed."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    return found


class BalancerError(RuntimeError):
    """HAProxy is missing, refused its configuration, or did not start."""


@dataclass(frozen=True)
class InstanceState:
    """One backend server as HAProxy sees it (from `show stat`)."""

    name: str
    status: str  # UP, DOWN, MAINT, "no check"...
    sessions_total: int  # connections HAProxy sent it so far
    sessions_now: int
    failed_connections: int  # econ: connection errors
    redispatched: int  # wredis: requests moved to another server


@dataclass
class Balancer:
    """One HAProxy process in HTTP mode in front of `backends` (name, port) on 127.0.0.1."""

    backends: list[tuple[str, int]]
    port: int
    work_dir: Path
    mode: str = "round-robin"
    bufsize: int = DEFAULT_BUFSIZE
    maxrewrite: int = DEFAULT_MAXREWRITE
    check_ms: int = 300
    timeout_server_s: int = 30
    process: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise BalancerError(f"mode {self.mode!r} is not one of: {', '.join(MODES)}")
        names = [name for name, _ in self.backends]
        if not names or len(set(names)) != len(names):
            raise BalancerError("backends need one or more distinct names")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.work_dir / f"haproxy-{self.port}.cfg"

    @property
    def socket_path(self) -> Path:
        return self.work_dir / f"haproxy-{self.port}.sock"

    @property
    def log_path(self) -> Path:
        return self.work_dir / f"haproxy-{self.port}.log"

    @property
    def request_header_limit(self) -> int:
        """Bytes of request line and headers HAProxy accepts: bufsize minus maxrewrite."""
        return self.bufsize - self.maxrewrite

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def config(self) -> str:
        """The whole haproxy.cfg for this balancer."""
        sticky = self.mode == "sticky"
        servers = "\n".join(
            f"    server {name} {HOST}:{port} check inter {self.check_ms}ms fall 1 rise 2"
            + (f" cookie {name}" if sticky else "")
            for name, port in self.backends
        )
        return f"""\
# Written by compare/lab/haproxy.py for one lab run; removed with it.
global
    maxconn 512
    tune.bufsize {self.bufsize}
    tune.maxrewrite {self.maxrewrite}
    stats socket {self.socket_path} mode 600 level admin
    stats timeout 10s

defaults
    mode http
    option httplog
    option redispatch
    retries 2
    timeout connect 2s
    timeout client 30s
    timeout server {self.timeout_server_s}s
    timeout http-request 10s
    timeout queue 5s

frontend lab
    bind {HOST}:{self.port}
    default_backend shop

backend shop
    balance roundrobin
{f"    cookie {STICKY_COOKIE} insert indirect nocache httponly" if sticky else ""}
    option forwardfor
    http-response set-header {INSTANCE_HEADER} %[srv_name]
{servers}
"""

    def start(self, *, timeout: float = 10.0) -> Balancer:
        binary = haproxy_path()
        if binary is None:
            raise BalancerError("HAProxy is not installed: apt-get install haproxy")
        if self.running:
            raise BalancerError("this balancer is already running")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config())
        checked = subprocess.run(  # noqa: S603
            [binary, "-c", "-q", "-f", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if checked.returncode != 0:
            raise BalancerError(f"HAProxy refused its configuration: {checked.stderr.strip()}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [binary, "-db", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                self.stop()
                raise BalancerError(f"HAProxy exited during start-up; see {self.log_path}")
            if self._listening() and self.socket_path.exists():
                return self
            time.sleep(0.05)
        self.stop()
        raise BalancerError(f"HAProxy did not listen on {self.url} within {timeout:.0f} s")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((HOST, self.port)) == 0

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL) and remove its config and socket."""
        if self.process is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=timeout)
                if self.process.poll() is not None:
                    break
            self.process = None
        for path in (self.config_path, self.socket_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def __enter__(self) -> Balancer:
        return self.start() if not self.running else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- The runtime API ------------------------------------------------------

    def command(self, line: str, *, timeout: float = 5.0) -> str:
        """Send one runtime API command over the admin socket and return its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def instances(self) -> dict[str, InstanceState]:
        """Each backend server's state, from `show stat` (CSV)."""
        text = self.command("show stat").lstrip("# ")
        states = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") != "shop" or row.get("svname") in ("FRONTEND", "BACKEND"):
                continue
            states[row["svname"]] = InstanceState(
                name=row["svname"],
                status=row["status"],
                sessions_total=int(row["stot"] or 0),
                sessions_now=int(row["scur"] or 0),
                failed_connections=int(row["econ"] or 0),
                redispatched=int(row["wredis"] or 0),
            )
        return states

    def set_state(self, name: str, state: str) -> None:
        """`ready`, `drain` or `maint` for one backend server (the runtime API's set server)."""
        if state not in ("ready", "drain", "maint"):
            raise BalancerError(f"state {state!r} is not ready, drain or maint")
        answer = self.command(f"set server shop/{name} state {state}").strip()
        if answer:
            raise BalancerError(f"HAProxy refused to set {name} to {state}: {answer}")

    def wait_status(self, name: str, status: str, *, timeout: float = 10.0) -> None:
        """Wait until HAProxy reports `name` with `status` (UP, DOWN, MAINT)."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.instances()[name].status
            if seen.startswith(status):
                return
            time.sleep(0.05)
        raise BalancerError(f"{name} is {seen}, not {status}, after {timeout:.0f} s")

    def wait_idle(self, name: str, *, timeout: float = 30.0) -> None:
        """Wait until HAProxy has no request in flight on `name` (`scur` 0)."""
        deadline = time.monotonic() + timeout
        busy = 0
        while time.monotonic() < deadline:
            busy = self.instances()[name].sessions_now
            if busy == 0:
                return
            time.sleep(0.02)
        raise BalancerError(f"{name} still has {busy} requests in flight after {timeout:.0f} s")

    def take_out(self, name: str, *, timeout: float = 30.0) -> None:
        """Send `name` no new request (`maint`) and wait until those it has are answered.

        Then it can be stopped without costing a visitor anything: HAProxy sends
        every request to the other instances meanwhile.
        """
        self.set_state(name, "maint")
        self.wait_status(name, "MAINT")
        self.wait_idle(name, timeout=timeout)

    def put_back(self, name: str, *, timeout: float = 30.0) -> None:
        """Return `name` to rotation (`ready`) and wait until its health check says UP."""
        self.set_state(name, "ready")
        self.wait_status(name, "UP", timeout=timeout)
