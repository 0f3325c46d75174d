"""The offer refresh: concurrent fetches, per-provider failure isolation, upserts, history."""

import asyncio
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from computehub import crypto
from pricing import services, tasks
from pricing.gpu_specs import GPU_SPECS
from pricing.models import Offer, PricePoint
from pricing.tests.fakes import CALLS, FAKE_KINDS, KEY, credential, fakes, offer, prices, ws  # noqa: F401  (fixtures)
from providers.adapters import base
from providers.models import ProviderCredential


def test_refresh_stores_normalized_offers_with_ranking_columns(ws, fakes):
    cred = credential(ws, "fakea")
    ProviderCredential.objects.filter(pk=cred.pk).update(refresh_error="rate limited", refresh_failed_at=timezone.now())
    fakes["fakea"].offers = [
        offer("fakea", "h100x8", count=8, price=20.0),
        offer("fakea", "mystery", gpu="Quadro Mystery 9000", count=2, price=3.0, vram=24.0),
        offer("fakea", "cpu", gpu="", count=0, price=0.5, vram=None),
    ]
    report = services.refresh_offers()

    assert [(r.provider, r.offers, r.error) for r in report.results] == [("fakea", 3, "")]
    h100 = Offer.objects.get(offer_id="h100x8")
    assert (h100.gpu_model, h100.workspace_id, h100.vram_gb) == ("h100-sxm", ws.pk, 80.0)
    assert h100.price_per_gpu_hour == pytest.approx(2.5)
    assert h100.price_per_tflop_hour == pytest.approx(20.0 / (8 * GPU_SPECS["h100-sxm"].fp16_tflops))
    assert h100.price_per_vram_gb_hour == pytest.approx(20.0 / (8 * 80))
    mystery = Offer.objects.get(offer_id="mystery")
    assert (mystery.gpu_model, mystery.price_per_tflop_hour) == ("", None)
    assert mystery.price_per_vram_gb_hour == pytest.approx(3.0 / 48)
    cpu = Offer.objects.get(offer_id="cpu")
    assert (cpu.price_per_gpu_hour, cpu.price_per_tflop_hour, cpu.price_per_vram_gb_hour) == (0.5, None, None)
    cred.refresh_from_db()
    assert cred.refreshed_at is not None and cred.refresh_error == "" and cred.refresh_failed_at is None


def test_one_provider_down_keeps_its_offers_and_says_why_while_others_refresh(ws, fakes):
    good, down = credential(ws, "fakea"), credential(ws, "fakeb")
    fakes["fakea"].offers = [offer("fakea", "a1", price=1.0)]
    fakes["fakeb"].offers = [offer("fakeb", "b1", price=5.0)]
    services.refresh_offers()
    fakes["fakea"].offers = [offer("fakea", "a1", price=1.5)]
    fakes["fakeb"].error = base.RateLimited(retry_after=30)

    report = services.refresh_offers()

    assert prices(good) == {"a1": 1.5}
    assert prices(down) == {"b1": 5.0}
    down.refresh_from_db()
    assert down.refresh_error == "rate limited" and down.refresh_failed_at is not None and down.is_stale
    assert [r.error for r in report.results] == ["", "rate limited"]
    assert "FAKEB: rate limited" in report.summary()
    assert fakes["fakeb"].closed == 2  # the adapter is closed on failure too


@pytest.mark.parametrize(
    ("knob", "value", "reason"),
    [
        ("garbage", True, "answered something that is not valid JSON"),
        ("error", base.AuthError(), "rejected the API key"),
        ("error", base.ProviderUnavailable(), "is unreachable or failing"),
        ("error", KeyError("gpu_name"), "answered something we could not read"),
    ],
)
def test_each_kind_of_failure_gets_a_short_readable_reason(ws, fakes, knob, value, reason):
    cred = credential(ws, "fakea")
    setattr(fakes["fakea"], knob, value)
    services.refresh_offers()
    cred.refresh_from_db()
    assert cred.refresh_error == reason and cred.refreshed_at is None


def test_a_hanging_provider_times_out_without_holding_up_the_others(ws, fakes, settings):
    settings.COMPUTEHUB_OFFER_REFRESH_TIMEOUT_S = 0.2
    hung, fine = credential(ws, "fakea"), credential(ws, "fakeb")
    fakes["fakea"].delay = 60  # were it waited out, the test would hang a minute and the call succeed
    fakes["fakeb"].offers = [offer("fakeb", "b1")]
    services.refresh_offers()
    assert CALLS.cancelled == ["fakea"]  # cut off at the timeout, not waited for
    hung.refresh_from_db()
    assert hung.refresh_error == "timed out after 0.2 s"
    assert prices(fine) == {"b1": 2.0}


def test_providers_are_fetched_concurrently(ws, fakes, settings):
    # Each fake waits at a barrier until all three are in flight: fetched one after another, the
    # first would wait there until its timeout. No wall-clock bound, so a loaded CI box cannot flake it.
    settings.COMPUTEHUB_OFFER_REFRESH_TIMEOUT_S = 10
    barrier = asyncio.Barrier(len(FAKE_KINDS))
    for kind in FAKE_KINDS:
        credential(ws, kind)
        fakes[kind].barrier = barrier
        fakes[kind].offers = [offer(kind, "x")]
    report = services.refresh_offers()
    assert [r.error for r in report.results] == ["", "", ""]
    assert report.offers == 3 and CALLS.peak == 3


