"""/admin/compare/: the two channels side by side, with figures measured on this deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.views.decorators.http import require_http_methods

from api import tokens
from shop import stores

from . import charts, figures
from .inspector import inspect_token, sample_token
from .lab import page as lab_page
from .lock_price import lock_prices

# Far above the API's size cap, so that an oversized token is explained, not cut.
INSPECTOR_MAX_CHARS = 200_000


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Cart token",
        max_length=INSPECTOR_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "spellcheck": "false",
                "autocomplete": "off",
                "placeholder": "eyJhbGciOiJIUzI1NiIs… (the token of POST /api/cart/; "
                "“Bearer …” is fine too)",
            }
        ),
    )


@dataclass
class Figure:
    """One number on the page, with where it comes from."""

    label: str
    value: str
    source: str
    detail: str = ""
    tone: str = ""  # "", "good", "bad" or "muted"


@dataclass
class Row:
    key: str
    title: str
    web_claim: str
    api_claim: str
    web: list[Figure] = field(default_factory=list)
    api: list[Figure] = field(default_factory=list)
    # The lab's latest result for each scenario that proves or qualifies this row.
    lab: list[lab_page.LabEvidence] = field(default_factory=list)

    @property
    def sides(self) -> list[tuple[str, str, list[Figure]]]:
        return [("web", self.web_claim, self.web), ("api", self.api_claim, self.api)]


@dataclass(frozen=True)
class TradeOff:
    title: str
    web: str
    api: str
    shown_by: tuple[str, ...]  # test files in the repository
    drill: str = ""  # a DrillResult.drill shown on this page


TRADEOFFS = (
    TradeOff(
        "Revocation",
        "Deleting or expiring the session ends the cart and the login at once, on every "
        "server that shares the store (the session admin's “Expire selected sessions”).",
        "A token stays valid until its exp: the server keeps no list of tokens, so it cannot "
        "cancel one. The only lever is removing a signing key, which ends every cart signed "
        "with it.",
        ("tests/test_admin_sessions.py", "tests/test_api_auth.py", "tests/test_tokens.py"),
        drill="key_rotation",
    ),
    TradeOff(
        "Logout",
        "Logging out flushes the session on the server: the cart goes with it, immediately.",
        "Logging out is the client forgetting its token. A copy taken before (a log, a stolen "
        "phone) keeps working until it expires.",
        ("tests/test_session_stores.py", "tests/test_api_checkout.py"),
    ),
    TradeOff(
        "Concurrent changes",
        "Two requests of one visitor load, change and save the same session: last write wins "
        "unless each change is guarded (the web shop writes db and Redis sessions by "
        "compare-and-set and locks the cached_db row; signed cookies cannot be guarded).",
        "Each answer is a new token; two requests made from the same token give two tokens and "
        "the client keeps one, so one change is lost on the client. The server has nothing to "
        "lock. A cart (cid) is still ordered once only.",
        ("tests/test_session_concurrency.py", "tests/test_api_checkout.py"),
        drill="concurrent_adds",
    ),
    TradeOff(
        "What a client can read",
        "The cookie holds a random session key and nothing else (db, cache, cached_db); with "
        "signed_cookies the whole session is in the cookie, readable, not changeable.",
        "The token is signed, not encrypted: anyone holding it reads the cart, the cart id, "
        "the user id and the times (paste one into the inspector below). Never put a secret "
        "in it.",
        ("tests/test_inspector.py", "tests/test_tokens.py"),
    ),
)


def _bytes(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} B" if value < 10_000 else f"{value / 1024:,.1f} KiB"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _money(value) -> str:
    return f"€{value:,.2f}"


def _ago(when) -> str:
    if not when:
        return "—"
    if timezone.now() - when < timedelta(minutes=1):
        return "just now"
    return f"{timesince(when)} ago"


def _benchmark_figure(result) -> Figure:
    ratio = f" · {result.ratio:.2f}× bare Django" if result.ratio is not None else ""
    cpu = (
        f" · {result.cpu_us_per_request:,.0f} µs CPU/request"
        if result.cpu_us_per_request is not None
        else ""
    )
    carried = ""
    if result.state_bytes_per_cart is not None and result.client_bytes_per_cart is not None:
        carried = (
            f" · a 3-line cart: {result.state_bytes_per_cart:,} B on the server, "
            f"{result.client_bytes_per_cart:,} B with each request"
        )
    return Figure(
        charts.benchmark_label(result),
        f"{result.rps:,.0f} req/s",
        f"manage.py compare, run #{result.run_id} ({result.requests:,} requests)",
        f"p50 {result.p50_ms:,.1f} ms · p99 {result.p99_ms:,.1f} ms{ratio}{cpu}{carried}"
        + (f" · {result.failures} errors" if result.failures else ""),
        "bad" if result.failures else "",
    )


DRILL_LABELS = {
    "restart": "Server restart (kill -9)",
    "store_lost": "Session store lost",
    "two_instances": "Two instances, alternating",
    "key_rotation": "Key rotation",
    "concurrent_adds": "10 simultaneous adds",
}


def _drill_figure(drill) -> Figure:
    observed = getattr(drill, "observed", "") or ("passed" if drill.passed else "failed")
    verdict = "✓ as predicted" if drill.passed else f"✗ predicted: {drill.expected}"
    # The drill's full details are in the drills table; a figure says what happened.
    parts = [verdict]
    lost = drill.lost and drill.lost != "nothing"
    if lost:
        # "2 lines (Espresso…, …)": the count says enough here; the table below has the names.
        parts.append("lost: " + Truncator(drill.lost.split(" (")[0]).chars(60))
    label = DRILL_LABELS.get(drill.drill, drill.drill.replace("_", " ").capitalize())
    return Figure(
        label + (f" · {drill.store}" if drill.store else ""),
        observed,
        f"manage.py compare, run #{drill.run_id}",
        " · ".join(part for part in parts if part),
        "bad" if not drill.passed else "loss" if lost else "good",
    )


# Which fault drill of `manage.py compare` speaks to which row.
RESILIENCE_DRILLS = ("restart", "store_lost", "key_rotation")
COMPLEXITY_DRILLS = ("concurrent_adds",)

NO_RUN = Figure(
    "Benchmarks and fault drills",
    "not measured yet",
    "run: python manage.py compare (or make compare)",
    tone="muted",
)


@dataclass
class Inputs:
    """What every row builder reads: the gathered figures, the keys, and the store's row."""

    data: figures.Comparison
    keys: list[tuple[str, bytes]]
    store: stores.Store

    @property
    def counted(self) -> str:
        return self.data.sessions.count_source or self.data.sessions.source

    @property
    def decoded(self) -> str:
        return self.data.sessions.cart_source or self.data.sessions.source

    def drills(self, channel: str, names: tuple[str, ...]) -> list[Figure]:
        return [
            _drill_figure(d) for d in self.data.drills if d.channel == channel and d.drill in names
        ]

    def benchmarks(self, channel: str) -> list[Figure]:
        return [_benchmark_figure(b) for b in self.data.benchmarks if b.channel == channel]


