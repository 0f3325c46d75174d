"""The price alerts' URL kwarg for computehub/tests/test_api_access.py."""

from decimal import Decimal


def _price_alert(workspace, scenario):
    from automation.models import PriceAlert

    return PriceAlert.objects.create(workspace=workspace, gpu_model="h100-sxm", max_price_per_hour=Decimal("2")).pk


URL_KWARGS = {"alert_id": _price_alert}
