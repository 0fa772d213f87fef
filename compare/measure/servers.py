"""Start and stop servers on 127.0.0.1: the shop, the bare baseline, and what comes next.

This is the one way the command, the drills and the tests start a server. Each
runs under gunicorn (sync workers) in its own process group, so that stopping
it, or killing it with SIGKILL in a drill, takes the master and its workers
down together. A server is ready when it answers its app's `ready_path`.

Interface::

    from compare.measure.servers import serve

    with serve("shop", port=18201, env={"SESSION_STORE": "db", "DATABASE_URL": url}) as server:
        urllib.request.urlopen(server.url + "/cart/")   # server.url == "http://127.0.0.1:18201"
        server.worker_cpu_seconds()                     # user+system CPU of its workers so far

`serve(app, *, port=0, env=None, workers=2, name="", log_dir=None, timeout=30)`
starts the app (a key of `APPS`: "shop" runs `gunicorn config.wsgi`, "bare" the
bare baseline of compare/bare/, "twin" the shop's minimal twins), waits until
it answers, yields the running `Server` and stops it on the way out, also on
error. `port=0` picks a free
port: the first free one of `MEASURE_PORTS` ("18200-18299") when that variable
is set, otherwise any. Settings are environment variables: `server_env(env)`
starts from this process's environment without the variables that would change
the server's behaviour (`SCRUBBED`), sets the safe benchmark defaults (DEBUG
off, a fresh `DJANGO_SECRET_KEY` and `CART_TOKEN_KEYS`, the app's settings
module) and applies `env` last, so any of them can be overridden. Instances that
must share sessions or tokens need the same `DJANGO_SECRET_KEY` and
`CART_TOKEN_KEYS`: pass them in `env`. With DEBUG off the shop serves static
files from its manifest: run `manage.py collectstatic` once first (or pass
`DJANGO_DEBUG=1`).

`Server(env=..., wsgi=...)` is the object underneath, for callers that start,
restart (`restart(env=...)`), crash (`kill_master()`) and stop a server
themselves. To add a kind of server (a topology), add one `App` to `APPS`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


# Variables of the caller's shell that would change how a measured server behaves.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG",
    "DJANGO_SECURE",
    "DJANGO_BEHIND_PROXY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_SECRET_KEY",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "CART_TOKEN_KEYS",
    "CART_TOKEN_VERIFY_KEYS",
    "SESSION_STORE",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "DATABASE_URL",
)


@dataclass(frozen=True)
class App:
    """A kind of server: its WSGI application, settings module and the path that says it is up."""

    wsgi: str
    settings: str
    ready_path: str


APPS = {
    "shop": App("config.wsgi:application", "config.settings", "/cart/"),
    "bare": App("compare.bare.wsgi:application", "compare.bare.settings", "/bare/"),
    # The minimal twins of the shop's add-to-cart, on the shop's own database and store.
    "twin": App("compare.bare.wsgi:application", "compare.bare.twin_settings", "/twin/cart/"),
}


def port_range() -> range | None:
    """MEASURE_PORTS ("18200-18299"): the ports servers may take; None for any free port."""
    spec = os.environ.get("MEASURE_PORTS", "").strip()
    if not spec:
        return None
    low, _, high = spec.partition("-")
    try:
        return range(int(low), int(high or low) + 1)
    except ValueError:
        raise ServerError(f"MEASURE_PORTS={spec!r} is not a range such as 18200-18299") from None


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (within MEASURE_PORTS if set)."""
    ports = port_range()
    if ports is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            return sock.getsockname()[1]
    # Ports handed out but not yet bound by their server are tried last.
    for port in sorted(ports, key=lambda p: p in _handed_out):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise ServerError(f"no free port in MEASURE_PORTS={os.environ['MEASURE_PORTS']}")


def new_key(kid: str) -> str:
    """One CART_TOKEN_KEYS entry: `kid:secret` with a 43-character random secret."""
    return f"{kid}:{secrets.token_urlsafe(32)}"


