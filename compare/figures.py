"""The figures of /admin/compare/, measured on this deployment with a fixed number of queries.

Every figure says where it comes from (`source`). Orders are aggregated in the
database (GROUP BY channel, GROUP BY day); sessions are counted in the
database and their carts decoded in one streaming pass over `django_session`
(a cart inside a signed session cannot be read by SQL). The page therefore
costs the same number of queries for one session or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import KEY_PREFIX as SESSION_KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Avg, Count, Max, Q, Sum
from django.db.models.functions import Length, TruncDate
from django.utils import timezone

from api.tokens import TokenError, encode_cart, new_cid
from compare.models import MeasurementRun
from shop import stores
from shop.cart import Cart
from shop.models import Order, OrderLine
from shop.session_cart import CART_SESSION_KEY, cart_from_session_data

# A decoding pass over more rows than this says that it stopped (the counts stay exact).
SESSION_DECODE_LIMIT = 50_000
# Redis: at most this many session keys are looked at (SCAN, never KEYS).
REDIS_SCAN_LIMIT = 10_000
TOKEN_SIZE_LINES = (1, 10, 50)
ORDER_CHART_DAYS = 30


# --- Sessions (the stateful channel) ----------------------------------------------


@dataclass
class SessionFigures:
    store: str
    engine: str
    where: str  # where this store keeps the data, in words
    source: str  # how the numbers below were obtained, in full
    count_source: str = ""  # short labels for the page: sessions counted...
    cart_source: str = ""  # ...and carts decoded
    note: str = ""  # what this store can or cannot show, said plainly
    sessions: int | None = None  # live (unexpired) sessions, any content
    session_bytes: int | None = None
    carts: int | None = None  # live sessions holding a non-empty cart
    cart_bytes: int | None = None  # bytes the server keeps for those sessions
    cart_lines: int | None = None
    cart_items: int | None = None
    oldest_cart_written: datetime | None = None  # least recently changed live cart
    expired_sessions: int | None = None
    abandoned_carts: int | None = None  # expired sessions still holding a cart
    abandoned_items: int | None = None
    decoded: int = 0
    truncated: bool = False

    @property
    def bytes_per_cart(self) -> int | None:
        if not self.carts or self.cart_bytes is None:
            return None
        return round(self.cart_bytes / self.carts)


def session_decoder() -> SessionBase:
    """A store instance whose `decode` reads django_session rows (db and cached_db alike)."""
    from django.contrib.sessions.backends.db import SessionStore

    return SessionStore()


def cart_written_at(expire_date: datetime) -> datetime:
    """When a session was last saved: Django sets expiry to save time + SESSION_COOKIE_AGE."""
    return expire_date - timedelta(seconds=settings.SESSION_COOKIE_AGE)


def session_figures(*, now: datetime | None = None) -> SessionFigures:
    """What the web shop's session store holds now, for the store in use."""
    now = now or timezone.now()
    store = stores.current()
    if store.in_table:
        return _table_figures(store=store, now=now)
    if store.uses_cache:
        return _cache_figures(store=store, now=now)
    return SessionFigures(
        store=store.name,
        engine=store.engine,
        where=store.where,
        source="the session engine in use (settings.SESSION_ENGINE)",
        note=(
            "signed_cookies: the server holds nothing. The whole session, cart included, "
            "travels in a signed cookie on every request (readable by the visitor, not "
            "changeable). There is nothing to list, count or expire on the server."
        ),
        sessions=0,
        session_bytes=0,
        carts=0,
        cart_bytes=0,
    )


