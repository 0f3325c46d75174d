"""The offer refresh end to end: the real adapters against every remote sandbox cloud over
loopback HTTP, then an outage and a garbage answer, each hitting one provider only.

test_refresh.py covers the refresh's logic with fake adapters; this proves the real wire
protocols, parsers and normalization fill the table the Prices page reads."""

import pytest
from django.urls import reverse
from django.utils import timezone

from computehub import http
from pricing.models import Offer, PricePoint
from pricing.services import refresh_offers
from providers.adapters import adapter_class, all_kinds
from providers.models import ProviderCredential
from providers.services import workspace_connect_defaults

REMOTE = sorted(kind for kind in all_kinds() if kind != "local")


@pytest.fixture
def quick_adapters(monkeypatch):
    """Retries without real backoff and rate limits that never throttle: the refresh under test
    asks the same clouds several times within a second."""
    monkeypatch.setattr(http, "_limiters", {})  # fresh buckets, so the raised rates apply
    for kind in REMOTE:
        cls = adapter_class(kind)
        monkeypatch.setattr(cls, "rate_limit", (1000.0, 1000))
        monkeypatch.setattr(cls, "base_delay", 0.01)
        monkeypatch.setattr(cls, "max_attempts", 2)


@pytest.fixture
def connected(team, sandbox, settings, quick_adapters):
    """The team's workspace with one Sandbox account per remote cloud, connected the way the app
    connects them for a new workspace (encrypted `sbx-` keys, base URLs under the sandbox)."""
    settings.COMPUTEHUB_SANDBOX_URL = sandbox.root_url
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    workspace = team["workspace"]
    credentials = workspace_connect_defaults(workspace=workspace)
    assert sorted(c.provider for c in credentials) == REMOTE
    return workspace


def _credentials(workspace) -> dict[str, ProviderCredential]:
    return {c.provider: c for c in ProviderCredential.objects.filter(workspace=workspace)}


def _offer_ids(workspace, provider) -> set[str]:
    return set(Offer.objects.filter(workspace=workspace, provider=provider).values_list("offer_id", flat=True))


def _refreshed_again(before: dict, after: dict, providers) -> bool:
    return all(after[kind].refreshed_at > before[kind].refreshed_at for kind in providers)


def test_refresh_fills_offers_from_every_remote_cloud(connected):
    report = refresh_offers(workspace=connected)

    assert report.failed == [], report.summary()
    assert sorted(r.provider for r in report.results) == REMOTE and all(r.offers > 0 for r in report.results)
    offers = Offer.objects.filter(workspace=connected)
    assert sorted(set(offers.values_list("provider", flat=True))) == REMOTE
    assert offers.count() == report.offers
    assert not offers.filter(price_per_hour__lte=0).exists() and not offers.filter(price_per_gpu_hour__lte=0).exists()
    # The sandboxes list real GPU names: nearly all must map to a known model, with its ranking columns.
    recognised = offers.exclude(gpu_model="")
    assert recognised.count() >= 0.8 * offers.count()
    assert not recognised.filter(gpu_count__gt=0, price_per_tflop_hour__isnull=True).exists()
    assert not offers.filter(gpu_count__gt=0, vram_gb__gt=0, price_per_vram_gb_hour__isnull=True).exists()
    for offer in offers.filter(gpu_count__gt=0)[:50]:
        assert offer.price_per_gpu_hour == pytest.approx(offer.price_per_hour / offer.gpu_count)
    assert set(PricePoint.objects.filter(workspace=connected).values_list("provider", flat=True)) == set(REMOTE)
    credentials = _credentials(connected).values()
    assert all(c.refreshed_at is not None and c.refresh_error == "" for c in credentials)


def test_an_outage_keeps_that_clouds_offers_and_the_others_refresh(connected, sandbox):
    refresh_offers(workspace=connected)
    before, vast_offers = _credentials(connected), _offer_ids(connected, "vast")
    sandbox.clouds["vast"].faults.outage = True

    report = refresh_offers(workspace=connected)

    after = _credentials(connected)
    assert [r.provider for r in report.failed] == ["vast"]
    assert _offer_ids(connected, "vast") == vast_offers  # the last good list stays, marked stale
    assert after["vast"].refresh_error == "is unreachable or failing"
    assert after["vast"].refresh_failed_at is not None and after["vast"].refreshed_at == before["vast"].refreshed_at
    assert _refreshed_again(before, after, [kind for kind in REMOTE if kind != "vast"])


def test_a_garbage_answer_is_a_short_reason_and_the_page_stays_safe(connected, sandbox, team, client_in):
    refresh_offers(workspace=connected)
    before = _credentials(connected)
    sandbox.clouds["lambda"].faults.garbage = "html"

    report = refresh_offers(workspace=connected)

    after = _credentials(connected)
    assert [r.provider for r in report.failed] == ["lambda"]
    reason = after["lambda"].refresh_error
    assert reason.startswith("answered something") and "<" not in reason  # no markup or body from the answer
    assert _refreshed_again(before, after, [kind for kind in REMOTE if kind != "lambda"])
    html = client_in(team["viewer"], connected).get(reverse("pricing:index")).content.decode()
    assert reason in html and "<html><body>" not in html


def test_the_prices_page_lists_refreshed_sandbox_offers(connected, team, client_in):
    refresh_offers(workspace=connected)
    response = client_in(team["viewer"], connected).get(reverse("pricing:index"), {"sort": "price"})

    assert response.status_code == 200
    shown = list(response.context["page_obj"])
    cheapest = Offer.objects.filter(workspace=connected).order_by("price_per_hour", "id").first()
    assert shown and shown[0].pk == cheapest.pk
    assert timezone.now() >= shown[0].fetched_at
