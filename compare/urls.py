"""Admin pages that compare the two channels."""

urlpatterns = []
