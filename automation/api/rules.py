"""/api/v1/ routes: rules."""

urlpatterns: list = []
