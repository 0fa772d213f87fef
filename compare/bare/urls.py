"""URLs of the bare baseline."""

from django.urls import path

from . import views

urlpatterns = [
    path("bare/", views.bare),
    path("bare-drf/", views.BareDrfView.as_view()),
]
