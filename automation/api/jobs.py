"""/api/v1/ routes: jobs."""

urlpatterns: list = []
