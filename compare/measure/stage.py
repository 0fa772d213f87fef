"""The stage a measurement runs on: a throwaway database, fresh keys, and child environments.

The benchmark never touches the user's data: its servers run on a temporary
SQLite file (or, when DATABASE_URL is PostgreSQL, a temporary database beside
it) seeded with the demo catalogue, and its Redis keys live under a prefix of
their own that is deleted at the end. Only the results are saved to the
user's configured database.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.db import DEFAULT_DB_ALIAS, connections

from .servers import BASE_DIR, new_key, server_env

BENCH_STOCK = 1_000_000


BENCH_ALIAS = "bench"


class BenchDatabase:
    """The throwaway database as a Django connection alias ("bench"), added while a run lasts.

    Django's own cursor takes the `%s` placeholders on every backend; the
    user's `default` database is never used for it.
    """

    def __init__(self, url: str, alias: str = BENCH_ALIAS) -> None:
        self.url = url
        self.alias = alias
        if connections.settings.get(alias, {}).get("NAME") != self.name:
            self.close()
            config = dj_database_url.parse(url)
            if config["ENGINE"].endswith("sqlite3"):
                config["OPTIONS"] = {"timeout": 20}  # the servers write to it meanwhile
            # Django fills in the defaults of every setting of a connection.
            configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, alias: config})
            connections.settings[alias] = configured[alias]
            # A wrapper made for an earlier run keeps that run's settings: drop it so the
            # next use builds one for this database.
            with contextlib.suppress(AttributeError):
                del connections[alias]

    @property
    def name(self) -> str:
        return str(dj_database_url.parse(self.url)["NAME"])

    @property
    def connection(self):
        return connections[self.alias]

    @property
    def vendor(self) -> str:
        return self.connection.vendor

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def execute(self, sql: str, params: tuple = ()) -> None:
        self.query(sql, params)

    def close(self) -> None:
        """Close this thread's connection to it (the database itself stays)."""
        if self.alias in connections.settings:
            connections[self.alias].close()


def static_manifest_is_current() -> bool:
    """True when STATIC_ROOT's manifest lists every static file and none is newer."""
    import json

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    try:
        paths = json.loads(manifest.read_text(encoding="utf-8"))["paths"]
        built = manifest.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if path not in paths or storage.get_modified_time(path).timestamp() > built:
                return False
    return True


@dataclass
class Stage:
    """Everything a run creates and must remove: temp dir, database, Redis prefix."""

    user_database_url: str = ""
    redis_url: str = ""
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="shop-compare-")))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    token_keys: str = field(default_factory=lambda: new_key("bench1"))
    redis_prefix: str = field(default_factory=lambda: f"compare-{secrets.token_hex(4)}")
    database_url: str = ""
    # Tests run the servers with DEBUG on to skip collecting static files; the command never does.
    debug: bool = False
    notes: list[str] = field(default_factory=list)
    _created_pg_database: str = ""

    def __post_init__(self) -> None:
        (self.tmp / "logs").mkdir(exist_ok=True)

    @property
    def log_dir(self) -> Path:
        return self.tmp / "logs"

    # --- The throwaway database ------------------------------------------

    def create_database(self) -> None:
        user_url = self.user_database_url
        self.database_url = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if user_url.startswith(("postgres://", "postgresql://")):
            import psycopg

            parts = urlsplit(user_url)
            base = parts.path.lstrip("/") or "postgres"
            name = f"{base[:40]}_compare_{secrets.token_hex(4)}"
            try:
                with psycopg.connect(user_url, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.Error as error:
                self.notes.append(
                    f"Could not create a throwaway PostgreSQL database ({error}); "
                    "measured on a temporary SQLite file instead."
                )
            else:
                self._created_pg_database = name
                self.database_url = urlunsplit(parts._replace(path=f"/{name}"))
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("seed_demo")
        # Stock that a benchmark cannot exhaust: checkouts must never fail for lack of it.
        self.db.execute("UPDATE shop_product SET stock = %s", (BENCH_STOCK,))

    @property
    def db(self) -> BenchDatabase:
        return BenchDatabase(self.database_url)

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=server_env(self.env()),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def collectstatic(self) -> bool:
        """Collect static files for DEBUG-off servers unless the manifest is current.

        Compressing every file takes about a minute, so it runs only when a file
        is missing from the manifest or newer than it. Returns True if it ran.
        """
        if self.debug or static_manifest_is_current():
            return False
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        return True

    # --- Child environments -------------------------------------------------

    def env(
        self,
        *,
        store: str = "db",
        redis: bool = False,
        token_keys: str | None = None,
        settings: str = "",  # by default the settings of the app that is started
    ) -> dict[str, str]:
        """What one benchmark server sets (DEBUG off, throwaway keys and DB), for `server_env`."""
        env = {
            "DJANGO_DEBUG": "1" if self.debug else "0",
            "DJANGO_SECRET_KEY": self.secret_key,
            "CART_TOKEN_KEYS": token_keys or self.token_keys,
            "SESSION_STORE": store,
            "CACHE_KEY_PREFIX": self.redis_prefix,
        }
        if settings:
            env["DJANGO_SETTINGS_MODULE"] = settings
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if redis and self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    # --- Redis ------------------------------------------------------------------

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def redis_keys(self) -> list[bytes]:
        """This run's keys only (everything under its prefix)."""
        if not self.redis_url:
            return []
        return list(self.redis().scan_iter(match=f"{self.redis_prefix}:*", count=1000))

    def drop_redis_keys(self) -> int:
        keys = self.redis_keys()
        if keys:
            self.redis().delete(*keys)
        return len(keys)

    # --- Clean-up ---------------------------------------------------------------

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.drop_redis_keys()
        if self.database_url:
            self.db.close()
        if self._created_pg_database:
            import psycopg

            with (
                contextlib.suppress(Exception),
                psycopg.connect(self.user_database_url, autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{self._created_pg_database}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)
