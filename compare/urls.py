"""Admin pages that compare the two channels: /admin/compare/ (staff only).

Included in config/urls.py at "admin/" before the admin's own URLs.
"""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "compare"

urlpatterns = [
    path("compare/", admin.site.admin_view(views.compare_page), name="page"),
]
