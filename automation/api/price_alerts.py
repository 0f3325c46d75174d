"""/api/v1/ routes: price_alerts."""

urlpatterns: list = []
