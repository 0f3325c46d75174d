from django.apps import AppConfig


class ComputehubConfig(AppConfig):
    name = "computehub"
    verbose_name = "ComputeHub core"
