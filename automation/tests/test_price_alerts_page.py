"""The price alerts page: list with the cheapest price now, the form with inline field errors
(HTMX), delete; Viewers read only."""

from decimal import Decimal

import pytest
from django.urls import reverse

from automation.models import PriceAlert
from automation.tests.factories_triggers import make_credential, make_offer

PAGE = reverse("automation:price-alerts")
CREATE = reverse("automation:price-alert-create")


def _alert(team, **fields):
    fields = {"gpu_model": "h100-sxm", "max_price_per_hour": Decimal("2.00"), **fields}
    return PriceAlert.objects.create(workspace=team["workspace"], **fields)


def test_page_lists_alerts_with_the_cheapest_price_now(team, other_team, client_in):
    _alert(team)
    _alert(team, gpu_model="a100-80gb", provider="lambda")
    PriceAlert.objects.create(workspace=other_team["workspace"], gpu_model="l40s", max_price_per_hour=1)
    make_offer(make_credential(team["workspace"], "vast"), gpu_model="h100-sxm", price=1.87, vram_gb=80)
    html = client_in(team["viewer"], team["workspace"]).get(PAGE).content.decode()
    assert "H100 SXM" in html and "$1.87" in html and "$2.00" in html
    assert "A100 80GB" in html
    assert "Lambda" in html and "No matching offer" in html
    assert "L40S" not in html  # another workspace's alert
    assert 'id="price-alert-form"' not in html and "Delete" not in html  # a Viewer only reads


def test_a_developer_adds_an_alert(team, client_in):
    client = client_in(team["developer"], team["workspace"])
    assert 'id="price-alert-form"' in client.get(PAGE).content.decode()
    response = client.post(CREATE, {"gpu_model": "h100-sxm", "max_price_per_hour": "2.5", "min_gpus": "1",
                                    "provider": ""})
    assert response.status_code == 302 and response.url == PAGE
    alert = PriceAlert.objects.get()
    assert alert.max_price_per_hour == Decimal("2.5") and alert.created_by == team["developer"]


@pytest.mark.parametrize(("data", "message"), [
    ({"gpu_model": "h100-sxm", "max_price_per_hour": "0", "min_gpus": "1"}, "more than $0"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": "5000", "min_gpus": "1"}, "at most $1,000"),
    ({"gpu_model": "h100-sxm", "max_price_per_hour": "2", "min_gpus": "40"}, "from 1 to 16"),
    ({"gpu_model": "nope", "max_price_per_hour": "2", "min_gpus": "1"}, "Select a valid choice"),
])
def test_field_errors_show_inline_in_the_htmx_fragment(team, client_in, data, message):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(CREATE, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="price-alert-form"' in html
    assert "field-error" in html and message in html
    assert "<html" not in html  # the fragment, not the page
    assert not PriceAlert.objects.exists()


def test_delete_removes_the_row(team, client_in):
    alert = _alert(team)
    client = client_in(team["developer"], team["workspace"])
    response = client.post(reverse("automation:price-alert-delete", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "price-alert-" not in response.content.decode()
    assert not PriceAlert.objects.exists()


def test_viewers_cannot_write_and_other_workspaces_alerts_are_404(team, other_team, client_in):
    alert = _alert(team)
    viewer = client_in(team["viewer"], team["workspace"])
    assert viewer.post(CREATE, {"gpu_model": "h100-sxm", "max_price_per_hour": "2", "min_gpus": "1"}).status_code == 403
    assert viewer.post(reverse("automation:price-alert-delete", args=[alert.pk])).status_code == 403
    stranger = client_in(other_team["admin"], other_team["workspace"])
    assert stranger.post(reverse("automation:price-alert-delete", args=[alert.pk])).status_code == 404
    assert PriceAlert.objects.filter(pk=alert.pk).exists()
