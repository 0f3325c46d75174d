"""The notification channels, budgets and price alerts pages in a real browser: what a person types,
what they are told when it is wrong, and what they see once it is right; then each page at phone
width without sideways scrolling. Screenshots go to var/screenshots/."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from automation.fakes.fixtures import receiver, _webhook_server  # noqa: F401
from automation.models import Budget, NotificationChannel, PriceAlert
from computehub.tests.browser import screenshot
from deployments.tests.factories import CredentialFactory, DeploymentFactory
from pricing.models import Offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]  # live_server: runs with the transactional tests
PHONE = {"width": 375, "height": 812}


def _signed_in(page, base_url, client):
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return page


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def signed_in(browser_page, live_server, team, client_in):
    return _signed_in(browser_page, live_server.url, client_in(team["developer"], team["workspace"]))


def test_add_a_webhook_see_its_secret_once_and_send_a_test(signed_in, live_server, team, receiver):
    page = signed_in
    page.goto(live_server.url + "/automation/channels/")
    webhook = page.locator("#add-webhook")
    webhook.get_by_label("URL", exact=True).fill("ftp://example.com/hook")
    webhook.get_by_role("button", name="Add webhook").click()
    page.locator("#add-webhook .field-error, #add-webhook .errorlist").first.wait_for()
    assert not NotificationChannel.objects.exists()

    webhook = page.locator("#add-webhook")
    webhook.get_by_label("Name", exact=True).fill("Pager hook")
    webhook.get_by_label("URL", exact=True).fill(receiver.url)
    webhook.get_by_role("button", name="Add webhook").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    screenshot(page, "automation-channels-secret")

    row = page.locator("tr", has_text="Pager hook")
    row.get_by_role("button", name="Send test").click()
    row.locator(".test-outcome--ok").wait_for()
    assert receiver.deliveries and receiver.deliveries[-1].verified_by == [secret]  # signed with the shown secret

    assert page.url == live_server.url + "/automation/channels/"  # a reload reads the list, not the form again
    page.reload()
    assert page.locator("#new-secret").count() == 0 and secret not in page.content()
    assert NotificationChannel.objects.count() == 1


def test_add_a_budget_after_a_typo_and_see_it_listed(signed_in, live_server, team):
    page = signed_in
    DeploymentFactory(workspace=team["workspace"], name="llama-server")
    page.goto(live_server.url + "/automation/budgets/")
    form = page.locator("#budget-form")
    form.get_by_label("For").select_option(label="The whole workspace")
    form.get_by_label("Period").select_option(label="Per month (UTC)")
    form.get_by_label("Limit (USD)").fill("fifty")
    form.get_by_role("button", name="Add budget").click()
    page.locator("#budget-form .field-error, #budget-form .errorlist").first.wait_for()
    assert not Budget.objects.exists()
    assert page.locator("#budget-form").get_by_label("Period").input_value() == "month"  # nothing typed is lost

    page.locator("#budget-form").get_by_label("Limit (USD)").fill("50")
    page.locator("#budget-form").get_by_role("button", name="Add budget").click()
    page.locator("#budgets tr", has_text="$50.00").wait_for()
    assert Budget.objects.get().limit_usd == Decimal("50")
    screenshot(page, "automation-budgets")


def test_add_a_price_alert_that_already_holds(signed_in, live_server, team):
    page = signed_in
    credential = CredentialFactory(workspace=team["workspace"], provider="vast")
    Offer.objects.create(workspace=team["workspace"], credential=credential, provider=credential.provider,
                         offer_id="h100-a", gpu_model="h100-sxm", gpu_name="H100 SXM", gpu_count=1, vram_gb=80,
                         price_per_hour=1.89, price_per_gpu_hour=1.89, region="us-east", fetched_at=timezone.now())
    page.goto(live_server.url + "/automation/price-alerts/")
    form = page.locator("#price-alert-form")
    form.get_by_label("GPU", exact=True).select_option(label="H100 SXM")
    form.get_by_label("At or below ($ per GPU-hour)").fill("2.00")
    form.get_by_label("At least this many GPUs").fill("0")
    form.get_by_role("button", name="Add alert").click()
    page.locator("#price-alert-form .field-error").first.wait_for()
    assert not PriceAlert.objects.exists()
    page.locator("#price-alert-form").get_by_label("At least this many GPUs").fill("1")

    assert page.locator("#price-alert-form").get_by_label("At or below ($ per GPU-hour)").input_value() == "2.00"
    page.locator("#price-alert-form").get_by_role("button", name="Add alert").click()
    row = page.locator("#price-alerts tr", has_text="H100")
    row.wait_for()
    assert "$1.89" in row.inner_text()  # the cheapest offer now, beside the alert
    screenshot(page, "automation-price-alerts")


@pytest.mark.parametrize("path", ["/automation/channels/", "/automation/budgets/", "/automation/price-alerts/",
                                  "/automation/jobs/"])
def test_automation_pages_fit_a_phone(signed_in, live_server, path):
    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + path)
    assert _no_sideways_scroll(page), f"{path} scrolls sideways at 375 px"
