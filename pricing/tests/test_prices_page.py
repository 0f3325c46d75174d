"""The Prices page: full page and HTMX fragment from one view, filters, sorts, field errors,
pagination, provider status, compare, deploy placeholder and "Refresh now" permissions.

Rows are created directly (no adapters), with `make_credential` / `make_offer` shared by the
other pricing page tests."""

from datetime import timedelta
from itertools import count
from unittest import mock

import pytest
from django.utils import timezone

from pricing.models import Offer
from providers.models import ProviderCredential

_ids = count(1)
HTMX = {"HTTP_HX_REQUEST": "true"}


def make_credential(workspace, provider="runpod", label="Main", **fields) -> ProviderCredential:
    fields.setdefault("refreshed_at", timezone.now() - timedelta(minutes=2))
    return ProviderCredential.objects.create(workspace=workspace, provider=provider, label=label, **fields)


def make_offer(credential, gpu_model="rtx-4090", price_per_gpu_hour=0.5, gpu_count=1, **fields) -> Offer:
    """An offer whose ranking columns are consistent with its price, as the refresh computes them."""
    vram = fields.pop("vram_gb", 24.0)
    values = {
        "gpu_name": gpu_model.upper() or "Mystery GPU",
        "region": "us-east",
        "price_per_hour": price_per_gpu_hour * gpu_count,
        "price_per_tflop_hour": price_per_gpu_hour / 100,
        "price_per_vram_gb_hour": price_per_gpu_hour / vram,
        "fetched_at": timezone.now(),
        **fields,
    }
    return Offer.objects.create(
        workspace=credential.workspace, credential=credential, provider=credential.provider,
        offer_id=f"offer-{next(_ids)}", gpu_model=gpu_model, gpu_count=gpu_count, vram_gb=vram,
        price_per_gpu_hour=price_per_gpu_hour, **values,
    )  # fmt: skip


@pytest.fixture
def market(team):
    """Three offers on two providers (one a sandbox account) in `team`'s workspace."""
    workspace = team["workspace"]
    runpod = make_credential(workspace, "runpod")
    vast = make_credential(workspace, "vast", "Sandbox", is_sandbox=True)
    return {
        "h100": make_offer(runpod, "h100-sxm", 2.5, gpu_count=8, vram_gb=80, region="eu-west"),
        "a4090": make_offer(runpod, "rtx-4090", 0.45, region="us-east"),
        "b4090": make_offer(vast, "rtx-4090", 0.35, spot=True, min_bid_per_hour=0.2, region="us-west", available=7),
    }


def _page(client, query=""):
    return client.get("/prices/" + query)