def _table_figures(*, store: stores.Store, now: datetime) -> SessionFigures:
    figures = SessionFigures(
        store=store.name,
        engine=store.engine,
        where=store.where,
        source=(
            "django_session: counts and bytes by one aggregate query; carts by decoding "
            "the rows in one streaming query"
        ),
        count_source="django_session · COUNT/SUM query",
        cart_source="django_session · rows decoded in 1 query",
    )
    totals = Session.objects.aggregate(
        live=Count("pk", filter=Q(expire_date__gt=now)),
        live_bytes=Sum(Length("session_data"), filter=Q(expire_date__gt=now)),
        expired=Count("pk", filter=Q(expire_date__lte=now)),
    )
    figures.sessions = totals["live"]
    figures.session_bytes = totals["live_bytes"] or 0
    figures.expired_sessions = totals["expired"]

    decoder = session_decoder()
    carts = cart_bytes = cart_lines = cart_items = abandoned = abandoned_items = 0
    oldest: datetime | None = None
    rows = Session.objects.order_by("-expire_date").values_list("session_data", "expire_date")
    for session_data, expire_date in rows[:SESSION_DECODE_LIMIT].iterator(chunk_size=2000):
        figures.decoded += 1
        cart = cart_from_session_data(decoder.decode(session_data))
        if not cart:
            continue
        if expire_date > now:
            carts += 1
            cart_bytes += len(session_data)
            cart_lines += len(cart)
            cart_items += cart.item_count
            oldest = expire_date if oldest is None else min(oldest, expire_date)
        else:
            abandoned += 1
            abandoned_items += cart.item_count
    figures.truncated = figures.decoded >= SESSION_DECODE_LIMIT
    figures.carts, figures.cart_bytes = carts, cart_bytes
    figures.cart_lines, figures.cart_items = cart_lines, cart_items
    figures.abandoned_carts, figures.abandoned_items = abandoned, abandoned_items
    figures.oldest_cart_written = cart_written_at(oldest) if oldest else None
    if store.uses_cache:
        figures.note = (
            "cached_db writes every session to django_session and reads it through the "
            "cache, so the table lists them all."
        )
    return figures


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _cache_figures(*, store: stores.Store, now: datetime) -> SessionFigures:
    from django.core.cache import caches

    alias = settings.SESSION_CACHE_ALIAS
    cache = caches[alias]
    figures = SessionFigures(store=store.name, engine=store.engine, where=store.where, source="")
    if store.cache is not stores.REDIS:
        figures.note = (
            "This cache cannot be listed: local memory lives inside each server process "
            "(so another process, or this page, cannot see those sessions, and a restart "
            "loses them). Set REDIS_URL to keep sessions in Redis."
        )
        figures.source = "the cache backend in use (settings.CACHES)"
        return figures

    from django_redis import get_redis_connection

    client = get_redis_connection(alias)
    prefix = cache.make_key(SESSION_KEY_PREFIX)
    pattern = _glob_escape(prefix) + "*"
    keys: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=1000):
        keys.append(key)
        if len(keys) >= REDIS_SCAN_LIMIT:
            figures.truncated = True
            break
    figures.where = f"{store.where} (keys “{prefix}…”)"
    figures.source = (
        f"Redis: SCAN MATCH {pattern} (at most {REDIS_SCAN_LIMIT:,} keys), "
        "then MGET and TTL in one pipeline"
    )
    figures.count_source = figures.cart_source = "Redis · SCAN + MGET"
    figures.note = (
        "Redis deletes a session when its TTL runs out, so expired (abandoned) carts "
        "cannot be counted with this store."
    )
    figures.sessions = figures.carts = figures.cart_bytes = 0
    figures.session_bytes = figures.cart_lines = figures.cart_items = 0
    oldest_ttl: int | None = None
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        pipe = client.pipeline(transaction=False)
        pipe.mget(chunk)
        for key in chunk:
            pipe.ttl(key)
        values, *ttls = pipe.execute()
        # The raw bytes give the sizes; the cache's own get_many decodes the values.
        cache_keys = [SESSION_KEY_PREFIX + _text(key)[len(prefix) :] for key in chunk]
        try:
            decoded = cache.get_many(cache_keys)
        except Exception:  # a value that is not a session: count its bytes only
            decoded = {}
        for cache_key, raw, ttl in zip(cache_keys, values, ttls, strict=True):
            if raw is None:
                continue  # expired between SCAN and MGET
            figures.decoded += 1
            figures.sessions += 1
            figures.session_bytes += len(raw)
            data = decoded.get(cache_key)
            cart = cart_from_session_data(data if isinstance(data, dict) else {})
            if not cart:
                continue
            figures.carts += 1
            figures.cart_bytes += len(raw)
            figures.cart_lines += len(cart)
            figures.cart_items += cart.item_count
            if ttl is not None and ttl >= 0:
                oldest_ttl = ttl if oldest_ttl is None else min(oldest_ttl, ttl)
    if oldest_ttl is not None:
        figures.oldest_cart_written = cart_written_at(now + timedelta(seconds=oldest_ttl))
    return figures


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]\\" else c for c in text) if text else text


# --- Orders (both channels) ---------------------------------------------------------


@dataclass
class ChannelOrders:
    channel: str
    label: str
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    average: Decimal | None = None
    lines: int = 0
    items: int = 0
    token_orders: int = 0
    token_bytes_avg: float | None = None
    token_bytes_max: int | None = None
    last: datetime | None = None

    @property
    def lines_per_order(self) -> float | None:
        return self.lines / self.orders if self.orders else None


@dataclass
class OrderFigures:
    by_channel: dict[str, ChannelOrders]
    total_revenue: Decimal
    source: str = (
        "shop_order: GROUP BY channel (count, revenue, token bytes); "
        "shop_orderline: GROUP BY channel (lines, items)"
    )
    short_source: str = "shop_order · GROUP BY channel"

    @property
    def web(self) -> ChannelOrders:
        return self.by_channel[Order.Channel.WEB]

    @property
    def api(self) -> ChannelOrders:
        return self.by_channel[Order.Channel.API]