def session_row(i: Inputs) -> Row:
    return Row(
        "session",
        "Session management",
        "The server keeps each visitor's session; every request depends on it.",
        "Nothing is kept between requests; each request carries its cart.",
        _web_session_figures(i),
        _api_session_figures(i),
    )


def _web_session_figures(i: Inputs) -> list[Figure]:
    s, counted, decoded = i.data.sessions, i.counted, i.decoded
    web_state = [
        Figure("Session store in use", s.store, "SESSION_STORE (shop/stores.py)", s.where),
    ]
    if s.carts is not None:
        web_state += [
            Figure(
                "Carts held on the server now",
                _count(s.carts),
                decoded,
                f"{_count(s.cart_items)} items in {_count(s.cart_lines)} lines",
            ),
            Figure(
                "Bytes the server keeps for them",
                _bytes(s.cart_bytes),
                decoded,
                f"{_bytes(s.bytes_per_cart)} per cart",
            ),
            Figure(
                "Least recently changed cart",
                _ago(s.oldest_cart_written),
                decoded,
                "expiry − SESSION_COOKIE_AGE",
            ),
            Figure(
                "All live sessions (carts, logins)",
                _count(s.sessions),
                counted,
                _bytes(s.session_bytes),
            ),
        ]
    else:
        web_state.append(
            Figure("Carts held on the server now", "cannot be listed", s.where, s.note, "muted")
        )
    return web_state