def test_page_renders_offers_status_best_value_and_compare_controls(team, market, client_in):
    response = _page(client_in(team["viewer"], team["workspace"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-compare aria-label="Compare') == 3
    assert "NVIDIA H100 SXM" in html or "H100 SXM" in html
    assert 'title="RTX-4090"' in html  # the provider's raw name on hover
    assert "Sandbox</span>" in html and "bid ≥ $0.20" in html
    assert "updated 2\xa0minutes ago" in html
    assert "Best value for this search" in html
    assert f'href="/prices/offers/{market["h100"].pk}/deploy/"' in html
    assert "Refresh now" not in html  # a Viewer sees no button


def test_no_provider_connected_links_to_providers(team, client_in):
    html = _page(client_in(team["admin"], team["workspace"])).content.decode()
    assert "No providers connected yet" in html and 'href="/providers/"' in html
    assert 'id="offer-filters"' not in html


def test_stale_provider_shows_since_when_and_why(team, client_in):
    failed = timezone.now().replace(hour=12, minute=3)
    make_credential(team["workspace"], "lambda", refresh_error="401 Unauthorized: key revoked", refresh_failed_at=failed)
    html = _page(client_in(team["admin"], team["workspace"])).content.decode()
    local = timezone.localtime(failed).strftime("%H:%M")
    assert f"stale since {local} — 401 Unauthorized: key revoked" in html


def _offer_ids(response) -> list[int]:
    return [offer.pk for offer in response.context["page_obj"]]


def test_filters_and_sort_by_plain_get(team, market, client_in):
    client = client_in(team["viewer"], team["workspace"])
    assert _offer_ids(_page(client, "?gpu=rtx-4090")) == [market["b4090"].pk, market["a4090"].pk]
    assert _offer_ids(_page(client, "?gpu=rtx-4090&spot=false")) == [market["a4090"].pk]
    assert _offer_ids(_page(client, "?provider=vast")) == [market["b4090"].pk]
    assert _offer_ids(_page(client, "?min_gpus=2")) == [market["h100"].pk]
    assert _offer_ids(_page(client, "?region=west")) == [market["h100"].pk, market["b4090"].pk][::-1]
    assert _offer_ids(_page(client, "?sort=price"))[-1] == market["h100"].pk
    assert _offer_ids(_page(client, "?sort=availability"))[0] == market["b4090"].pk


def test_shared_url_renders_the_same_state_in_the_form(team, market, client_in):
    html = _page(client_in(team["viewer"], team["workspace"]), "?gpu=rtx-4090&max_price=1.5&sort=price&spot=true").content.decode()
    assert 'value="rtx-4090" checked' in html
    assert 'name="max_price" min="0" step="0.01" inputmode="decimal" value="1.5"' in html
    assert '<option value="price" selected>' in html and '<option value="true" selected>' in html


def test_htmx_request_answers_only_the_results_with_a_tidy_pushed_url(team, market, client_in):
    client = client_in(team["viewer"], team["workspace"])
    response = client.get("/prices/?gpu=rtx-4090&min_gpus=&region=&sort=price", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="offer-filters"' not in html
    assert 'data-results-key="gpu=rtx-4090&amp;sort=price|1"' in html
    assert response["HX-Push-Url"] == "/prices/?gpu=rtx-4090&sort=price"
    assert 'id="error-min_gpus" hx-swap-oob="true"></p>' in html  # old errors are cleared


@pytest.mark.parametrize(
    "query,field",
    [("?min_gpus=-1", "min_gpus"), ("?max_price=cheap", "max_price"), ("?gpu=rtx-9999", "gpu"), ("?sort=vibes", "sort")],
)
def test_bad_input_shows_the_field_error_and_results_for_the_rest(team, market, client_in, query, field):
    client = client_in(team["viewer"], team["workspace"])
    page = _page(client, query + "&provider=vast")
    assert page.status_code == 422
    assert page.context["search"].errors[field]
    assert _offer_ids(page) == [market["b4090"].pk]  # the valid provider filter still applies
    fragment = client.get("/prices/" + query, **HTMX).content.decode()
    assert f'<p class="field-error" id="error-{field}" hx-swap-oob="true">' in fragment
    assert f'id="error-{field}" hx-swap-oob="true"></p>' not in fragment


def test_unknown_parameters_are_ignored_by_the_page(team, market, client_in):
    response = _page(client_in(team["viewer"], team["workspace"]), "?utm_source=mail&gpu=h100-sxm")
    assert response.status_code == 200 and _offer_ids(response) == [market["h100"].pk]


def test_pagination_keeps_the_query(team, client_in):
    credential = make_credential(team["workspace"])
    for cents in range(30):
        make_offer(credential, "rtx-4090", 0.30 + cents / 100)
    client = client_in(team["viewer"], team["workspace"])
    first, second = _page(client, "?gpu=rtx-4090"), _page(client, "?gpu=rtx-4090&page=2")
    assert len(_offer_ids(first)) == 25 and len(_offer_ids(second)) == 5
    assert not set(_offer_ids(first)) & set(_offer_ids(second))
    assert 'href="/prices/?gpu=rtx-4090&amp;page=2"' in first.content.decode()
    assert _page(client, "?page=0").status_code == 422


def test_no_match_and_nobody_offers_the_model(team, market, client_in):
    html = _page(client_in(team["viewer"], team["workspace"]), "?gpu=b200").content.decode()
    assert "No offers match these filters" in html
    assert "Nobody offers the <strong>NVIDIA B200</strong>" in html or "Nobody offers the <strong>B200" in html


def test_other_workspace_offers_never_show(team, other_team, market, client_in):
    theirs = make_offer(make_credential(other_team["workspace"]), "a100-80gb", 0.01)
    response = _page(client_in(team["viewer"], team["workspace"]))
    assert theirs.pk not in _offer_ids(response)


# --- Compare ------------------------------------------------------------------------------


def test_compare_shows_offers_side_by_side_with_specs(team, market, client_in):
    client = client_in(team["viewer"], team["workspace"])
    ids = f"{market['h100'].pk},{market['b4090'].pk}"
    response = client.get(f"/prices/compare/?ids={ids}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Hopper" in html and "Ada Lovelace" in html
    assert "3350 GB/s" in html  # H100 SXM bandwidth from GPU_SPECS
    assert client.get(f"/prices/compare/?ids={ids}").content.decode().count("<html") == 1


@pytest.mark.parametrize("ids", ["", "1,2,3,4,5", "1,x", "-1"])
def test_compare_refuses_bad_ids(team, market, client_in, ids):
    assert client_in(team["viewer"], team["workspace"]).get(f"/prices/compare/?ids={ids}").status_code == 400


def test_compare_with_another_workspaces_offer_is_404(team, other_team, market, client_in):
    theirs = make_offer(make_credential(other_team["workspace"]))
    response = client_in(team["viewer"], team["workspace"]).get(f"/prices/compare/?ids={market['h100'].pk},{theirs.pk}")
    assert response.status_code == 404


def test_deploy_opens_the_launch_form_and_hides_other_workspaces(team, other_team, market, client_in):
    client = client_in(team["developer"], team["workspace"])
    response = client.get(f"/prices/offers/{market['b4090'].pk}/deploy/", follow=True)
    assert response.redirect_chain[0][0] == f"/deployments/new/?offer={market['b4090'].pk}"
    assert "$0.35/hour" in response.content.decode()
    theirs = make_offer(make_credential(other_team["workspace"]))
    assert client.get(f"/prices/offers/{theirs.pk}/deploy/").status_code == 404


# --- Refresh now --------------------------------------------------------------------------


def test_viewer_cannot_refresh(team, client_in):
    with mock.patch("pricing.tasks.async_task") as enqueue:
        response = client_in(team["viewer"], team["workspace"]).post("/prices/refresh/")
    assert response.status_code == 403 and not enqueue.called


def test_developer_refresh_enqueues_the_workspace_refresh(team, market, client_in, django_capture_on_commit_callbacks):
    client = client_in(team["developer"], team["workspace"])
    assert "Refresh now" in _page(client).content.decode()
    with mock.patch("pricing.tasks.async_task") as enqueue, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/prices/refresh/", **HTMX)
    enqueue.assert_called_once_with("pricing.tasks.refresh_offers_for_workspace", team["workspace"].pk,
                                    task_name="refresh-offers")
    assert response.status_code == 200 and "Refreshing prices" in response.content.decode()


def test_a_second_click_within_30_s_says_a_refresh_is_under_way_and_queues_nothing(
        team, market, client_in, django_capture_on_commit_callbacks):
    client = client_in(team["developer"], team["workspace"])
    with mock.patch("pricing.tasks.async_task") as enqueue, django_capture_on_commit_callbacks(execute=True):
        client.post("/prices/refresh/", **HTMX)
        again = client.post("/prices/refresh/", **HTMX)
        assert client.post("/prices/refresh/").status_code == 302
    assert enqueue.call_count == 1
    assert "A refresh is already under way" in again.content.decode()


def test_a_cpu_only_offer_shows_a_dash_not_a_bare_dollar_for_vram_price(team, client_in):
    # No GPU, so no VRAM: the refresh stores null $/GB-VRAM-h and $/TFLOP-h (ranking_columns).
    make_offer(make_credential(team["workspace"]), "", 0.5, gpu_count=0, price_per_vram_gb_hour=None,
               price_per_tflop_hour=None)
    html = client_in(team["viewer"], team["workspace"]).get("/prices/").content.decode()
    row = html[html.index('<tr id="offer-'):]
    row = row[: row.index("</tr>")]
    assert '<td class="num">$</td>' not in row
    assert row.count('<span class="muted">–</span>') >= 2  # $/TFLOP-h and $/GB-VRAM-h