def test_offers_are_upserted_in_place_and_disappeared_ones_removed(ws, fakes):
    cred = credential(ws, "fakea")
    fakes["fakea"].offers = [offer("fakea", "keep", price=1.0), offer("fakea", "gone"), offer("fakea", "keep", spot=True)]
    services.refresh_offers()
    kept_pk = Offer.objects.get(offer_id="keep", spot=False).pk
    fakes["fakea"].offers = [offer("fakea", "keep", price=0.9), offer("fakea", "new")]
    services.refresh_offers()
    assert sorted(Offer.objects.filter(credential=cred).values_list("offer_id", "spot")) == [("keep", False), ("new", False)]
    assert Offer.objects.get(offer_id="keep").pk == kept_pk
    assert prices(cred)["keep"] == 0.9


def test_duplicate_ids_from_a_provider_keep_the_cheapest(ws, fakes):
    credential(ws, "fakea")
    fakes["fakea"].offers = [offer("fakea", "dup", price=3.0), offer("fakea", "dup", price=2.0), offer("fakea", "dup", price=4.0)]
    services.refresh_offers()
    assert list(Offer.objects.values_list("price_per_hour", flat=True)) == [2.0]


def test_price_history_records_the_cheapest_per_model_provider_and_spot_each_refresh(ws, fakes):
    credential(ws, "fakea")
    stale = credential(ws, "fakeb")
    fakes["fakea"].offers = [
        offer("fakea", "1", count=8, price=16.0), offer("fakea", "2", price=2.5),
        offer("fakea", "3", price=1.2, spot=True), offer("fakea", "4", gpu="Unknown 1", price=0.1),
    ]  # fmt: skip
    fakes["fakeb"].offers = [offer("fakeb", "9", price=1.0)]
    services.refresh_offers()
    fakes["fakeb"].error = base.ProviderUnavailable()
    services.refresh_offers()

    rows = list(PricePoint.objects.filter(workspace=ws).order_by("recorded_at", "provider", "spot")
                .values_list("provider", "gpu_model", "spot", "price_per_gpu_hour"))  # fmt: skip
    first = [("fakea", "h100-sxm", False, 2.0), ("fakea", "h100-sxm", True, 1.2), ("fakeb", "h100-sxm", False, 1.0)]
    assert rows == first + first[:2]  # the stale provider records nothing the second time
    assert PricePoint.objects.filter(provider="fakeb").count() == 1 and stale.offers.count() == 1


def test_an_undecryptable_key_marks_that_credential_only_and_is_logged(ws, fakes, caplog):
    broken, fine = credential(ws, "fakea"), credential(ws, "fakeb")
    ProviderCredential.objects.filter(pk=broken.pk).update(secret=crypto.encrypt(KEY, aad="another-row"))
    fakes["fakeb"].offers = [offer("fakeb", "b1")]
    with caplog.at_level(logging.ERROR, logger="pricing.services"):
        services.refresh_offers()
    broken.refresh_from_db()
    assert broken.refresh_error == "could not decrypt the stored API key"
    assert prices(fine) == {"b1": 2.0}
    assert any("decrypt" in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)


def test_the_key_never_reaches_the_reason_or_the_log(ws, fakes, caplog):
    cred = credential(ws, "fakea")
    fakes["fakea"].error = ValueError(f"body echoed Authorization: Bearer {KEY}")
    with caplog.at_level(logging.DEBUG):
        services.refresh_offers()
    cred.refresh_from_db()
    assert cred.refresh_error == "answered something we could not read"
    assert KEY not in caplog.text and "could not read" in caplog.text


def test_a_workspace_refresh_touches_only_that_workspace(ws, other_team, fakes):
    mine, theirs = credential(ws, "fakea"), credential(other_team["workspace"], "fakea")
    fakes["fakea"].offers = [offer("fakea", "a1")]
    report = services.refresh_offers(workspace=ws)
    assert [r.credential_id for r in report.results] == [mine.pk]
    assert prices(mine) == {"a1": 2.0} and prices(theirs) == {}
    assert Offer.objects.get().workspace_id == ws.pk


def test_refresh_now_task_toasts_after_commit_and_the_schedule_does_not(ws, fakes, monkeypatch, django_capture_on_commit_callbacks):
    toasts = []
    monkeypatch.setattr(services.realtime, "publish_workspace_toast", lambda **kw: toasts.append(kw))
    credential(ws, "fakea")
    credential(ws, "fakeb")
    fakes["fakea"].offers = [offer("fakea", "a1")]
    fakes["fakeb"].error = base.RateLimited()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.refresh_offers() == {"providers": 2, "failed": 1, "offers": 1}
    assert toasts == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.refresh_offers_for_workspace(ws.pk)
        assert toasts == []  # not before the commit
    assert len(callbacks) == 1 and len(toasts) == 1
    assert toasts[0]["workspace_id"] == ws.pk and toasts[0]["level"] == "warning"
    assert "1 of 2 providers" in toasts[0]["message"] and "FAKEB: rate limited" in toasts[0]["message"]


def test_management_command_prints_the_per_provider_report(ws, fakes):
    credential(ws, "fakea", label="prod")
    credential(ws, "fakeb")
    fakes["fakea"].offers = [offer("fakea", "a1"), offer("fakea", "a2")]
    fakes["fakeb"].garbage = True
    from io import StringIO

    out = StringIO()
    call_command("refresh_offers", "--workspace", ws.slug, stdout=out)
    text = out.getvalue()
    assert "FAKEA (prod): 2 offers" in text
    assert "FAKEB (main): stale: answered something that is not valid JSON" in text
    assert "2 providers, 1 stale, 2 offers" in text