def _api_session_figures(i: Inputs) -> list[Figure]:
    o = i.data.orders
    sizes = {row.lines: row for row in i.data.token_sizes}
    api_state = [
        Figure(
            "Carts held on the server",
            "0",
            "by design; checked by tests/test_api_stateless.py",
            "the cart is the token the client sends back",
            "good",
        ),
    ]
    if o.api.token_orders:
        api_state.append(
            Figure(
                "Token size of API orders",
                _bytes(o.api.token_bytes_avg) + " avg",
                "shop_order.token_bytes (AVG, MAX)",
                f"max {_bytes(o.api.token_bytes_max)} over {o.api.token_orders:,} orders",
            )
        )
    else:
        api_state.append(
            Figure(
                "Token size of API orders",
                "no API orders yet",
                "shop_order.token_bytes",
                tone="muted",
            )
        )
    for lines in figures.TOKEN_SIZE_LINES:
        row = sizes.get(lines)
        if row is None:
            continue
        api_state.append(
            Figure(
                f"Token for a {lines}-line cart",
                _bytes(row.token_bytes) if row.token_bytes else row.error,
                "encode_cart, measured now",
                f"the same cart in a db session row: {_bytes(row.session_bytes)}",
            )
        )
    return api_state


def scalability_row(i: Inputs) -> Row:
    if i.data.run is None:
        web, api = [NO_RUN], [NO_RUN]
    else:
        web = (i.benchmarks("web") or [NO_RUN]) + i.drills("web", ("two_instances",))
        api = (i.benchmarks("api") or [NO_RUN]) + i.drills("api", ("two_instances",))
    return Row(
        "scalability",
        "Scalability",
        "Any instance can answer only if it reaches the shared session store.",
        "Any instance with the keys can answer any request.",
        web,
        api,
    )


def resilience_row(i: Inputs) -> Row:
    s, decoded = i.data.sessions, i.decoded
    if i.data.run is None:
        web_resilience, api_resilience = [NO_RUN], [NO_RUN]
    else:
        web_resilience = i.drills("web", RESILIENCE_DRILLS)
        api_resilience = i.drills("api", RESILIENCE_DRILLS)
    web_resilience = list(web_resilience)
    if s.abandoned_carts is not None:
        web_resilience.append(
            Figure(
                "Abandoned carts",
                _count(s.abandoned_carts),
                decoded,
                f"expired sessions still holding a cart ({_count(s.abandoned_items)} items)",
            )
        )
    else:
        web_resilience.append(
            Figure(
                "Abandoned carts",
                "cannot be counted",
                s.where,
                "expired sessions are not kept by this store",
                "muted",
            )
        )

    return Row(
        "resilience",
        "Resilience",
        "Losing the session store loses the carts.",
        "A server failure loses nothing of the client's cart.",
        web_resilience,
        api_resilience or [NO_RUN],
    )


