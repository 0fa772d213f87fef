"""The lab's topology: every server, namespace, qdisc and file it starts, and their removal.

A `Lab` is a context manager. Each thing it creates registers how to undo
itself the moment it exists, and `close()` undoes them newest first, each one
on its own, so that one failing clean-up never keeps the others from running.
The command closes the lab in a `finally`, on Ctrl-C (KeyboardInterrupt) and on
SIGTERM (turned into KeyboardInterrupt) alike.

Servers listen on 127.0.0.1 on ports taken from the lab's range, or inside a
network namespace the lab creates itself (a veth pair with a /30 of its own),
so that a traffic-shaping rule touches only the lab's own link.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compare.measure.servers import BASE_DIR, Server
from compare.measure.stage import BENCH_STOCK, Stage

LOOPBACK = "127.0.0.1"
DEFAULT_PORTS = range(17000, 17500)
SENTINEL_SERVICE = "shoplab"
POSTGRES_USER = "postgres"  # initdb refuses to run as root: root runs it as this user


class LabError(RuntimeError):
    """Something the lab needs is missing or did not start; the message says what."""


class LabNeedsRoot(LabError):
    """A step needs root (network namespaces, tc); the message is the one line to print."""


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabNeedsRoot(
            f"{what} needs root (network namespaces and tc qdiscs): run it as root, "
            "for example `sudo .venv/bin/python manage.py lab ...`."
        )


def tool_path(tool: str) -> str | None:
    """`tool` on PATH, or in Debian's PostgreSQL folder (initdb and postgres are not on PATH)."""
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if tool_path(tool) is None]
    if missing:
        raise LabError(
            f"the lab needs {', '.join(missing)} on PATH "
            "(Debian: apt-get install haproxy redis-server postgresql iproute2)."
        )


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed: {(result.stderr or result.stdout).strip()}")
    return result


