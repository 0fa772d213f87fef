"""URLs of the bare baseline and of the minimal twins (served by their own settings)."""

from django.conf import settings
from django.urls import path

from . import views

urlpatterns = [
    path("bare/", views.bare),
    path("bare-drf/", views.BareDrfView.as_view()),
]

if "compare.bare" in settings.INSTALLED_APPS:
    from . import twins

    urlpatterns += [
        path("twin/api/cart/items/", twins.api_add),
        path("twin/cart/add/", twins.web_add),
        path("twin/cart/add-unlocked/", twins.web_add_unlocked),
        path("twin/cart/", twins.cart),
    ]
