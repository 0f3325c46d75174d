"""Pages of deployments: list, detail, actions, launch, templates, files."""

from deployments.views.browse import download, folder
from deployments.views.launch import gallery, launch, template_offers
from deployments.views.pages import action, detail, index, logs_txt, metrics_json, row

__all__ = ["action", "detail", "download", "folder", "gallery", "index", "launch", "logs_txt", "metrics_json",
           "row", "template_offers"]
