from automation.views import budgets, channels, health, jobs, overview

app_name = "automation"

urlpatterns = overview.urlpatterns + health.urlpatterns + channels.urlpatterns + budgets.urlpatterns + jobs.urlpatterns
