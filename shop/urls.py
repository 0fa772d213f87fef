"""URLs of the web shop."""

app_name = "shop"

urlpatterns = []
