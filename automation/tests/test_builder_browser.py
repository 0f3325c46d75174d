"""The rule builder in a real browser: pick a trigger, add two conditions, reorder them, remove
one, add an action, watch the plain-language preview follow, "Test against the last 7 days" over
recorded history, save, and find the rule on the Automation page; then the same page at 375 px.
Screenshots go to var/screenshots/."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from automation.models import AutomationEvent, Rule
from computehub.tests.browser import screenshot
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def history(team):
    """Two recorded outages of a RunPod deployment and one of a Vast one within the last week."""
    ws, now = team["workspace"], timezone.now()
    llama = DeploymentFactory(workspace=ws, name="llama", provider="runpod")
    comfy = DeploymentFactory(workspace=ws, name="comfy", credential__provider="vast")
    for key, (deployment, days) in enumerate([(llama, 3), (llama, 1), (comfy, 2)]):
        row = AutomationEvent.objects.create(workspace=ws, deployment=deployment, type="down", dedup_key=f"seed:{key}",
                                             summary=f"{deployment.name} went down")
        AutomationEvent.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=days))
    return ws


def _sign_in(page, base_url, client):
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def _preview(page, text):
    page.locator("[data-preview-text]", has_text=text).wait_for()


def test_build_test_against_history_and_save_a_rule(browser_page, live_server, team, history, client_in):
    page = browser_page
    _sign_in(page, live_server.url, client_in(team["developer"], team["workspace"]))
    page.goto(live_server.url + "/automation/rules/new/")
    page.locator("form[data-ready=true]").wait_for(state="attached")
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Name").fill("Restart RunPod boxes")

    page.get_by_label("Trigger").select_option("idle")
    assert page.locator('[data-trigger-params="idle"]').is_visible()
    _preview(page, "GPU utilisation below 5% for 30 minutes")
    page.get_by_label("Trigger").select_option("down")
    assert not page.locator('[data-trigger-params="idle"]').is_visible()
    _preview(page, "When any deployment goes down")

    rows = page.locator("[data-conditions] [data-cond]")
    page.get_by_role("button", name="+ Add condition").click()
    rows.nth(0).locator("[data-field]").select_option("deployment.provider")
    rows.nth(0).locator("[data-op]").select_option("eq")
    rows.nth(0).locator("[data-value]").fill("runpod")
    page.get_by_role("button", name="+ Add condition").click()
    rows.nth(1).locator("[data-field]").select_option("deployment.gpu_count")
    assert rows.nth(1).locator("[data-value]").get_attribute("type") == "number"  # fits the field
    assert rows.nth(1).locator("[data-op] option[value=contains]").count() == 0  # no text operators for numbers
    rows.nth(1).locator("[data-op]").select_option("gte")
    rows.nth(1).locator("[data-value]").fill("1")
    _preview(page, "if (provider is runpod and GPU count is at least 1)")

    rows.nth(1).get_by_role("button", name="Move condition up").click()
    assert [rows.nth(i).locator("[data-field]").input_value() for i in range(2)] == [
        "deployment.gpu_count", "deployment.provider"]
    _preview(page, "if (GPU count is at least 1 and provider is runpod)")
    rows.nth(0).get_by_role("button", name="Remove condition").click()
    assert rows.count() == 1
    _preview(page, "if provider is runpod, then restart it.")

    page.get_by_role("button", name="+ Add action").click()
    page.locator("[data-actions] [data-action-row]").nth(1).locator("[data-action-type]").select_option("notify")
    _preview(page, "then restart it and notify every channel.")
    screenshot(page, "automation-builder")

    page.get_by_role("button", name="Test against the last 7 days").click()
    page.locator("[data-replay-summary]", has_text="Would have fired 2 times").wait_for()
    fired = page.locator("tr[data-outcome=fires]")
    assert fired.count() == 2 and all("llama" in fired.nth(i).inner_text() for i in range(2))
    assert "Restart it and notify every channel" in fired.first.inner_text()
    assert page.locator("tr[data-outcome=not_matched]", has_text="comfy").count() == 1
    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload
    screenshot(page, "automation-builder-replay")

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "automation-builder-phone")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(live_server.url + "/automation/")
    item = page.locator(".rule-item", has_text="Restart RunPod boxes")
    item.wait_for()
    assert ("When any deployment goes down (or is still down after a restart), if provider is runpod, then restart it "
            "and notify every channel.") in item.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "automation-index-phone")
    saved = Rule.objects.get(name="Restart RunPod boxes")
    assert saved.conditions == {"all": [{"field": "deployment.provider", "op": "eq", "value": "runpod"}]}
    assert saved.actions == [{"type": "restart"}, {"type": "notify", "channels": [], "message": ""}]
