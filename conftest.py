"""Fixtures shared by every app's tests: people with each role in a team, and a stranger team."""

import logging

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_token_create, workspace_create
from accounts.tests.factories import MembershipFactory, UserFactory
from computehub.tests.live_stack import live_stack  # noqa: F401  (real daphne + qcluster, for @pytest.mark.processes)
from computehub.tests.browser import browser_page, chromium_browser  # noqa: F401  (for @pytest.mark.browser)
from providers.tests.sandbox_fixtures import _sandbox_server, sandbox  # noqa: F401  (sandbox clouds on loopback)


# A provider key no test may ever let reach a log (providers/tests/test_canary.py drives every flow with it).
CANARY_KEY = "sk-CANARY-7f3a9c"


class _CanaryHandler(logging.Handler):
    """Formats every record, exception text included, and remembers any that carry the canary."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception as exc:  # a record that cannot format must not hide the check
            text = f"{record.msg!r} {record.args!r} {exc!r}"
        if CANARY_KEY in text:
            self.leaks.append(f"{record.name}:{record.lineno} {record.levelname}")


@pytest.fixture(scope="session", autouse=True)
def _canary_never_logged():
    """Fails the session if the canary key appeared in any log record (at any level)."""
    handler, root = _CanaryHandler(), logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)  # child loggers inherit it, so DEBUG records reach the handler
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous_level)
    if handler.leaks:
        pytest.fail(f"the canary key {CANARY_KEY} appeared in log records: {handler.leaks}", pytrace=False)


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """The cache is shared and real (DB or Redis), so login rate limits would leak between tests."""
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            cache.clear()
            break


@pytest.fixture
def team(db):
    """A team workspace with an admin, a developer and a viewer."""
    admin = UserFactory(email="alice@example.com")
    workspace = workspace_create(name="Acme ML", created_by=admin)
    developer = MembershipFactory(workspace=workspace, role=Role.DEVELOPER, user__email="bob@example.com").user
    viewer = MembershipFactory(workspace=workspace, role=Role.VIEWER, user__email="carol@example.com").user
    return {"workspace": workspace, "admin": admin, "developer": developer, "viewer": viewer}


@pytest.fixture
def other_team(db):
    """A workspace none of `team`'s people belong to."""
    mallory = UserFactory(email="mallory@example.com")
    workspace = workspace_create(name="Other Co", created_by=mallory)
    return {"workspace": workspace, "admin": mallory}


@pytest.fixture
def api_client_for():
    """An API client authenticated with a fresh Bearer token of `user` in `workspace`."""

    def make(user, workspace):
        _, raw = api_token_create(user=user, workspace=workspace, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def client_in(db):
    """A fresh test client signed in as `user`, acting in `workspace` as if chosen in the switcher."""
    from django.test import Client

    from computehub.tests.api_helpers import signed_in

    return lambda user, workspace=None: signed_in(Client(), user, workspace)


def pytest_sessionfinish(session, exitstatus):
    """SQLite's WAL side files outlive the test database file that pytest-django removes."""
    import os

    from django.conf import settings

    for leftover in settings.VAR_DIR.glob(f"test-{os.getpid()}.sqlite3*"):
        leftover.unlink(missing_ok=True)
