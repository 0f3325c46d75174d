"""The API tokens page: create shows the raw token once, the list shows only the prefix, revoke."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import api_token_create, hash_token

RAW_TOKEN = re.compile(r"chub_[A-Za-z0-9_-]{40,}")


@pytest.mark.parametrize("who", ["admin", "developer", "viewer"])
def test_any_role_creates_a_token_and_sees_the_raw_value_once(client_in, team, who):
    client = client_in(team[who], team["workspace"])
    response = client.post(reverse("tokens"), {"name": "CI pipeline"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]  # the raw token must not linger in a cache
    html = response.content.decode()
    raw = RAW_TOKEN.search(html).group(0)
    assert "It is shown only this once" in html
    token = ApiToken.objects.get(user=team[who], workspace=team["workspace"])
    assert token.token_hash == hash_token(raw) and token.name == "CI pipeline"

    later = client.get(reverse("tokens")).content.decode()
    assert raw not in later and not RAW_TOKEN.search(later)
    assert f"{token.prefix}…" in later and "CI pipeline" in later and "never" in later


def test_token_create_over_htmx_swaps_the_section(client_in, team):
    client = client_in(team["viewer"], team["workspace"])
    response = client.post(reverse("tokens"), {"name": "laptop"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tokens"') and RAW_TOKEN.search(html)


def test_token_name_is_required(client_in, team):
    response = client_in(team["viewer"], team["workspace"]).post(reverse("tokens"), {"name": ""})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_list_shows_only_my_tokens_in_the_current_workspace_with_last_use(client_in, team, other_team):
    mine, _ = api_token_create(user=team["viewer"], workspace=team["workspace"], name="mine")
    ApiToken.objects.filter(pk=mine.pk).update(last_used_at=timezone.now() - timezone.timedelta(hours=3))
    api_token_create(user=team["admin"], workspace=team["workspace"], name="alice-secret")
    html = client_in(team["viewer"], team["workspace"]).get(reverse("tokens")).content.decode()
    assert "mine" in html and "3\xa0hours ago" in html
    assert "alice-secret" not in html


def test_revoke_stops_the_token_and_hides_it(client_in, team):
    token, raw = api_token_create(user=team["viewer"], workspace=team["workspace"], name="old")
    client = client_in(team["viewer"], team["workspace"])
    response = client.post(reverse("token_revoke", args=[token.pk]), follow=True)
    assert "Revoked “old”." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "old" not in client.get(reverse("tokens")).content.decode().split("Your tokens in")[1]


def test_someone_elses_token_cannot_be_revoked(client_in, team):
    token, _ = api_token_create(user=team["admin"], workspace=team["workspace"], name="alice")
    response = client_in(team["viewer"], team["workspace"]).post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
