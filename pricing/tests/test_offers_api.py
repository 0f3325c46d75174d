"""offers/, offers/refresh/ and gpus/ over HTTP: filters, pagination, errors, roles."""

import pytest

from computehub.tests.api_helpers import assert_error
from pricing.gpu_specs import GPU_SPECS
from pricing.tests.test_search import catalog, make_credential, make_offer  # noqa: F401  (fixture)

OFFERS, REFRESH, GPUS = "/api/v1/offers/", "/api/v1/offers/refresh/", "/api/v1/gpus/"


@pytest.fixture
def viewer(team, api_client_for):
    return api_client_for(team["viewer"], team["workspace"])


def test_offers_are_listed_best_first_with_every_field(catalog, viewer):
    body = viewer.get(OFFERS, {"gpu": "h100-sxm", "sort": "tflop_price"}).json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    first = body["results"][0]
    assert first["offer_id"] == "h100x8" and first["provider"] == "runpod" and first["stale"] is False
    expected = {
        "provider", "region", "gpu_model", "gpu_name", "gpu_count", "vram_gb", "vcpus", "ram_gb", "disk_gb",
        "price_per_hour", "price_per_gpu_hour", "price_per_tflop_hour", "price_per_vram_gb_hour", "spot",
        "min_bid_per_hour", "available", "reliability", "cuda_version", "fetched_at", "stale",
    }  # fmt: skip
    assert expected <= set(first)
    assert first["price_per_gpu_hour"] == pytest.approx(2.5)


def test_offers_of_a_stale_provider_say_so(catalog, viewer):
    results = viewer.get(OFFERS, {"provider": "vast", "spot": "true"}).json()["results"]
    assert [(o["offer_id"], o["stale"], o["min_bid_per_hour"]) for o in results] == [("4090", True, 0.2)]


def test_limit_caps_the_page_and_pages_follow(catalog, viewer):
    first = viewer.get(OFFERS, {"limit": 4}).json()
    assert first["count"] == 6 and len(first["results"]) == 4 and "page=2" in first["next"]
    second = viewer.get(first["next"]).json()
    assert [o["offer_id"] for o in second["results"]] == ["h100x8", "h100"]
    assert len(viewer.get(OFFERS, {"limit": 4, "page_size": 2}).json()["results"]) == 2
    assert len(viewer.get(OFFERS, {"limit": 2, "page_size": 100}).json()["results"]) == 2


def test_no_results_is_an_empty_page(catalog, viewer):
    body = viewer.get(OFFERS, {"gpu": "b200"}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_other_workspaces_offers_are_not_listed(catalog, other_team, api_client_for):
    client = api_client_for(other_team["admin"], other_team["workspace"])
    assert [o["offer_id"] for o in client.get(OFFERS).json()["results"]] == ["theirs"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_gpus": "-1"}, "min_gpus"),
        ({"gpu": "h100-sxm,h900"}, "gpu"),
        ({"provider": "aws"}, "provider"),
        ({"sort": "cheap"}, "sort"),
        ({"limit": "5000"}, "limit"),
        ({"spot": "maybe"}, "spot"),
        ({"min_vram_gb": "lots"}, "min_vram_gb"),
        ({"prce": "1"}, "prce"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(viewer, team, params, field):
    response = viewer.get(OFFERS, params)
    error = assert_error(response, 400, "validation_error")
    assert list(error["fields"]) == [field]


def test_refresh_now_is_queued_for_developers(team, api_client_for, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("pricing.tasks.async_task", lambda *args, **kw: queued.append(args))
    developer = api_client_for(team["developer"], team["workspace"])
    with django_capture_on_commit_callbacks(execute=True):
        response = developer.post(REFRESH, format="json")
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    assert queued == [("pricing.tasks.refresh_offers_for_workspace", team["workspace"].pk)]


def test_a_second_refresh_within_30_s_is_not_queued_again(team, api_client_for, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("pricing.tasks.async_task", lambda *args, **kw: queued.append(args))
    developer, admin = (api_client_for(team[role], team["workspace"]) for role in ("developer", "admin"))
    with django_capture_on_commit_callbacks(execute=True):
        assert developer.post(REFRESH, format="json").json() == {"status": "queued"}
        again = admin.post(REFRESH, format="json")  # per workspace, whoever asks
    assert again.status_code == 202 and again.json() == {"status": "already_queued"}
    assert len(queued) == 1


def test_refresh_calls_are_throttled_in_the_shared_error_shape(team, api_client_for, monkeypatch):
    monkeypatch.setattr("pricing.tasks.async_task", lambda *args, **kw: None)
    developer = api_client_for(team["developer"], team["workspace"])
    statuses = [developer.post(REFRESH, format="json").status_code for _ in range(10)]
    assert statuses == [202] * 10  # the "refresh" rate: 10/min
    response = developer.post(REFRESH, format="json")
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_schema_documents_both_refresh_answers_and_the_429():
    from drf_spectacular.generators import SchemaGenerator

    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/offers/refresh/"]["post"]
    assert "429" in operation["responses"] and "Retry-After" in operation["responses"]["429"]["headers"]
    assert "already_queued" in str(operation["responses"]["202"]) or "already_queued" in operation["description"]


def test_viewers_cannot_ask_for_a_refresh(viewer, monkeypatch):
    monkeypatch.setattr("pricing.tasks.async_task", lambda *args, **kw: pytest.fail("queued for a viewer"))
    assert_error(viewer.post(REFRESH, format="json"), 403, "permission_denied")


def test_gpu_spec_table_for_any_member(viewer):
    body = viewer.get(GPUS, {"page_size": 200}).json()
    assert body["count"] == len(GPU_SPECS)
    h100 = next(row for row in body["results"] if row["id"] == "h100-sxm")
    assert h100["fp16_tflops"] == GPU_SPECS["h100-sxm"].fp16_tflops and h100["vendor"] == "NVIDIA"
