"""The price-alerts API: create, read, change, delete; validation with the shared error shape;
Viewers read only; another workspace's alerts are 404."""

from decimal import Decimal

import pytest

from automation.models import PriceAlert
from automation.tests.factories_triggers import make_credential, make_offer
from computehub.tests.api_helpers import assert_error

LIST = "/api/v1/price-alerts/"


def _detail(alert_id):
    return f"{LIST}{alert_id}/"


def test_create_then_read_with_the_cheapest_offer_now(team, developer_api):
    offer = make_offer(make_credential(team["workspace"], "vast"), gpu_model="h100-sxm", price=2.2, vram_gb=80)
    response = developer_api.post(LIST, {"gpu_model": "h100-sxm", "max_price_per_hour": "2.00"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["gpu_name"] == "H100 SXM" and body["max_price_per_hour"] == 2.0 and body["min_gpus"] == 1
    assert body["provider"] == "" and body["include_spot"] is False and body["is_below"] is False
    assert body["cheapest"]["id"] == offer.pk and body["cheapest"]["price_per_gpu_hour"] == pytest.approx(2.2)
    listed = developer_api.get(LIST).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert developer_api.get(_detail(body["id"])).json()["gpu_model"] == "h100-sxm"


def test_the_gpu_can_be_named_as_the_table_does(developer_api):
    response = developer_api.post(LIST, {"gpu_model": "H100 SXM", "max_price_per_hour": 2}, format="json")
    assert response.status_code == 201 and response.json()["gpu_model"] == "h100-sxm"


@pytest.mark.parametrize(("body", "field"), [
    ({"gpu_model": "h100", "max_price_per_hour": 2}, "gpu_model"),  # which H100? not a canonical model
    ({"gpu_model": "rtx-9999", "max_price_per_hour": 2}, "gpu_model"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 0}, "max_price_per_hour"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": -1}, "max_price_per_hour"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 5000}, "max_price_per_hour"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": "cheap"}, "max_price_per_hour"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "min_gpus": 0}, "min_gpus"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "min_gpus": 17}, "min_gpus"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "provider": "aws"}, "provider"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "provider": "local"}, "provider"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "include_spot": "yes"}, "include_spot"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": 2, "colour": "red"}, "colour"),
    ({"max_price_per_hour": 2}, "gpu_model"),
])
def test_bad_input_names_the_field_and_stores_nothing(developer_api, body, field):
    error = assert_error(developer_api.post(LIST, body, format="json"), 400, "validation_error")
    assert field in error["fields"], error
    assert not PriceAlert.objects.exists()


def test_patch_changes_the_question_and_resets_its_state(team, developer_api):
    alert = PriceAlert.objects.create(workspace=team["workspace"], gpu_model="h100-sxm",
                                      max_price_per_hour=Decimal("2"), is_below=True, last_price=1.5)
    response = developer_api.patch(_detail(alert.pk), {"max_price_per_hour": 1.25, "provider": "runpod"}, format="json")
    assert response.status_code == 200, response.content
    alert.refresh_from_db()
    assert alert.max_price_per_hour == Decimal("1.25") and alert.provider == "runpod" and not alert.is_below
    response = developer_api.patch(_detail(alert.pk), {"enabled": False}, format="json")
    assert response.json()["enabled"] is False
    assert_error(developer_api.patch(_detail(alert.pk), {"min_gpus": 99}, format="json"), 400, "validation_error")
    alert.refresh_from_db()
    assert alert.min_gpus == 1


def test_delete(team, developer_api):
    alert = PriceAlert.objects.create(workspace=team["workspace"], gpu_model="a100-80gb", max_price_per_hour=1)
    assert developer_api.delete(_detail(alert.pk)).status_code == 204
    assert not PriceAlert.objects.exists()


def test_viewers_read_but_cannot_write(team, api_client_for):
    viewer = api_client_for(team["viewer"], team["workspace"])
    alert = PriceAlert.objects.create(workspace=team["workspace"], gpu_model="h100-sxm", max_price_per_hour=2)
    assert viewer.get(LIST).status_code == 200 and viewer.get(_detail(alert.pk)).status_code == 200
    assert_error(viewer.post(LIST, {"gpu_model": "h100-sxm", "max_price_per_hour": 2}, format="json"), 403)
    assert_error(viewer.patch(_detail(alert.pk), {"enabled": False}, format="json"), 403)
    assert_error(viewer.delete(_detail(alert.pk)), 403)
    assert PriceAlert.objects.get().enabled


def test_another_workspaces_alert_is_404(team, other_team, api_client_for):
    theirs = PriceAlert.objects.create(workspace=other_team["workspace"], gpu_model="h100-sxm", max_price_per_hour=2)
    admin = api_client_for(team["admin"], team["workspace"])
    assert admin.get(LIST).json()["results"] == []
    for method in ("get", "patch", "delete"):
        assert_error(getattr(admin, method)(_detail(theirs.pk), {}, format="json"), 404)
    assert PriceAlert.objects.filter(pk=theirs.pk).exists()
