"""Start and stop gunicorn instances on 127.0.0.1, and read their workers' CPU time.

Every server runs in its own process group, so that stopping it (or killing it
with SIGKILL in a drill) takes the master and its workers down together.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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
    process: subprocess.Popen | None = field(default=None, repr=False)

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
            self.env = env
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
