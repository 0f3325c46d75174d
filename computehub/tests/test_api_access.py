"""One generic access test over every REST route in the URLconf.

For each route and each method its view implements, with Bearer tokens and with sessions:
(a) anonymous callers get 401 with the shared error shape and a WWW-Authenticate header;
(b) an Admin of another workspace addressing `team`'s objects gets 404 (routes with URL kwargs);
(c) a Viewer writing to their own workspace gets 403, except the allowlisted own-things writes
    (of which the session-only ones are 403 for a Bearer token too).
A new endpoint is covered as soon as it is routed; a new URL kwarg must be registered below.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role, User, Workspace
from accounts.services import api_token_create, invitation_create
from computehub.tests.api_helpers import assert_error, session_client
from automation.tests.url_kwargs import collected as automation_url_kwargs
from computehub.tests.api_routes import WRITE_METHODS, ApiRoute, api_routes

ROUTES = api_routes()


@dataclass(frozen=True)
class Scenario:
    name: str  # "anonymous" | "stranger" | "viewer"
    subject: User  # the member of `team` whose objects the URL addresses


def _invitation(workspace: Workspace, scenario: Scenario):
    return invitation_create(
        workspace=workspace, email="invitee@example.com", role=Role.VIEWER, invited_by=workspace.created_by
    ).pk


def _token(workspace: Workspace, scenario: Scenario):
    return api_token_create(user=scenario.subject, workspace=workspace, name="addressed")[0].pk


def _credential(workspace: Workspace, scenario: Scenario):
    from providers.models import ProviderCredential

    return ProviderCredential.objects.create(workspace=workspace, provider="runpod", label="addressed").pk


def _deployment(workspace: Workspace, scenario: Scenario):
    from deployments.tests.factories import DeploymentFactory

    return DeploymentFactory(workspace=workspace).pk


def _template(workspace: Workspace, scenario: Scenario):
    from deployments.tests.factories import TemplateFactory

    return TemplateFactory(workspace=workspace).pk


def _ssh_key(workspace: Workspace, scenario: Scenario):
    from accounts.models import MemberSshKey

    key, _ = MemberSshKey.objects.get_or_create(workspace=workspace, fingerprint="SHA256:addressed", defaults={
        "user": scenario.subject, "name": "addressed", "public_key": "ssh-ed25519 AAAA"})
    return key.pk


# URL kwarg name → value naming an object of `workspace` (the `team` fixture's workspace).
URL_KWARGS: dict[str, Callable[[Workspace, Scenario], object]] = {
    "slug": lambda workspace, scenario: workspace.slug,
    "user_id": lambda workspace, scenario: scenario.subject.pk,
    "invitation_id": _invitation,
    "token_id": _token,
    "credential_id": _credential,
    "deployment_id": _deployment,
    "template_id": _template,
    "key_id": _ssh_key,
    **automation_url_kwargs(),
}

# Writes a Viewer may make because they concern the caller's own things. In the viewer scenario
# `user_id` and `token_id` name the Viewer and the Viewer's token, so these are not escalations.
VIEWER_MAY_WRITE = {
    ("api-me", "patch"),  # editing their own profile
    ("api-workspace-list", "post"),  # creating a new workspace (they become its Admin); session only
    ("api-token-list", "post"),  # a token carries the Viewer's role, so it can only read; session only
    ("api-token-detail", "delete"),  # revoking their own token
    ("api-member-detail", "delete"),  # leaving the workspace (DELETE of themselves)
}

# Writes that need a browser session: a token must not mint successors or new workspaces, so any
# Bearer caller (whatever its role) gets 403 for these.
SESSION_ONLY_WRITES = {("api-workspace-list", "post"), ("api-token-list", "post")}


def _url(route: ApiRoute, workspace: Workspace, scenario: Scenario) -> str:
    values = {}
    for name in route.kwargs:
        if name not in URL_KWARGS:
            pytest.fail(
                f"URL kwarg {name!r} of /{route.route} has no value factory: register it in URL_KWARGS "
                "in computehub/tests/test_api_access.py so the access test can address that object."
            )
        values[name] = URL_KWARGS[name](workspace, scenario)
    return reverse(route.name, kwargs=values)


def _client(auth: str, user, workspace, api_client_for) -> APIClient:
    if auth == "bearer":
        return api_client_for(user, workspace)
    return session_client(user, workspace)


def _call(client: APIClient, method: str, url: str):
    return getattr(client, method)(url, {}, format="json")


def _check_anonymous(route, method, team):
    response = _call(APIClient(), method, _url(route, team["workspace"], Scenario("anonymous", team["admin"])))
    assert_error(response, 401, "not_authenticated")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{method} /{route.route}"


def _check_stranger(route, method, team, stranger):
    url = _url(route, team["workspace"], Scenario("stranger", team["admin"]))
    assert_error(_call(stranger, method, url), 404)


def _check_viewer_write(route, method, team, viewer, auth):
    response = _call(viewer, method, _url(route, team["workspace"], Scenario("viewer", team["viewer"])))
    allowed = VIEWER_MAY_WRITE if auth == "session" else VIEWER_MAY_WRITE - SESSION_ONLY_WRITES
    if (route.name, method) in allowed:
        # Input may still be refused (the body is empty), but not the caller.
        assert response.status_code not in (401, 403, 404) and response.status_code < 500, response.content
    else:
        assert_error(response, 403, "permission_denied")


@pytest.mark.parametrize("auth", ["bearer", "session"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.route)
def test_every_api_route_guards_access(route, auth, team, other_team, api_client_for):
    stranger = _client(auth, other_team["admin"], other_team["workspace"], api_client_for)
    viewer = _client(auth, team["viewer"], team["workspace"], api_client_for)
    for method in route.methods:
        _check_anonymous(route, method, team)
        if route.kwargs:
            _check_stranger(route, method, team, stranger)
        if method in WRITE_METHODS:
            _check_viewer_write(route, method, team, viewer, auth)


def test_walk_sees_every_route_with_a_name_and_a_view():
    """Guards the walk itself: an empty or partial walk would make the test above vacuous."""
    names = {route.name for route in ROUTES}
    assert {"api-me", "api-workspace-list", "api-member-detail", "api-token-detail"} <= names
    for route in ROUTES:
        assert route.name and route.view_class is not None and route.methods, route


def test_viewer_allowlist_names_real_routes_and_methods():
    implemented = {(route.name, method) for route in ROUTES for method in route.methods}
    assert VIEWER_MAY_WRITE <= implemented, VIEWER_MAY_WRITE - implemented
    assert SESSION_ONLY_WRITES <= VIEWER_MAY_WRITE, SESSION_ONLY_WRITES - VIEWER_MAY_WRITE
