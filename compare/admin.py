"""Admin for the stateful side's state (the sessions, with their decoded carts) and for the
measurement runs of `manage.py compare`."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from shop import stores
from shop.models import Product
from shop.session_cart import cart_from_session_data

from .figures import session_decoder
from .models import BenchmarkResult, DrillResult, MeasurementRun


def decorate_sessions(sessions) -> None:
    """Decode each session's cart and user, with one product and one user query in all."""
    decoder = session_decoder()
    product_ids: set[int] = set()
    user_ids: set[int] = set()
    for session in sessions:
        data = decoder.decode(session.session_data)
        session.cart = cart_from_session_data(data)
        product_ids.update(session.cart.product_ids)
        try:
            session.user_pk = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            session.user_pk = None
        if session.user_pk is not None:
            user_ids.add(session.user_pk)
    products = Product.objects.only("id", "name").in_bulk(product_ids) if product_ids else {}
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    for session in sessions:
        session.cart_lines = [
            (products[pid].name if pid in products else f"Product #{pid} (gone)", quantity)
            for pid, quantity in session.cart
        ]
        session.user = users.get(session.user_pk)


class DecodedChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        decorate_sessions(self.result_list)


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("live", "Live"), ("expired", "Expired"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(expire_date__gt=now)
        if self.value() == "expired":
            return queryset.filter(expire_date__lte=now)
        return queryset


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Server-side sessions of the web shop (db and cached_db stores), carts decoded."""

    list_display = ("key_prefix", "user_display", "cart_display", "size", "state")
    list_display_links = None
    list_filter = (StateFilter,)
    ordering = ("-expire_date",)
    actions = ("expire_sessions",)
    list_per_page = 50
    fields = ("key_prefix", "user_display", "cart_display", "size", "state")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(size=Length("session_data"))

    def get_changelist(self, request, **kwargs):
        return DecodedChangeList

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        store = stores.current()
        extra_context = {
            **(extra_context or {}),
            "session_store": store.name,
            "store_listing": store.listing,
            "store_listable": store.in_table,
            "title": "Server-side sessions of the web shop",
        }
        return super().changelist_view(request, extra_context)

    def get_object(self, request, object_id, from_field=None):
        session = super().get_object(request, object_id, from_field)
        if session is not None:
            decorate_sessions([session])
        return session

    @admin.display(description="session key")
    def key_prefix(self, session):
        # The key is a bearer credential: show enough to tell sessions apart, no more.
        return f"{session.session_key[:8]}…"

    @admin.display(description="user")
    def user_display(self, session):
        if session.user is not None:
            return session.user.get_username()
        if session.user_pk is not None:
            return f"user #{session.user_pk} (deleted)"
        return "anonymous"

    @admin.display(description="cart")
    def cart_display(self, session):
        if not session.cart_lines:
            return mark_safe('<span class="quiet">empty</span>')
        return format_html(
            '<ul class="session-cart">{}</ul>',
            format_html_join("", "<li>{} × {}</li>", ((q, n) for n, q in session.cart_lines)),
        )

    @admin.display(description="bytes", ordering="size")
    def size(self, session):
        return session.size if hasattr(session, "size") else len(session.session_data)

    @admin.display(description="expiry (UTC)", ordering="expire_date")
    def state(self, session):
        when = format_html(
            "{}<br>{}", f"{session.expire_date:%Y-%m-%d}", f"{session.expire_date:%H:%M}"
        )
        if session.expire_date <= timezone.now():
            label = "abandoned cart" if session.cart_lines else "expired"
            return format_html('<span style="color: var(--error-fg)">{}<br>{}</span>', label, when)
        return format_html("live until<br>{}", when)

    @admin.action(permissions=["change"], description="Expire selected sessions (end them now)")
    def expire_sessions(self, request, queryset):
        own = request.session.session_key
        keys = list(queryset.exclude(session_key=own).values_list("session_key", flat=True))
        expired = Session.objects.filter(session_key__in=keys).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        store = stores.current()
        if store.in_table and store.uses_cache:  # cached_db: drop the cached copies too
            from django.contrib.sessions.backends.cached_db import KEY_PREFIX

            caches[settings.SESSION_CACHE_ALIAS].delete_many([KEY_PREFIX + k for k in keys])
        self.message_user(
            request,
            f"Expired {expired} session(s): their carts and logins end now.",
            messages.SUCCESS,
        )
        if own and queryset.filter(session_key=own).exists():
            self.message_user(
                request, "Your own session was left alone (you would be logged out).", messages.INFO
            )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BenchmarkInline(ReadOnlyInline):
    model = BenchmarkResult
    fields = (
        "scenario",
        "channel",
        "store",
        "requests",
        "failures",
        "rps",
        "ratio",
        "p50_ms",
        "p99_ms",
        "cpu_us_per_request",
        "state_bytes_per_cart",
        "client_bytes_per_cart",
    )
    readonly_fields = fields


class DrillInline(ReadOnlyInline):
    model = DrillResult
    fields = (
        "drill",
        "channel",
        "store",
        "passed",
        "expected",
        "observed",
        "kept",
        "lost",
        "details",
    )
    readonly_fields = fields


@admin.register(MeasurementRun)
class MeasurementRunAdmin(admin.ModelAdmin):
    """Runs of `manage.py compare`: read-only, written by the command."""

    list_display = ("__str__", "started_at", "finished_at", "benchmark_count", "drill_count")
    fields = ("started_at", "finished_at", "environment", "report_text")
    readonly_fields = fields
    inlines = (BenchmarkInline, DrillInline)

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .annotate(
                benchmark_total=Count("benchmarks", distinct=True),
                drill_total=Count("drills", distinct=True),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="benchmarks", ordering="benchmark_total")
    def benchmark_count(self, run):
        return run.benchmark_total

    @admin.display(description="drills", ordering="drill_total")
    def drill_count(self, run):
        return run.drill_total

    @admin.display(description="report")
    def report_text(self, run):
        return format_html('<pre style="white-space: pre; overflow-x: auto">{}</pre>', run.report)