def server_env(env: dict[str, str] | None = None, *, app: str = "shop") -> dict[str, str]:
    """The environment of one server: ours without SCRUBBED, safe defaults, then `env`."""
    base = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    base.update(
        DJANGO_SETTINGS_MODULE=APPS[app].settings,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CART_TOKEN_KEYS=new_key("bench1"),
        LOG_LEVEL="ERROR",
        # Orders placed by a measurement confirm to nobody: no mail server of the user's is used.
        EMAIL_BACKEND="dummy",
        PYTHONUNBUFFERED="1",
        # Every simulated shopper checks out from 127.0.0.1: the per-client order limits
        # (shop.limits) would measure themselves, not the channels.
        CHECKOUTS_PER_ADDRESS="1000000",
        CHECKOUTS_PER_ACCOUNT="1000000",
    )
    base.update(env or {})
    return base


@contextlib.contextmanager
def serve(
    app: str = "shop",
    *,
    port: int = 0,
    env: dict[str, str] | None = None,
    workers: int = 2,
    name: str = "",
    log_dir: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Start `app` on 127.0.0.1:`port`, wait until it answers, yield it, always stop it."""
    server = Server.for_app(
        app, env=env, workers=workers, port=port, name=name or app, log_dir=log_dir
    )
    try:
        server.start(timeout=timeout)
        yield server
    finally:
        server.stop()


def gunicorn_path() -> str:
    candidate = Path(sys.executable).with_name("gunicorn")
    return str(candidate) if candidate.exists() else "gunicorn"


class ServerError(RuntimeError):
    """A server did not start, or stopped answering."""


@dataclass
class Server:
    """One gunicorn instance: `Server(env=..., wsgi="config.wsgi").start()`."""

    env: dict[str, str]
    wsgi: str = "config.wsgi:application"
    workers: int = 2
    port: int = 0
    name: str = "server"
    log_dir: Path | None = None
    ready_path: str = "/"
    app: str = ""  # a key of APPS; then a new `env` on restart goes through `server_env`
    process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def for_app(cls, app: str, *, env: dict[str, str] | None = None, **kwargs) -> Server:
        """A server of one of `APPS` (not started), its environment built by `server_env`."""
        spec = APPS[app]
        kwargs.setdefault("name", app)
        return cls(
            env=server_env(env, app=app),
            wsgi=spec.wsgi,
            ready_path=spec.ready_path,
            app=app,
            **kwargs,
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        return [
            gunicorn_path(),
            self.wsgi,
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "3",
            "--log-level",
            "warning",
        ]

    def start(self, *, timeout: float = 30.0) -> Server:
        if self.running:
            raise ServerError(f"{self.name} is already running")
        if not self.port:
            self.port = free_port()
        log = subprocess.DEVNULL
        if self.log_dir is not None:
            log = open(self.log_dir / f"{self.name}-{self.port}.log", "ab")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(  # noqa: S603
                self.command(),
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"{self.name} exited during start-up; see {self.log_hint()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:  # noqa: S310
                    answer.read()
                return
            except urllib.error.HTTPError:
                return  # it answered, even if not with 200
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"{self.name} did not answer within {timeout:.0f} s; see {self.log_hint()}"
        )

    def log_hint(self) -> str:
        if self.log_dir is None:
            return "its output (no log directory was given)"
        return str(self.log_dir / f"{self.name}-{self.port}.log")

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def stop(self, *, timeout: float = 8.0) -> None:
        """Stop gracefully, then by force; always leaves no process behind."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)  # workers left behind, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        self.process = None

    def kill_master(self) -> None:
        """SIGKILL the master (a crash), then its orphaned workers, and free the port."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._signal_group(signal.SIGKILL)
        self.process = None
        wait_port_free(self.port)

    def restart(self, *, env: dict[str, str] | None = None) -> Server:
        self.stop()
        if env is not None:
            self.env = server_env(env, app=self.app) if self.app else env
        wait_port_free(self.port)
        return self.start()

    def worker_cpu_seconds(self) -> float:
        """User + system CPU time of the master's worker processes so far."""
        import psutil

        if not self.running:
            return 0.0
        total = 0.0
        try:
            master = psutil.Process(self.process.pid)
            for child in master.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = child.cpu_times()
                    total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
        return total

    def __enter__(self) -> Server:
        return self.start() if not self.running else self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_port_free(port: int, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
                return
            except OSError:
                time.sleep(0.1)
    raise ServerError(f"port {port} is still in use after {timeout:.0f} s")
