"""URLs of the web shop, and the two account URLs that keep Django's usual names."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import session_view, views

app_name = "shop"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("products/<slug:slug>/picture.svg", views.product_picture, name="product_picture"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<int:product_id>/", views.cart_set, name="cart_set"),
    path("cart/items/<int:product_id>/remove/", views.cart_remove, name="cart_remove"),
    path("session/", session_view.session_detail, name="session"),
    path("session/forget/", session_view.session_forget, name="session_forget"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/orders/", views.order_history, name="order_history"),
]

# Outside the namespace, under the names LOGIN_URL and Django's own templates expect.
account_urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    # Django's password reset: a one-time link by email, valid PASSWORD_RESET_TIMEOUT seconds.
    path(
        "accounts/password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
