"""The whole deploy path in a real browser on the Local provider: pick a template, choose "This
machine", deploy, watch it become Live and a log line arrive over the socket, stop it, delete it.

Real daphne and qcluster (live_stack) serve the pages and run the reconcile tasks the clicks
enqueue; the test thread plays the autopilot (sweep + collectors) between page actions, since
live_stack starts no autopilot process."""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connections, transaction
from django.utils import timezone

from computehub.tests.browser import screenshot
from computehub.tests.live_stack import session_cookie
from deployments import collectors, tasks
from deployments.models import Deployment
from deployments.tests.factories import TemplateFactory
from pricing.models import Offer
from providers.models import ProviderCredential, ProviderKind
from providers.services import workspace_connect_defaults

pytestmark = [pytest.mark.browser, pytest.mark.processes]

TICKER = "import time\nfor i in range(100000):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.3)"


@pytest.fixture
def local_on(monkeypatch, settings):
    """The Local provider on, here and in the processes live_stack starts (they read the env)."""
    monkeypatch.setenv("COMPUTEHUB_LOCAL_PROVIDER", "1")
    monkeypatch.setenv("COMPUTEHUB_SANDBOX_URL", "")
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    settings.COMPUTEHUB_SANDBOX_URL = ""


def _page(chromium_browser, stack, user, workspace):
    name, _, value = session_cookie(user, workspace=workspace).partition("=")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": name, "value": value, "url": stack.http_url}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm's confirm()
    return page


def _machine(workspace) -> Offer:
    """This machine's offer. The running worker may be refreshing the workspace's offers (rows
    on the same credential) at this moment; PostgreSQL then picks one side of the deadlock to
    retry, and here that is the test's insert."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _machine_offer(workspace)
        except OperationalError:
            if attempt == 2:
                raise
            time.sleep(0.5)


def _machine_offer(workspace) -> Offer:
    workspace_connect_defaults(workspace=workspace)  # no-op when the workspace was made with it
    credential = ProviderCredential.objects.get(workspace=workspace, provider=ProviderKind.LOCAL)
    return Offer.objects.create(workspace=workspace, credential=credential, provider="local", offer_id="local",
                                region="this-machine", gpu_name="CPU only", gpu_count=0, vram_gb=0, price_per_hour=0,
                                price_per_gpu_hour=0, fetched_at=timezone.now())


def _autopilot_round() -> None:
    """One sweep and collection, in its own thread: Playwright's loop runs in this one, and the
    reconciler's async_to_sync refuses to run beside it."""
    try:
        for pk in Deployment.objects.values_list("pk", flat=True):
            tasks.reconcile(str(pk))
            deployment = Deployment.objects.get(pk=pk)
            # What the autopilot's collector threads do, once: the Local tail, then the
            # runner's step (metrics; a provider error is logged there, as in the runner).
            collectors.collect_logs(deployment)
            collectors._remote_step(deployment, collectors._Due())
    finally:
        connections.close_all()


def _drive_until(page, locator, timeout=40.0):
    """Play the autopilot until `locator` shows on the page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(_autopilot_round).result()
        try:
            locator.first.wait_for(state="visible", timeout=700)
            return
        except Exception:  # Playwright's TimeoutError: drive another round
            continue
    observed = list(Deployment.objects.values_list("name", "desired_state", "status"))
    head = page.locator("#deployment-head, table").first.inner_html()[:600]
    raise AssertionError(f"{locator} never showed; deployments {observed}; page: {head}")


def test_deploy_a_template_on_this_machine_watch_it_live_stop_and_delete(local_on, chromium_browser, live_stack, team):
    workspace = team["workspace"]
    _machine(workspace)
    TemplateFactory(workspace=workspace, name="Ticker", description="Prints a line every 0.3 s.",
                    local_command=[sys.executable, "-u", "-c", TICKER], ports=[8000], min_vram_gb=0)
    page = _page(chromium_browser, live_stack, team["developer"], workspace)

    page.goto(f"{live_stack.http_url}/deployments/templates/")
    page.locator("body[data-live=on]").wait_for(state="attached")
    screenshot(page, "deployments-gallery")
    page.locator(".template-card", has_text="Ticker").get_by_role("link", name="Deploy").click()
    page.locator("tr", has_text="This machine").get_by_role("link", name="Choose").click()
    page.get_by_label("Name").fill("ticker-demo")
    screenshot(page, "deployments-launch")
    page.get_by_role("button", name="Deploy for $0.00/hour").click()

    page.wait_for_url("**/deployments/*/")
    _drive_until(page, page.locator("#deployment-head .chip--live"))
    _drive_until(page, page.locator(".log-line", has_text="tick 2"))
    screenshot(page, "deployments-detail-live")

    page.locator("#deployment-head").get_by_role("button", name="Stop").click()
    _drive_until(page, page.locator("#deployment-head .chip", has_text="Stopped"))
    screenshot(page, "deployments-detail-stopped")

    page.goto(f"{live_stack.http_url}/deployments/")
    row = page.locator("tr", has_text="ticker-demo")
    row.get_by_role("button", name="Delete").click()
    _drive_until(page, row.locator(".chip", has_text="Deleted"))
    screenshot(page, "deployments-list-deleted")
    deployment = Deployment.objects.get(name="ticker-demo")
    assert deployment.status == "terminated" and deployment.events.filter(actor=team["developer"]).count() >= 2
