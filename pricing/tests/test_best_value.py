"""`best_value`: the cheapest offer per GPU model and the best $/TFLOP-hour offer for a search,
each priced against the exact median $/GPU-hour of the matching offers; and its API."""

import pytest

from computehub.tests.api_helpers import assert_error
from pricing.filters import OfferFilters
from pricing.selectors import best_value
from pricing.tests.test_prices_page import make_credential, make_offer


@pytest.fixture
def offers(team):
    credential = make_credential(team["workspace"])
    return {
        "a": make_offer(credential, "rtx-4090", 0.40),
        "b": make_offer(credential, "rtx-4090", 0.60),
        "c": make_offer(credential, "a100-80gb", 1.20, price_per_tflop_hour=0.004),
        "d": make_offer(credential, "h100-sxm", 2.00, price_per_tflop_hour=0.003),
        "e": make_offer(credential, "", 0.10, price_per_tflop_hour=None),  # unrecognised GPU
    }


def test_cheapest_per_model_and_savings_against_an_odd_median(team, offers):
    result = best_value(workspace=team["workspace"], filters=OfferFilters())
    assert result.matching == 5 and result.median_gpu_hour == pytest.approx(0.60)
    picks = [(p.offer.pk, round(p.saving_per_gpu_hour, 2), round(p.saving_percent)) for p in result.cheapest_per_model]
    assert picks == [(offers["a"].pk, 0.20, 33), (offers["c"].pk, -0.60, -100), (offers["d"].pk, -1.40, -233)]
    assert result.best_tflop.offer.pk == offers["d"].pk


def test_even_count_median_averages_the_middle_two(team, offers):
    result = best_value(workspace=team["workspace"], filters=OfferFilters(gpu=("rtx-4090", "a100-80gb", "h100-sxm")))
    assert result.median_gpu_hour == pytest.approx((0.60 + 1.20) / 2)
    assert result.cheapest_per_model[0].saving_percent == pytest.approx(100 * (0.9 - 0.4) / 0.9)


def test_filters_apply_and_no_match_is_empty(team, offers):
    only_4090 = best_value(workspace=team["workspace"], filters=OfferFilters(gpu=("rtx-4090",)))
    assert [p.offer.pk for p in only_4090.cheapest_per_model] == [offers["a"].pk]
    assert only_4090.median_gpu_hour == pytest.approx(0.5)
    none = best_value(workspace=team["workspace"], filters=OfferFilters(max_price=0.01))
    assert (none.matching, none.median_gpu_hour, none.cheapest_per_model, none.best_tflop) == (0, None, [], None)


def test_other_workspaces_offers_do_not_move_the_median(team, other_team, offers):
    theirs = make_credential(other_team["workspace"])
    for _ in range(5):
        make_offer(theirs, "rtx-4090", 0.01)
    assert best_value(workspace=team["workspace"], filters=OfferFilters()).median_gpu_hour == pytest.approx(0.60)


def test_best_value_api(team, offers, api_client_for):
    client = api_client_for(team["viewer"], team["workspace"])
    body = client.get("/api/v1/offers/best-value/?gpu=rtx-4090").json()
    assert body["matching"] == 2 and body["median_gpu_hour"] == pytest.approx(0.5)
    assert body["cheapest_per_model"][0]["offer"]["id"] == offers["a"].pk
    assert body["cheapest_per_model"][0]["saving_percent"] == pytest.approx(20)
    error = assert_error(client.get("/api/v1/offers/best-value/?min_gpus=0"), 400, "validation_error")
    assert list(error["fields"]) == ["min_gpus"]
