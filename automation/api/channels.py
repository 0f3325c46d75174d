"""/api/v1/ routes: channels."""

urlpatterns: list = []