def complexity_row(i: Inputs) -> Row:
    s, store, keys, counted = i.data.sessions, i.store, i.keys, i.counted
    web_complexity = [
        Figure(
            "Expired sessions waiting for clearsessions",
            _count(s.expired_sessions),
            counted,
            "rows kept until manage.py clearsessions runs",
        )
        if s.expired_sessions is not None
        else Figure("Expired sessions", "removed by the store itself", s.where, tone="muted"),
        Figure(
            "Session lifetime",
            f"{settings.SESSION_COOKIE_AGE // 86400} days",
            "settings.SESSION_COOKIE_AGE",
            "renewed when the cart changes",
        ),
        Figure(
            "Shared state to run two servers",
            store.shared,
            "SESSION_STORE (shop/stores.py)",
            "what every instance must share to serve one visitor",
        ),
    ]
    web_complexity += i.drills("web", COMPLEXITY_DRILLS)
    api_complexity = [
        Figure(
            "Signing keys configured",
            _count(len(keys)) if keys else "none",
            "CART_TOKEN_KEYS (api.tokens.signing_keys)",
            ", ".join(kid for kid, _ in keys) + " · the first signs, every one verifies",
        ),
        Figure(
            "Token lifetime",
            f"{settings.CART_TOKEN_TTL // 86400} days sliding, "
            f"{settings.CART_TOKEN_MAX_AGE // 86400} days at most",
            "CART_TOKEN_TTL, CART_TOKEN_MAX_AGE",
            "cannot be shortened for one token",
        ),
        Figure(
            "Shared state to run two servers",
            "the keys",
            "CART_TOKEN_KEYS",
            "plus the database for products and orders",
        ),
    ]

    return Row(
        "complexity",
        "Complexity",
        "Session storage, expiry, clean-up, and a guard on every change of a session "
        "(compare-and-set or a lock) to run.",
        "A simpler server: keys to rotate, and no way to revoke one token.",
        web_complexity,
        api_complexity,
    )


def _order_figures(channel: figures.ChannelOrders, source: str) -> list[Figure]:
    return [
        Figure(
            "Orders",
            _count(channel.orders),
            source,
            f"last {_ago(channel.last)}" if channel.last else "none yet",
        ),
        Figure(
            "Revenue",
            _money(channel.revenue),
            source,
            f"{_money(channel.average)} per order" if channel.average is not None else "",
        ),
        Figure(
            "Lines per order",
            f"{channel.lines_per_order:,.1f}" if channel.lines_per_order is not None else "—",
            "shop_orderline GROUP BY channel",
            f"{_count(channel.items)} items in total",
        ),
    ]


def use_cases_row(i: Inputs) -> Row:
    o = i.data.orders
    return Row(
        "use_cases",
        "Use cases",
        "Continuous interaction: a person with a browser, carts, logins.",
        "Scripts, apps, headless front ends: brief, independent requests.",
        _order_figures(o.web, o.short_source),
        _order_figures(o.api, o.short_source),
    )


# The rows of the page, in order: one builder each. A new row is one more builder here.
ROW_BUILDERS = (session_row, scalability_row, resilience_row, complexity_row, use_cases_row)


def comparison_rows(data: figures.Comparison, keys: list[tuple[str, bytes]]) -> list[Row]:
    """The rows of the classic comparison, each with this deployment's figures."""
    inputs = Inputs(data=data, keys=keys, store=stores.current())
    return [build(inputs) for build in ROW_BUILDERS]


def _signing_keys() -> tuple[list[tuple[str, bytes]], str]:
    try:
        return tokens.signing_keys(), ""
    except ImproperlyConfigured as exc:
        return [], str(exc)


@dataclass(frozen=True)
class Section:
    """One part of the page below the five rows, folded until the reader opens it."""

    anchor: str
    title: str
    template: str
    summary: str = ""
    open: bool = False


def page_sections(*, inspecting: bool) -> list[Section]:
    """The parts below the five rows, in reading order; add one here to add it to the page."""
    return [
        Section(
            "benchmarks",
            "How the figures were measured",
            "admin/compare/sections/benchmarks.html",
            "the latest run of manage.py compare, and its throughput against the bare views",
        ),
        Section(
            "drills",
            "Every fault drill, in full",
            "admin/compare/sections/drills.html",
            "what each drill expected, observed, kept and lost",
        ),
        Section(
            "orders",
            "Orders per day",
            "admin/compare/sections/orders.html",
            "the last 30 days, by channel",
        ),
        Section(
            "lab-results",
            "The lab: the real topology on one machine",
            "admin/compare/_lab.html",
            "the latest run of each lab scenario (python manage.py lab)",
        ),
        Section(
            "tradeoffs",
            "Trade-offs without a number",
            "admin/compare/sections/tradeoffs.html",
            "revocation, logout, concurrent changes, what a client can read",
        ),
        Section(
            "inspector",
            "Token inspector",
            "admin/compare/sections/inspector.html",
            "paste an API cart token: what anyone holding it can read",
            open=inspecting,
        ),
    ]


