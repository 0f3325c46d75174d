"""The refresh under concurrent change: accounts removed mid-fetch, a slow fetch written after a
newer one, two accounts of one provider with one failing, and the bound on concurrent calls."""

import pytest
from asgiref.sync import sync_to_async

from pricing import services
from pricing.models import PricePoint
from pricing.tests.fakes import CALLS, KEY, credential, fakes, offer, prices, ws  # noqa: F401  (fixtures)
from providers.adapters import base
from providers.models import ProviderCredential


@pytest.mark.django_db(transaction=True)  # the foreign key is checked at commit, so commit for real
@pytest.mark.parametrize("remove", ["credential", "workspace"])
def test_an_account_removed_mid_fetch_is_skipped_and_later_accounts_still_written(team, other_team, fakes, remove):
    gone = credential(other_team["workspace"], "fakea")  # "fakea" sorts first: written before the others
    kept = credential(team["workspace"], "fakeb")
    doomed = gone if remove == "credential" else other_team["workspace"]
    fakes["fakea"].during = sync_to_async(doomed.delete)  # removed while its offers are being fetched
    fakes["fakea"].offers = [offer("fakea", "a1")]
    fakes["fakeb"].offers = [offer("fakeb", "b1", price=3.0)]

    report = services.refresh_offers()

    assert prices(kept) == {"b1": 3.0}
    assert PricePoint.objects.filter(workspace=team["workspace"], provider="fakeb").count() == 1
    assert not ProviderCredential.objects.filter(pk=gone.pk).exists()
    assert [(r.provider, r.ok) for r in report.results] == [("fakea", False), ("fakeb", True)]


def test_a_write_the_database_refuses_stales_that_account_only(ws, fakes):
    refused, fine = credential(ws, "fakea"), credential(ws, "fakeb")
    fakes["fakea"].offers = [offer("fakea", "a1", available=-1)]  # a PositiveIntegerField: CHECK fails
    fakes["fakeb"].offers = [offer("fakeb", "b1")]

    report = services.refresh_offers()

    assert prices(refused) == {} and prices(fine) == {"b1": 2.0}
    refused.refresh_from_db()
    assert refused.refresh_error == "could not be saved" and refused.refreshed_at is None
    assert [r.error for r in report.results] == ["could not be saved", ""]


def test_an_older_fetch_written_after_a_newer_one_is_dropped(ws, fakes):
    cred = credential(ws, "fakea")
    fakes["fakea"].offers = [offer("fakea", "old", price=9.0)]

    async def newer_refresh_meanwhile():
        # The slow fetch has its (old) answer; a second refresh starts, fetches and writes first.
        fakes["fakea"].offers = [offer("fakea", "new", price=1.0)]
        await sync_to_async(services.refresh_offers)()

    fakes["fakea"].during = newer_refresh_meanwhile
    services.refresh_offers()

    assert prices(cred) == {"new": 1.0}
    newer_at = ProviderCredential.objects.get(pk=cred.pk).refreshed_at
    assert set(cred.offers.values_list("fetched_at", flat=True)) == {newer_at}


def test_an_older_failed_fetch_does_not_mark_a_newer_success_stale(ws, fakes):
    cred = credential(ws, "fakea")
    fakes["fakea"].error = base.ProviderUnavailable()

    async def newer_refresh_meanwhile():
        fakes["fakea"].error = None
        fakes["fakea"].offers = [offer("fakea", "new")]
        await sync_to_async(services.refresh_offers)()
        fakes["fakea"].error = base.ProviderUnavailable()  # the slow, older call still fails

    fakes["fakea"].during = newer_refresh_meanwhile
    services.refresh_offers()

    cred.refresh_from_db()
    assert cred.refresh_error == "" and prices(cred) == {"new": 2.0}


def test_price_history_ignores_a_failed_account_of_a_provider_that_also_succeeded(ws, fakes):
    one, two = credential(ws, "fakea", label="one"), credential(ws, "fakea", key=KEY + "-two", label="two")
    fakes["fakea"].by_key = {KEY: [offer("fakea", "1", price=2.0)], KEY + "-two": [offer("fakea", "2", price=1.0)]}
    services.refresh_offers()
    fakes["fakea"].errors_by_key = {KEY + "-two": base.ProviderUnavailable()}

    services.refresh_offers()

    history = list(PricePoint.objects.order_by("recorded_at").values_list("price_per_gpu_hour", flat=True))
    assert history == [1.0, 2.0]  # the second point is account "one" alone: "two"'s $1.00 is old
    assert prices(two) == {"2": 1.0} and prices(one) == {"1": 2.0}


def test_concurrent_provider_calls_are_bounded_by_the_setting(ws, fakes, settings):
    settings.COMPUTEHUB_REFRESH_CONCURRENCY = 2
    for n in range(5):
        credential(ws, "fakea", key=f"{KEY}-{n}", label=f"account {n}")
    fakes["fakea"].delay = 0.05
    fakes["fakea"].offers = [offer("fakea", "x")]

    report = services.refresh_offers()

    assert CALLS.peak == 2  # never more than the bound, and the bound is used
    assert report.offers == 5 and not report.failed
