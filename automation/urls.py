from automation.views import budgets, channels, health, jobs, overview, price_alerts, rules

app_name = "automation"

urlpatterns = (overview.urlpatterns + rules.urlpatterns + health.urlpatterns + channels.urlpatterns
               + budgets.urlpatterns + jobs.urlpatterns + price_alerts.urlpatterns)
