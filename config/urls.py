"""The site's URLs: the web shop at /, the JSON API at /api/, the admin at /admin/."""

from django.contrib import admin
from django.urls import include, path

from compare.side_by_side import side_by_side
from shop.urls import account_urlpatterns

admin.site.site_header = "Corner Shop admin"
admin.site.site_title = "Corner Shop admin"
admin.site.index_title = "The shop's data, and the stateful vs stateless comparison"

urlpatterns = [
    path("admin/", include("compare.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("side-by-side/", side_by_side, name="side_by_side"),
    path("", include(account_urlpatterns)),
    path("", include("shop.urls")),
]
