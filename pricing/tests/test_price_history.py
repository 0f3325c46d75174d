"""`price_history`: one series per provider and spot flag within the window; and its API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from computehub.tests.api_helpers import assert_error
from pricing.models import PricePoint
from pricing.selectors import history_gpu_models, price_history
from pricing.tests.test_prices_page import make_credential


def _point(workspace, provider, spot, hours_ago, price, gpu="h100-sxm"):
    return PricePoint.objects.create(
        workspace=workspace, gpu_model=gpu, provider=provider, spot=spot, price_per_gpu_hour=price,
        recorded_at=timezone.now() - timedelta(hours=hours_ago),
    )  # fmt: skip


@pytest.fixture
def points(team, other_team):
    ws = team["workspace"]
    _point(ws, "runpod", False, 30, 2.6)
    _point(ws, "runpod", False, 2, 2.4)
    _point(ws, "runpod", True, 1, 1.5)
    _point(ws, "vast", False, 5, 2.2)
    _point(ws, "vast", False, 24 * 8, 3.0)  # outside 7 days
    _point(ws, "vast", False, 1, 0.9, gpu="rtx-4090")
    _point(other_team["workspace"], "lambda", False, 1, 1.0)


def _shape(series):
    return [(s.provider, s.spot, [price for _, price in s.points]) for s in series]


def test_series_per_provider_and_spot_oldest_first(team, points):
    series = price_history(workspace=team["workspace"], gpu_model="h100-sxm", days=7)
    assert _shape(series) == [("runpod", False, [2.6, 2.4]), ("runpod", True, [1.5]), ("vast", False, [2.2])]


def test_window_is_respected(team, points):
    assert _shape(price_history(workspace=team["workspace"], gpu_model="h100-sxm", days=1)) == [
        ("runpod", False, [2.4]), ("runpod", True, [1.5]), ("vast", False, [2.2])
    ]  # fmt: skip
    assert ("vast", False, [3.0, 2.2]) in _shape(price_history(workspace=team["workspace"], gpu_model="h100-sxm", days=30))


def test_history_models_are_this_workspaces(team, points):
    assert history_gpu_models(workspace=team["workspace"]) == ["h100-sxm", "rtx-4090"]


def test_api_returns_series(team, points, api_client_for):
    body = api_client_for(team["viewer"], team["workspace"]).get("/api/v1/price-history/?gpu=h100-sxm&days=1").json()
    assert body["gpu"] == "h100-sxm" and body["days"] == 1
    assert [(s["provider"], s["spot"], len(s["points"])) for s in body["series"]] == [
        ("runpod", False, 1), ("runpod", True, 1), ("vast", False, 1)
    ]  # fmt: skip
    assert body["series"][1]["points"][0]["price_per_gpu_hour"] == 1.5
    assert [s["provider_name"] for s in body["series"]] == ["RunPod", "RunPod", "Vast.ai"]  # the chart legend


def test_the_legend_names_providers_as_every_other_page_does(team, api_client_for):
    from providers.adapters import adapter_class

    _point(team["workspace"], "lambda", False, 1, 1.0)
    body = api_client_for(team["viewer"], team["workspace"]).get("/api/v1/price-history/?gpu=h100-sxm").json()
    assert [s["provider_name"] for s in body["series"]] == [adapter_class("lambda").display_name]


@pytest.mark.parametrize(
    "query,field", [("?days=7", "gpu"), ("?gpu=h100-sxm&days=3", "days"), ("?gpu=nope", "gpu"), ("?gpu=h100-sxm&x=1", "x")]
)
def test_api_bad_params_name_the_field(team, points, api_client_for, query, field):
    response = api_client_for(team["viewer"], team["workspace"]).get("/api/v1/price-history/" + query)
    assert list(assert_error(response, 400, "validation_error")["fields"]) == [field]


def test_page_embeds_the_first_chart(team, points, client_in):
    make_credential(team["workspace"])
    html = client_in(team["viewer"], team["workspace"]).get("/prices/?gpu=rtx-4090").content.decode()
    assert 'id="history-data"' in html and '"gpu": "rtx-4090"' in html