def _plain(value) -> str:
    """A run parameter as a person writes it: lists joined, no Python reprs."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain(item)}" for key, item in value.items()) or "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


ENVIRONMENT_LABELS = {
    "cpus": "CPU cores",
    "cores": "CPU cores",
    "cpu_model": "CPU",
    "python": "Python",
    "django": "Django",
    "workers": "gunicorn workers per instance",
    "worker_class": "gunicorn worker class",
    "users": "locust users",
    "seconds": "seconds per scenario",
    "stores": "session stores",
    "database": "throwaway database",
    "redis": "Redis",
    "bind": "servers on",
    "debug": "DEBUG",
    "load_generator": "load generator",
    "load_average_before": "load average before the run",
}


def run_environment(run) -> list[tuple[str, str]]:
    if run is None:
        return []
    return [
        (ENVIRONMENT_LABELS.get(key, key.replace("_", " ")), _plain(value))
        for key, value in (run.environment or {}).items()
        if key != "lock"  # shown as the lock's own table
    ]


# The page shows the same data as these admin pages; it needs the same permissions.
REQUIRED_PERMISSIONS = {
    "shop.view_order": "“Can view order” (orders and revenue by channel)",
    "sessions.view_session": "“Can view session” (the sessions on the server)",
    "compare.view_measurementrun": "“Can view measurement run” (benchmarks and drills)",
}
# Without it the token inspector shows a token's user id, not whose it is.
VIEW_USERS = "auth.view_user"


@require_http_methods(["GET", "POST"])
def compare_page(request):
    """The comparison page; a POST runs the token inspector (it never writes anything)."""
    user = request.user
    missing = [label for perm, label in REQUIRED_PERMISSIONS.items() if not user.has_perm(perm)]
    if missing:
        context = {**admin.site.each_context(request), "title": "Permission needed"}
        return TemplateResponse(
            request,
            "admin/compare/forbidden.html",
            {**context, "missing": missing},
            status=HTTPStatus.FORBIDDEN,
        )
    users = user.has_perm(VIEW_USERS)
    form = TokenForm(request.POST or None)
    inspection = None
    status = HTTPStatus.OK
    if request.method == "POST":
        if form.is_valid():
            inspection = inspect_token(form.cleaned_data["token"], users=users)
        else:
            status = HTTPStatus.BAD_REQUEST
    elif "sample" in request.GET:
        try:
            token = sample_token()
        except ImproperlyConfigured:
            token = ""  # the page already says why the keys cannot be read
        if token:
            form = TokenForm(initial={"token": token})
            inspection = inspect_token(token, users=users)
    from .hidden_state import hidden_state_row  # it builds on this module's Figure and Row

    data = figures.comparison()
    keys, key_problem = _signing_keys()
    lab_sections = lab_page.latest_sections()
    rows = [*comparison_rows(data, keys), hidden_state_row(data)]
    evidence = lab_page.row_evidence(lab_sections)
    for row in rows:
        row.lab = evidence.get(row.key, [])
    context = {
        **admin.site.each_context(request),
        "title": "Stateful vs stateless, measured on this deployment",
        "data": data,
        "rows": rows,
        "tradeoffs": TRADEOFFS,
        "key_problem": key_problem,
        "orders_chart": charts.daily_orders_chart(data.days),
        "throughput_chart": charts.throughput_chart(data.benchmarks) if data.benchmarks else "",
        "run_environment": run_environment(data.run),
        "sections": page_sections(inspecting=request.method == "POST" or inspection is not None),
        "lock_prices": lock_prices(data.run, data.benchmarks),
        "drill_names": {d.drill for d in data.drills},
        "form": form,
        "inspection": inspection,
        "lab_sections": lab_sections,
        "generated_at": timezone.now(),
    }
    return TemplateResponse(request, "admin/compare/page.html", context, status=status)
