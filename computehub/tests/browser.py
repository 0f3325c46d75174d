"""Browser fixtures for @pytest.mark.browser tests: Playwright driving Debian's chromium.

Never `playwright install` (it downloads a browser, which fails offline); `apt-get install -y
chromium` provides /usr/bin/chromium. Everything is function-scoped on purpose: Playwright's sync
API runs an event loop, and one left running for the session would break later asyncio tests.
Django sees that loop too, so `chromium_browser` allows sync ORM calls for its test
(DJANGO_ALLOW_ASYNC_UNSAFE, set per test, never at import: it would leak into subprocesses such
as `check --deploy`).
"""

from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def chromium_browser(monkeypatch):
    """A headless chromium; fails (not skips) when it is missing, so CI cannot pass without it."""
    if not CHROMIUM.exists():
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM}: run `apt-get install -y chromium`.")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        # While Playwright's loop runs, asgiref keys DB connections to that loop's context, so ORM
        # calls in the test opened their own; close them now, or PostgreSQL cannot drop the test DB.
        connections.close_all()
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A page in a fresh context (own cookies) at a desktop viewport; `page.set_viewport_size` to change."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
