"""/api/v1/ routes: health."""

urlpatterns: list = []
