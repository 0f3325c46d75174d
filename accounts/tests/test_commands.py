"""create_api_token: the printed token is the only stdout line and authenticates."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken


def _create(**options) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", stdout=out, stderr=err, **options)
    return out.getvalue()


def test_printed_token_authenticates(team):
    out = _create(email="BOB@example.com", workspace=team["workspace"].slug, name="deploy script")
    lines = out.splitlines()
    assert len(lines) == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {lines[0]}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["workspace"]["slug"] == team["workspace"].slug
    assert ApiToken.objects.get(user=team["developer"]).name == "deploy script"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"email": "nobody@example.com", "workspace": "acme-ml"}, "No user"),
        ({"email": "bob@example.com", "workspace": "no-such-team"}, "No workspace"),
        ({"email": "mallory@example.com", "workspace": "acme-ml"}, "not a member"),
    ],
)
def test_clear_errors_and_no_token(team, other_team, options, message):
    assert team["workspace"].slug == "acme-ml"
    with pytest.raises(CommandError, match=message):
        _create(name="x", **options)
    assert not ApiToken.objects.exists()
