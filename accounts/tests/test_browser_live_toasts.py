"""The whole live path in a real browser: a person invites a colleague on the Team page, the
invitation email is sent by a real qcluster worker, and the toast that worker publishes reaches
the page through the real daphne process (toasts.js over /ws/workspace/)."""

import pytest

from computehub.tests.browser import screenshot
from computehub.tests.live_stack import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def _logged_in_page(chromium_browser, live_stack, user, workspace):
    name, _, value = session_cookie(user, workspace=workspace).partition("=")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_cookies([{"name": name, "value": value, "url": live_stack.http_url}])
    context.set_default_timeout(15_000)
    return context.new_page()


def test_worker_toast_appears_on_the_team_page(chromium_browser, live_stack, team):
    page = _logged_in_page(chromium_browser, live_stack, team["admin"], team["workspace"])
    page.goto(f"{live_stack.http_url}/team/")
    page.locator("body[data-live=on]").wait_for(state="attached")  # the socket is open
    page.get_by_label("Email address").fill("erin@example.com")
    page.get_by_role("button", name="Send invitation").click()

    toast = page.locator("#toasts .toast--info", has_text="Invitation email sent to erin@example.com.")
    toast.wait_for(state="visible")
    screenshot(page, "team-live-toast")
    assert "erin@example.com" in page.locator("#invitations").inner_text()
