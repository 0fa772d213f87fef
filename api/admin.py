"""Admin: a staff action that ends a user's API logins, in every revocation mode."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import revocation

User = get_user_model()


@admin.action(
    description="End the selected users' API logins (every logged-in token, every device)",
    permissions=["change"],
)
def end_api_logins(modeladmin, request, queryset):
    users = list(queryset.values_list("pk", flat=True))
    for user_id in users:
        revocation.end_logins(user_id)
    modeladmin.message_user(
        request,
        f"API logins ended for {len(users)} user{'s' if len(users) != 1 else ''}: their "
        "logged-in tokens get 401 `login_ended` from now on. Their anonymous carts, and the "
        "web sessions, are not affected (a password change ends those too).",
        messages.SUCCESS,
    )


class ShopUserAdmin(UserAdmin):
    actions = [*UserAdmin.actions, end_api_logins]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, ShopUserAdmin)