@dataclass
class LabProcess:
    """One server process, in its own process group so that a signal reaches all of it."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    stop_signal: int = signal.SIGTERM

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def start(self, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> LabProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                self.argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, no goodbye to clients."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.process.pid, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()  # anything left in its group

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Namespace:
    """A network namespace joined to the host by one veth pair with a /30 of its own."""

    name: str
    host_link: str  # the veth end in the host's namespace
    inner_link: str  # the end inside the namespace
    host_ip: str
    inner_ip: str

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


@dataclass
class Redis:
    name: str
    host: str
    port: int
    process: LabProcess
    namespace: Namespace | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def client(self, **kwargs):
        import redis

        return redis.Redis(host=self.host, port=self.port, socket_timeout=5, **kwargs)


@dataclass
class Postgres:
    host: str
    port: int
    database: str
    process: LabProcess
    namespace: Namespace | None = None

    @property
    def url(self) -> str:
        return f"postgres://{POSTGRES_USER}@{self.host}:{self.port}/{self.database}"

    def connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)


@dataclass
class Lab:
    """Starts the lab's servers and rules, and removes every one of them in `close()`."""

    ports: Iterable[int] = DEFAULT_PORTS
    log: Callable[[str], None] = print
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="shop-lab-")))
    _undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    _port_iter: object = None
    _tag: str = field(default_factory=lambda: secrets.token_hex(2))
    _namespaces: int = 0
    stage: Stage | None = None

    def __post_init__(self) -> None:
        self._port_iter = iter(self.ports)
        (self.tmp / "logs").mkdir(exist_ok=True)
        self.tmp.chmod(0o755)  # the PostgreSQL user must reach its own folder below

    # --- Bookkeeping ----------------------------------------------------------

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def on_close(self, label: str, undo: Callable[[], None]) -> None:
        self._undo.append((label, undo))

    @property
    def pending(self) -> list[str]:
        """What `close()` would still remove, newest first."""
        return [label for label, _ in reversed(self._undo)]

    def close(self) -> list[str]:
        """Undo everything, newest first; returns the clean-ups that failed (also logged)."""
        failed = []
        while self._undo:
            label, undo = self._undo.pop()
            try:
                undo()
            except Exception as error:  # one failure must not stop the others
                failed.append(f"{label}: {error}")
                self.log(f"  clean-up of {label} failed: {error}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        return failed

    def port(self, host: str = LOOPBACK) -> int:
        """The next port of the lab's range that nothing listens on at `host`."""
        for port in self._port_iter:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((host if host == LOOPBACK else "", port))
                except OSError:
                    continue
            return port
        raise LabError("the lab's port range is used up")

    def log_path(self, name: str) -> Path:
        return self.tmp / "logs" / f"{name}.log"

    def process(self, name: str, argv: list[str], **kwargs) -> LabProcess:
        proc = LabProcess(name, argv, self.log_path(name), **kwargs)
        self.on_close(f"process {name}", proc.stop)
        return proc

    def wait(self, what: str, ready: Callable[[], bool], proc: LabProcess, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.running:
                raise LabError(f"{what} exited during start-up:\n{proc.log_tail()}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.1)
        raise LabError(f"{what} did not become ready within {timeout:.0f} s:\n{proc.log_tail()}")

    # --- Network namespaces and traffic shaping --------------------------------

    def namespace(self) -> Namespace:
        """A namespace `shoplab-…` with a veth pair to the host; deleted with the pair."""
        require_root("a lab network namespace")
        index = self._namespaces
        self._namespaces += 1
        name = f"shoplab-{self._tag}-{index}"
        host_link, inner_link = f"sl{self._tag}{index}h", f"sl{self._tag}{index}n"
        subnet = self._free_subnet()
        ns = Namespace(name, host_link, inner_link, f"{subnet}.1", f"{subnet}.2")
        run(["ip", "netns", "add", name])
        self.on_close(f"namespace {name}", lambda: run(["ip", "netns", "delete", name]))
        run(["ip", "link", "add", host_link, "type", "veth", "peer", "name", inner_link])
        # Deleting the namespace deletes its end and with it the pair; this is for a
        # failure between the two steps.
        self.on_close(
            f"link {host_link}", lambda: run(["ip", "link", "delete", host_link], check=False)
        )
        run(["ip", "link", "set", inner_link, "netns", name])
        run(["ip", "addr", "add", f"{ns.host_ip}/30", "dev", host_link])
        run(["ip", "link", "set", host_link, "up"])
        inside = ns.exec_prefix()
        run([*inside, "ip", "addr", "add", f"{ns.inner_ip}/30", "dev", inner_link])
        run([*inside, "ip", "link", "set", inner_link, "up"])
        run([*inside, "ip", "link", "set", "lo", "up"])
        return ns

    def _free_subnet(self) -> str:
        used = run(["ip", "-o", "-4", "addr", "show"]).stdout
        for third in range(1, 255):
            candidate = f"10.213.{third}"
            if f" {candidate}." not in used:
                return candidate
        raise LabError("no free 10.213.x.0/30 subnet for a lab namespace")

    def netem(self, ns: Namespace, rtt_ms: float) -> None:
        """Delay both directions of the namespace's link by half `rtt_ms` each (tc netem).

        The rule goes on the lab's own veth ends only, and is removed at close (and
        by `clear_netem`). Raises LabError with tc's own message where netem is missing.
        """
        half = f"{rtt_ms / 2:g}ms"
        for prefix, link in (([], ns.host_link), (ns.exec_prefix(), ns.inner_link)):
            run([*prefix, "tc", "qdisc", "replace", "dev", link, "root", "netem", "delay", half])
            self.on_close(
                f"netem on {link}",
                lambda p=prefix, dev=link: run(
                    [*p, "tc", "qdisc", "del", "dev", dev, "root"], check=False
                ),
            )

    def clear_netem(self, ns: Namespace) -> None:
        for prefix, link in (([], ns.host_link), (ns.exec_prefix(), ns.inner_link)):
            run([*prefix, "tc", "qdisc", "del", "dev", link, "root"], check=False)

    @staticmethod
    def qdiscs(ns: Namespace) -> str:
        """`tc qdisc show` of both ends of the namespace's link."""
        host = run(["tc", "qdisc", "show", "dev", ns.host_link]).stdout
        inner = run([*ns.exec_prefix(), "tc", "qdisc", "show", "dev", ns.inner_link]).stdout
        return host + inner

    def netem_missing(self, ns: Namespace) -> str:
        """'' when netem can be added to the lab's link; otherwise why not (tc's words)."""
        try:
            self.netem(ns, 0)
        except LabError as error:
            return str(error).split(" failed: ", 1)[-1]
        self.clear_netem(ns)
        return ""

    # --- Redis and Sentinel ----------------------------------------------------

    def _prefix(self, ns: Namespace | None) -> list[str]:
        return ns.exec_prefix() if ns else []

    def redis(
        self, name: str, *, ns: Namespace | None = None, replica_of: Redis | None = None
    ) -> Redis:
        require_tools("redis-server")
        host = ns.inner_ip if ns else LOOPBACK
        port = self.port()
        folder = self.tmp / name
        folder.mkdir()
        argv = [
            *self._prefix(ns),
            "redis-server",
            "--bind",
            host,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--protected-mode",
            "no",
        ]
        if replica_of is not None:
            argv += ["--replicaof", replica_of.host, str(replica_of.port)]
        proc = self.process(name, argv).start()
        server = Redis(name, host, port, proc, ns)
        self.wait(f"Redis {name}", lambda: server.client().ping(), proc)
        if replica_of is not None:
            self.wait(
                f"Redis replica {name} in sync",
                lambda: server.client().info("replication").get("master_link_status") == "up",
                proc,
            )
        return server

    def sentinels(
        self, primary: Redis, *, count: int = 3, down_after_ms: int = 1000
    ) -> list[Redis]:
        """`count` Sentinels (quorum: a majority) watching `primary` as SENTINEL_SERVICE."""
        quorum = count // 2 + 1
        started = []
        for index in range(count):
            name = f"sentinel-{index}"
            port = self.port()
            folder = self.tmp / name
            folder.mkdir()
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind {LOOPBACK}\ndir {folder}\nprotected-mode no\n"
                f"sentinel monitor {SENTINEL_SERVICE} {primary.host} {primary.port} {quorum}\n"
                f"sentinel down-after-milliseconds {SENTINEL_SERVICE} {down_after_ms}\n"
                f"sentinel failover-timeout {SENTINEL_SERVICE} 10000\n"
                f"sentinel parallel-syncs {SENTINEL_SERVICE} 1\n",
                encoding="utf-8",
            )
            proc = self.process(name, ["redis-server", str(conf), "--sentinel"]).start()
            sentinel = Redis(name, LOOPBACK, port, proc)
            self.wait(f"Sentinel {name}", lambda s=sentinel: s.client().ping(), proc)
            started.append(sentinel)
        return started

    # --- PostgreSQL -------------------------------------------------------------

    def postgres(self, *, ns: Namespace | None = None, database: str = "shop") -> Postgres:
        """An own cluster (initdb) with pg_stat_statements, holding the demo catalogue."""
        require_tools("initdb", "postgres")
        host = ns.inner_ip if ns else LOOPBACK
        port = self.port()
        folder = self.tmp / "postgres"
        data, sockets = folder / "data", folder / "sockets"
        sockets.mkdir(parents=True)
        as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(POSTGRES_USER)
            for path in (folder, sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
            as_user = [
                "setpriv",
                f"--reuid={account.pw_uid}",
                f"--regid={account.pw_gid}",
                "--init-groups",
            ]
        init = run(
            [
                *as_user,
                tool_path("initdb") or "initdb",
                "-D",
                str(data),
                "-U",
                POSTGRES_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=False,
        )
        if init.returncode != 0:
            raise LabError(f"initdb failed: {init.stderr.strip()[-800:]}")
        if ns is not None:
            # Clients reach a namespaced cluster from the host's end of the veth pair.
            with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:
                hba.write(f"host all all {ns.host_ip}/32 trust\n")
        argv = [
            *self._prefix(ns),
            *as_user,
            tool_path("postgres") or "postgres",
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            f"listen_addresses={host}",
            "-c",
            "shared_preload_libraries=pg_stat_statements",
            "-c",
            "pg_stat_statements.track_utility=on",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        # SIGINT is PostgreSQL's "fast shutdown": clients are disconnected, not waited for.
        proc = self.process("postgres", argv, stop_signal=signal.SIGINT).start()
        server = Postgres(host, port, database, proc, ns)
        admin = Postgres(host, port, "postgres", proc, ns)
        self.wait("PostgreSQL", lambda: admin.connect().close() is None, proc)
        with admin.connect() as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        with server.connect() as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        return server

    # --- The shop ---------------------------------------------------------------

    def prepare_shop(self, database: Postgres) -> Stage:
        """Migrate and seed the lab's database; returns the Stage that builds shop environments."""
        (self.tmp / "stage").mkdir(exist_ok=True)
        stage = Stage(tmp=self.tmp / "stage")
        stage.database_url = database.url
        stage.manage("migrate", "--noinput", "--verbosity", "0")
        stage.manage("seed_demo")
        stage.db.execute("UPDATE shop_product SET stock = %s", (BENCH_STOCK,))
        stage.collectstatic()
        self.stage = stage
        return stage

    def shop_env(
        self, *, store: str, redis: Redis | None = None, sentinels: list[Redis] | None = None
    ) -> dict[str, str]:
        """A shop instance's environment: the lab's database, and Redis or Sentinel if given."""
        if self.stage is None:
            raise LabError("prepare_shop() must run before shop_env()")
        env = self.stage.env(store=store)
        if sentinels:
            env["REDIS_URL"] = f"redis://{SENTINEL_SERVICE}/0"
            env["REDIS_SENTINELS"] = ",".join(f"{s.host}:{s.port}" for s in sentinels)
        elif redis is not None:
            env["REDIS_URL"] = f"redis://{redis.host}:{redis.port}/0"
        return env

    def shop(self, name: str, env: dict[str, str], *, workers: int = 2) -> Server:
        """A gunicorn instance of the shop on a lab port, stopped at close."""
        server = Server.for_app(
            "shop", env=env, workers=workers, port=self.port(), name=name, log_dir=self.tmp / "logs"
        )
        self.on_close(f"shop {name}", server.stop)
        server.start(timeout=60)
        return server

    def manage_py(self) -> list[str]:
        return [sys.executable, str(BASE_DIR / "manage.py")]
