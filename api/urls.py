"""URLs of the JSON API, under /api/."""

from django.urls import path, re_path

from . import schema, views

app_name = "api"

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="products"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product"),
    path("cart/", views.CartView.as_view(), name="cart"),
    path("cart/items/", views.CartItemsView.as_view(), name="cart-items"),
    path("cart/items/<int:product_id>/", views.CartItemView.as_view(), name="cart-item"),
    path("checkout/", views.CheckoutView.as_view(), name="checkout"),
    path("auth/token/", views.LoginView.as_view(), name="login"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("schema/", schema.SchemaView.as_view(), name="schema"),
    path("docs/", schema.SwaggerView.as_view(), name="docs"),
    re_path(r"^(?P<path>(?s:.*))$", views.not_found),
]
