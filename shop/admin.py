"""Admin for the catalogue and the orders (orders come from checkout and are read-only here)."""

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery, Sum
from django.utils.html import format_html

from .models import AccountCart, Category, Order, OrderLine, Product

# At or below this many units, stock is shown in red in the product list.
LOW_STOCK = 5


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "product_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(products_total=Count("products"))

    @admin.display(description="products", ordering="products_total")
    def product_count(self, category):
        return category.products_total


class ProductListForm(forms.ModelForm):
    """The changelist form: a low stock figure is red in its own input as well."""

    class Meta:
        model = Product
        fields = ("price", "stock")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.stock <= LOW_STOCK:
            attrs = self.fields["stock"].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} stock-low".strip()
            attrs["title"] = f"Low stock (≤ {LOW_STOCK})"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "price", "stock", "stock_level", "active", "updated_at")
    list_editable = ("price", "stock")
    list_filter = ("category", "active")
    list_select_related = ("category",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    list_per_page = 50

    class Media:
        css = {"all": ("css/compare.css",)}

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", ProductListForm)
        return super().get_changelist_form(request, **kwargs)

    @admin.display(description="stock level", ordering="stock")
    def stock_level(self, product):
        if product.stock == 0:
            return format_html('<span class="stock-low">sold out</span>')
        if product.stock <= LOW_STOCK:
            return format_html('<span class="stock-low">low: {}</span>', product.stock)
        return "ok"


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("product", "name", "unit_price", "quantity", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="line total")
    def line_total(self, line):
        return line.line_total


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are written by checkout (`place_order`) only; the admin reads them."""

    list_display = (
        "__str__",
        "created_at",
        "channel",
        "customer_name",
        "user",
        "item_count",
        "total",
        "token_bytes",
    )
    list_filter = ("channel", "created_at", ("user", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("customer_name", "customer_email", "cart_id")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline,)
    fields = (
        "channel",
        "created_at",
        "user",
        "customer_name",
        "customer_email",
        "customer_address",
        "item_count",
        "total",
        "cart_id",
        "idempotency_key",
        "token_bytes",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # A subquery, not a join: the changelist's totals below sum each order once.
        items = (
            OrderLine.objects.filter(order=OuterRef("pk"))
            .order_by()
            .values("order")
            .annotate(n=Sum("quantity"))
            .values("n")
        )
        return super().get_queryset(request).annotate(items_total=Subquery(items))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="items", ordering="items_total")
    def item_count(self, order):
        return order.items_total or 0

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # Totals of what the filters selected, by channel: one GROUP BY query.
            labels = dict(Order.Channel.choices)  # the names the list itself shows
            response.context_data["channel_totals"] = [
                {**row, "label": labels.get(row["channel"], row["channel"])}
                for row in changelist.queryset.order_by()
                .values("channel")
                .annotate(orders=Count("id"), revenue=Sum("total"))
                .order_by("channel")
            ]
        return response


@admin.register(AccountCart)
class AccountCartAdmin(admin.ModelAdmin):
    """Carts kept per account between logins (saved at logout, taken out at login)."""

    list_display = ("user", "line_count", "updated_at")
    readonly_fields = ("user", "lines", "updated_at")
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="lines")
    def line_count(self, row):
        return len(row.lines or [])
