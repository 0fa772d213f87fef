"""`Server-Timing` on every answer: where a request's time went, as browsers' tools show it.

Each answer of the web shop and the API carries the standard header
(https://www.w3.org/TR/server-timing/), which the network panel of any browser's
developer tools displays:

    Server-Timing: db;dur=1.204;desc="3 queries", session;dur=0.951;desc="db store",
                   token-verify;dur=0.061, token-sign;dur=0.048, total;dur=4.310

- `db`: time inside the database driver and the number of queries Django ran
  (the same queries that `django_assert_num_queries` counts);
- `session`: time reading, locking and writing the visitor's session, named by
  its store; with a database store those queries are also counted under `db`;
- `token-verify`, `token-sign`: time checking and issuing cart tokens (API only);
- `revocation`: lookups made to end tokens early (the account of a logged-in token,
  the denylist in `denylist` mode), with their number (API only);
- `total`: the whole request inside Django, middleware included.

Spans that a request never entered are left out. The figures are kept per
request in a context variable, so concurrent requests never mix them.
`SERVER_TIMING=0` turns the header off.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import cache, wraps
from time import perf_counter
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponseBase

from . import stores

# Span name -> [seconds, depth, entries]; None outside a request (management commands, tests).
_spans: ContextVar[dict[str, list] | None] = ContextVar("server_timing_spans", default=None)

# Spans whose number of entries is shown: `revocation;dur=0.2;desc="2 lookups"`.
COUNTED = {"revocation": "lookup"}

SESSION_METHODS = ("load", "save", "delete", "exists", "create", "cycle_key", "flush")


class timed:  # a function's name: `with timed("session"):` and `@timed("session")`
    """Add the time spent inside to span `name` of the current request.

    Nested spans of the same name count once (the outermost), so a function
    that calls another timed one under the same name is not counted twice.
    """

    __slots__ = ("entry", "name", "start")

    def __init__(self, name: str) -> None:
        self.name = name
        self.entry: list | None = None

    def __enter__(self) -> None:
        spans = _spans.get()
        if spans is None:
            self.entry = None
            return
        entry = spans.get(self.name)
        if entry is None:
            entry = spans[self.name] = [0.0, 0, 0]
        if entry[1] == 0:
            self.start = perf_counter()
            entry[2] += 1
        entry[1] += 1
        self.entry = entry

    def __exit__(self, *exc_info: object) -> None:
        entry = self.entry
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            entry[0] += perf_counter() - self.start

    def __call__(self, function: Callable) -> Callable:
        name = self.name

        @wraps(function)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            with timed(name):
                return function(*args, **kwargs)

        return timed_call


class _QueryTimer:
    """Counts the current request's queries and the time spent running them."""

    __slots__ = ("queries", "seconds")

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0


# The query timer of the request being timed; None outside one.
_queries: ContextVar[_QueryTimer | None] = ContextVar("server_timing_queries", default=None)


def _time_query(execute, sql, params, many, context):
    """An execute wrapper, installed once per connection: times the queries of timed requests."""
    timer = _queries.get()
    if timer is None:
        return execute(sql, params, many, context)
    start = perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        timer.seconds += perf_counter() - start
        timer.queries += 1


def install_query_timer(connection, **kwargs: Any) -> None:
    """Put `_time_query` first in the connection's execute wrappers, once.

    Connected to `connection_created`. First, so that a wrapper somebody adds for a
    while (`connection.execute_wrapper(...)`, which pops the last one) is never ours.
    Being first, it is also the outermost: it counts every query the code sent, also
    one that such a wrapper then stops before it reaches the database (the project
    has no such wrapper; `django_assert_num_queries` would not count that one).
    """
    if _time_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _time_query)


def _timed_method(method: Callable) -> Callable:
    @wraps(method)
    def timed_method(*args: Any, **kwargs: Any) -> Any:
        with timed("session"):
            return method(*args, **kwargs)

    return timed_method


@cache
def timed_store(store_class: type[SessionBase]) -> type[SessionBase]:
    """A subclass of a session store whose store calls (SESSION_METHODS) count as `session`.

    Built once per store class; the session middleware makes its sessions of it.
    """
    methods = {name: _timed_method(getattr(store_class, name)) for name in SESSION_METHODS}
    return type(store_class.__name__, (store_class,), {**methods, "__module__": __name__})


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def header_value(
    *, total: float, db_seconds: float, queries: int, spans: dict[str, list], store: str
) -> str:
    """The `Server-Timing` value: db and total always, the other spans when entered."""
    parts = [f'db;dur={_ms(db_seconds)};desc="{queries} quer{"y" if queries == 1 else "ies"}"']
    for name, entry in spans.items():
        seconds, entries = entry[0], entry[2] if len(entry) > 2 else 1
        desc = f';desc="{store} store"' if name == "session" else ""
        if name in COUNTED:
            desc = f';desc="{entries} {COUNTED[name]}{"" if entries == 1 else "s"}"'
        parts.append(f"{name};dur={_ms(seconds)}{desc}")
    parts.append(f"total;dur={_ms(total)}")
    return ", ".join(parts)


class ServerTimingMiddleware:
    """Times each request and answers with `Server-Timing`.

    Placed before SessionMiddleware, so that the session's save on the way out is
    inside the measurement. The session's store calls are timed by the class the
    session middleware makes its sessions of (`timed_store`), and the queries by a
    wrapper every database connection gets when it opens (`install_query_timer`): a
    request itself only sets two context variables.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.enabled = enabled()
        if self.enabled:
            connection_created.connect(install_query_timer, dispatch_uid=__name__)
            for connection in connections.all(initialized_only=True):
                install_query_timer(connection)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not self.enabled:
            return self.get_response(request)
        spans: dict[str, list] = {}
        queries = _QueryTimer()
        reset_spans, reset_queries = _spans.set(spans), _queries.set(queries)
        start = perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _queries.reset(reset_queries)
            _spans.reset(reset_spans)
        response["Server-Timing"] = header_value(
            total=perf_counter() - start,
            db_seconds=queries.seconds,
            queries=queries.queries,
            spans=spans,
            store=stores.current().name if "session" in spans else "",  # API: not needed
        )
        return response


def enabled() -> bool:
    """Whether answers carry `Server-Timing` (settings.SERVER_TIMING, on by default)."""
    return getattr(settings, "SERVER_TIMING", True)