def order_figures() -> OrderFigures:
    """Orders, revenue and token bytes by channel: two aggregate queries."""
    by_channel = {value: ChannelOrders(value, label) for value, label in Order.Channel.choices}
    rows = (
        Order.objects.order_by()
        .values("channel")
        .annotate(
            orders=Count("id"),
            revenue=Sum("total"),
            average=Avg("total"),
            token_orders=Count("token_bytes"),
            token_bytes_avg=Avg("token_bytes"),
            token_bytes_max=Max("token_bytes"),
            last=Max("created_at"),
        )
    )
    for row in rows:
        figures = by_channel.get(row["channel"])
        if figures is None:
            continue
        figures.orders = row["orders"]
        figures.revenue = row["revenue"] or Decimal("0.00")
        figures.average = row["average"]
        figures.token_orders = row["token_orders"]
        figures.token_bytes_avg = row["token_bytes_avg"]
        figures.token_bytes_max = row["token_bytes_max"]
        figures.last = row["last"]
    line_rows = (
        OrderLine.objects.order_by()
        .values("order__channel")
        .annotate(lines=Count("id"), items=Sum("quantity"))
    )
    for row in line_rows:
        if figures := by_channel.get(row["order__channel"]):
            figures.lines, figures.items = row["lines"], row["items"] or 0
    return OrderFigures(
        by_channel=by_channel,
        total_revenue=sum((f.revenue for f in by_channel.values()), Decimal("0.00")),
    )


@dataclass
class DayOrders:
    day: Any  # datetime.date
    counts: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, Decimal] = field(default_factory=dict)


def orders_by_day(*, days: int = ORDER_CHART_DAYS, now: datetime | None = None) -> list[DayOrders]:
    """Orders per UTC day and channel over the last `days` days (one GROUP BY query).

    Every day of the window is present, days without orders included, so a chart of it
    shows quiet days as zero instead of skipping them.
    """
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    series = {start + timedelta(days=n): DayOrders(start + timedelta(days=n)) for n in range(days)}
    for entry in series.values():
        entry.counts = {value: 0 for value in Order.Channel.values}
        entry.revenue = {value: Decimal("0.00") for value in Order.Channel.values}
    rows = (
        Order.objects.order_by()
        .filter(created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day", "channel")
        .annotate(n=Count("id"), revenue=Sum("total"))
    )
    for row in rows:
        entry = series.get(row["day"])
        if entry is not None and row["channel"] in entry.counts:
            entry.counts[row["channel"]] = row["n"]
            entry.revenue[row["channel"]] = row["revenue"] or Decimal("0.00")
    return list(series.values())


# --- Token sizes (the stateless channel) ----------------------------------------------


@dataclass
class SizeRow:
    lines: int
    token_bytes: int | None
    session_bytes: int  # the same cart kept in a server-side session (db store encoding)
    error: str = ""


def sample_cart(lines: int) -> Cart:
    """A cart of `lines` lines: product ids 1..lines, quantities 1..9 in turn."""
    return Cart((product_id, product_id % 9 + 1) for product_id in range(1, lines + 1))


def token_sizes(*, now: datetime | None = None) -> list[SizeRow]:
    """Token bytes for 1, 10 and 50-line carts, measured now with the API's encoder,
    beside the bytes the web shop's session row holds for the same cart."""
    decoder = session_decoder()
    rows: list[SizeRow] = []
    for lines in TOKEN_SIZE_LINES:
        cart = sample_cart(lines)
        session_bytes = len(decoder.encode({CART_SESSION_KEY: cart.to_compact()}))
        try:
            token = encode_cart(cart=cart, cid=new_cid(), now=int(now.timestamp()) if now else None)
        except (ImproperlyConfigured, TokenError) as exc:  # shown on the page, never a 500
            rows.append(SizeRow(lines, None, session_bytes, error=f"{type(exc).__name__}: {exc}"))
            continue
        rows.append(SizeRow(lines, len(token.encode()), session_bytes))
    return rows


# --- Benchmarks and drills (manage.py compare) ----------------------------------------


def latest_run() -> MeasurementRun | None:
    """The newest finished measurement run with its results (three queries at most)."""
    runs = MeasurementRun.objects.prefetch_related("benchmarks", "drills")
    return runs.filter(finished_at__isnull=False).first()


@dataclass
class Comparison:
    """Everything the page shows, gathered once."""

    now: datetime
    sessions: SessionFigures
    orders: OrderFigures
    days: list[DayOrders]
    token_sizes: list[SizeRow]
    run: MeasurementRun | None
    benchmarks: list = field(default_factory=list)
    drills: list = field(default_factory=list)


def comparison(*, now: datetime | None = None) -> Comparison:
    now = now or timezone.now()
    run = latest_run()
    return Comparison(
        now=now,
        sessions=session_figures(now=now),
        orders=order_figures(),
        days=orders_by_day(now=now),
        token_sizes=token_sizes(now=now),
        run=run,
        benchmarks=list(run.benchmarks.all()) if run else [],
        drills=list(run.drills.all()) if run else [],
    )
