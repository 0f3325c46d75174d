"""End to end in a real browser: sign up, confirm, dashboard; team HTMX interactions; phone width.

Screenshots land in var/screenshots/ for a person to judge the design.
"""

import re

import pytest
from django.core import mail

from accounts.models import Membership, Role, Workspace
from accounts.tests.factories import UserFactory
from computehub.tests.browser import screenshot

# Playwright's sync API runs an event loop in this thread; `chromium_browser` sets DJANGO_ALLOW_ASYNC_UNSAFE
# for each test so the ORM calls below are allowed (not at import: it would leak to other tests).
pytestmark = pytest.mark.browser

PASSWORD = "gpu-rental-Pass1"
PHONE = {"width": 375, "height": 812}
PAGES = ["/", "/prices/", "/deployments/", "/automation/", "/providers/", "/team/", "/billing/", "/tokens/", "/workspaces/new/"]


def _sign_up(page, base_url, email):
    page.goto(base_url + "/")
    assert "/accounts/login/" in page.url
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(base_url + "/")


def test_sign_up_confirm_and_land_on_the_dashboard(browser_page, live_server):
    page = browser_page
    _sign_up(page, live_server.url, "newbie@example.com")
    page.get_by_role("heading", name="Hello, newbie@example.com").wait_for()
    switcher = page.get_by_label("Workspace")
    assert switcher.evaluate("s => s.options[s.selectedIndex].text") == "newbie's workspace"
    for empty in ("No offers yet", "Nothing is running", "No spend yet", "All quiet"):
        assert page.get_by_text(empty).is_visible()
    assert page.get_by_role("link", name="Dashboard", exact=True).get_attribute("aria-current") == "page"
    screenshot(page, "dashboard-desktop")
    page.set_viewport_size({"width": 1024, "height": 768})  # the nav moves to a second header row
    assert _overflow(page) <= 1024
    screenshot(page, "dashboard-tablet")

    page.get_by_role("link", name="Team", exact=True).click()
    page.get_by_text("This is your personal workspace").wait_for()
    screenshot(page, "team-personal")


def test_team_page_htmx_role_change_inline_error_invite_and_remove(browser_page, live_server):
    page = browser_page
    _sign_up(page, live_server.url, "lead@example.com")
    page.get_by_label("Workspace").select_option("__new__")  # app.js submits the switcher on change
    page.get_by_label("Team name").fill("Vision Lab")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("Created Vision Lab.").wait_for()

    workspace = Workspace.objects.get(name="Vision Lab")
    member = UserFactory(email="intern@example.com", name="")
    Membership.objects.create(workspace=workspace, user=member, role=Role.DEVELOPER)
    page.reload()

    page.get_by_label("Role of intern@example.com").select_option("viewer")
    page.get_by_text("intern@example.com is now Viewer.").wait_for()  # toast from the out-of-band swap
    assert Membership.objects.get(user=member).role == Role.VIEWER

    page.get_by_label("Role of lead@example.com").select_option("viewer")
    page.get_by_text("The last Admin cannot be demoted").wait_for()  # 422 swapped into the row
    assert page.get_by_label("Role of lead@example.com").input_value() == "admin"

    page.get_by_label("Email address").fill("intern@example.com")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Already a member.").wait_for()
    page.get_by_label("Email address").fill("researcher@example.com")
    page.get_by_role("button", name="Send invitation").click()
    page.locator("#invitations").get_by_text("researcher@example.com").wait_for()
    screenshot(page, "team-desktop")

    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm
    page.locator("#member-%d" % member.pk).get_by_role("button", name="Remove").click()
    page.locator("#member-%d" % member.pk).wait_for(state="detached")
    assert not Membership.objects.filter(user=member).exists()

    page.locator(".user-menu > summary").click()  # <summary> has no button role in Chromium
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Token name").fill("CI pipeline")
    page.get_by_role("button", name="Create token").click()
    assert page.get_by_label("New API token").input_value().startswith("chub_")
    screenshot(page, "tokens-created")


def test_every_page_fits_a_phone_and_the_menu_works(browser_page, live_server):
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/accounts/login/")
    assert _overflow(page) <= PHONE["width"]
    screenshot(page, "login-phone")
    _sign_up(page, live_server.url, "phone@example.com")

    for path in PAGES:
        page.goto(live_server.url + path)
        assert _overflow(page) <= PHONE["width"], f"{path} is wider than the phone"
    page.goto(live_server.url + "/")
    screenshot(page, "dashboard-phone")

    nav_link = page.get_by_role("link", name="Prices", exact=True)
    assert not nav_link.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert nav_link.is_visible() and page.get_by_label("Workspace").is_visible()
    assert _overflow(page) <= PHONE["width"]
    screenshot(page, "menu-phone")
    nav_link.click()
    page.wait_for_url(live_server.url + "/prices/")
    page.goto(live_server.url + "/team/")
    screenshot(page, "team-phone")


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_one_toast_renderer_for_scripts_and_htmx_errors(browser_page, live_server):
    """toasts.js is the only renderer: window.ComputeHub.toast whitelists the level and writes text,
    and app.js's HTMX refusal toasts go through it (on signed-out pages too, without a socket)."""
    page = browser_page
    page.goto(live_server.url + "/accounts/login/")
    page.evaluate("() => window.ComputeHub.toast('info x-injected', '<b>not bold</b>')")
    made = page.locator("#toasts .toast").last
    assert made.get_attribute("class") == "toast toast--info" and made.get_attribute("role") == "status"
    assert made.locator("p").inner_text() == "<b>not bold</b>"

    page.evaluate(
        "() => document.dispatchEvent(new CustomEvent('htmx:responseError', {detail: {xhr: {status: 403}}}))"
    )
    refused = page.locator("#toasts .toast--error", has_text="You don't have permission to do that.")
    refused.wait_for()
    assert refused.get_attribute("role") == "alert"
    refused.get_by_role("button", name="Dismiss").click()
    refused.wait_for(state="detached")
    assert page.evaluate("document.body.getAttribute('data-live')") is None  # no socket when signed out
