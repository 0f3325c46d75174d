"""The Prices page in a real browser: filters update results without a reload (URL pushed),
sorting, the compare drawer, and a phone-width layout. Screenshots go to var/screenshots/."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from pricing.models import PricePoint
from pricing.tests.test_prices_page import make_credential, make_offer
from computehub.tests.browser import screenshot

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def market(team):
    ws = team["workspace"]
    runpod, vast = make_credential(ws, "runpod"), make_credential(ws, "vast", "Sandbox", is_sandbox=True)
    make_offer(runpod, "h100-sxm", 2.49, gpu_count=8, vram_gb=80, region="eu-west", vcpus=128, ram_gb=1024, disk_gb=2000)
    make_offer(runpod, "rtx-4090", 0.44, region="us-east", vcpus=16, ram_gb=64, disk_gb=200, reliability=0.99)
    make_offer(vast, "rtx-4090", 0.31, spot=True, min_bid_per_hour=0.22, region="us-west", available=12, reliability=0.97)
    make_offer(vast, "a100-80gb", 1.19, gpu_count=2, vram_gb=80, region="us-central", available=3)
    for hours in range(0, 72, 6):
        for provider, spot, base in (("runpod", False, 2.5), ("vast", False, 2.3), ("vast", True, 1.6)):
            PricePoint.objects.create(workspace=ws, gpu_model="h100-sxm", provider=provider, spot=spot,
                                      price_per_gpu_hour=base + (hours % 18) / 100, recorded_at=timezone.now() - timedelta(hours=hours))
    return ws


def _sign_in(page, base_url, client):
    """Reuse a test client's session (signed in, workspace chosen) instead of the login form."""
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def test_filter_sort_and_compare_without_reload(browser_page, live_server, team, market, client_in):
    page = browser_page
    _sign_in(page, live_server.url, client_in(team["developer"], team["workspace"]))
    page.goto(live_server.url + "/prices/")
    page.evaluate("window.__sameDocument = true")
    assert page.locator("[data-offer-count]").inner_text() == "4"
    screenshot(page, "prices-desktop")

    page.get_by_label("Pricing").select_option("false")  # on-demand only
    page.wait_for_url("**/prices/?spot=false*")
    page.locator("[data-offer-count]", has_text="3").wait_for()
    page.get_by_label("Sort by").select_option("price")
    page.wait_for_url("**sort=price*")
    page.locator(".offers-table th.is-sorted", has_text="$/hour").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # no full page load happened
    first_gpu = page.locator(".offers-table tbody tr").first.locator(".gpu-name").inner_text()
    assert "4090" in first_gpu

    page.get_by_label("Min GPUs").fill("0")  # refused: shown beside the field, results stay
    page.locator("#error-min_gpus", has_text="greater than or equal to 1").wait_for()
    assert page.locator(".offers-table tbody tr").count() == 3
    page.get_by_label("Min GPUs").fill("")
    page.locator("#error-min_gpus:empty").wait_for(state="attached")

    boxes = page.locator("[data-compare]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Compare", exact=True).click()
    drawer = page.locator("[data-compare-table]")
    drawer.wait_for()
    assert drawer.locator("thead th").count() == 3  # property column + two offers
    screenshot(page, "prices-compare")
    page.get_by_role("button", name="Close comparison").click()
    assert page.evaluate("window.__sameDocument") is True


def test_compare_refuses_a_fifth_and_phone_layout(browser_page, live_server, team, market, client_in):
    page = browser_page
    make_offer(make_credential(team["workspace"], "lambda"), "rtx-a6000", 0.8)
    _sign_in(page, live_server.url, client_in(team["developer"], team["workspace"]))
    page.goto(live_server.url + "/prices/")
    boxes = page.locator("[data-compare]")
    for index in range(5):
        boxes.nth(index).click()
    page.get_by_text("You can compare up to 4 offers").wait_for()
    assert not boxes.nth(4).is_checked()
    assert page.locator("polyline[data-series]").count() == 3  # runpod, vast, vast spot
    assert page.locator("polyline[stroke-dasharray='6 4']").count() == 1
    screenshot(page, "prices-history")

    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/prices/?gpu=rtx-4090")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.get_by_label("Sort by").is_visible()
    page.get_by_role("button", name="Show filters").click()
    assert page.get_by_label("Sort by").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "prices-phone")
