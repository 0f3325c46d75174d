"""Workspace SSH keys: ComputeHub's own pair (Admins generate and rotate; the private half is
encrypted and never shown), members' public keys (validated, no duplicates; Developers manage
their own, Admins all, Viewers read), on the page and in the API; other workspaces see 404."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from accounts.models import MemberSshKey, WorkspaceKeyPair
from accounts.ssh_keys_service import (member_key_add, workspace_authorized_keys, workspace_key_generate,
                                       workspace_private_key)
from deployments.services.validation import Errors, check_ssh_key

pytestmark = pytest.mark.django_db


def new_public_key(comment="me@laptop", curve=False) -> str:
    private = ec.generate_private_key(ec.SECP256R1()) if curve else ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}"


PAGE = "/workspace/ssh-keys/"


def api(slug, suffix=""):
    return f"/api/v1/workspaces/{slug}/ssh-key{suffix}"


# --- the workspace key pair ---------------------------------------------------------------------


def test_admin_generates_a_pair_whose_private_half_is_encrypted_and_never_shown(team, client_in):
    client = client_in(team["admin"], team["workspace"])
    assert client.post(f"{PAGE}generate/").status_code == 302
    pair = WorkspaceKeyPair.objects.get(workspace=team["workspace"])
    private = workspace_private_key(pair)
    assert pair.public_key.startswith("ssh-ed25519 ") and "OPENSSH PRIVATE KEY" in private
    assert private not in pair.private_key and "PRIVATE" not in pair.private_key
    html = client.get(PAGE).content.decode()
    assert pair.public_key in html and 'data-copy="#workspace-public-key"' in html and "PRIVATE" not in html
    loaded = serialization.load_ssh_private_key(private.encode(), password=None)
    shown = loaded.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert pair.public_key.startswith(shown.decode())


def test_rotation_replaces_the_pair_and_says_it_applies_to_new_launches(team, client_in):
    first = workspace_key_generate(workspace=team["workspace"], user=team["admin"])
    client = client_in(team["admin"], team["workspace"])
    html = client.post(f"{PAGE}generate/", follow=True).content.decode()
    rotated = WorkspaceKeyPair.objects.get(workspace=team["workspace"])
    assert rotated.public_key != first.public_key and "launched from now on" in html and "Rotate key" in html


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_only_admins_generate(team, client_in, api_client_for, role):
    assert client_in(team[role], team["workspace"]).post(f"{PAGE}generate/").status_code == 403
    assert api_client_for(team[role], team["workspace"]).post(api(team["workspace"].slug, "/")).status_code == 403
    assert not WorkspaceKeyPair.objects.exists()


def test_api_generates_and_reads_the_public_key_only(team, api_client_for):
    slug = team["workspace"].slug
    assert api_client_for(team["viewer"], team["workspace"]).get(api(slug, "/")).status_code == 404
    created = api_client_for(team["admin"], team["workspace"]).post(api(slug, "/"))
    assert created.status_code == 201 and set(created.json()) == {"public_key", "fingerprint", "created_at"}
    read = api_client_for(team["viewer"], team["workspace"]).get(api(slug, "/")).json()
    assert read["public_key"] == created.json()["public_key"] and read["fingerprint"].startswith("SHA256:")


# --- members' keys ------------------------------------------------------------------------------


def test_developer_adds_their_key_on_the_page(team, client_in):
    key = new_public_key()
    client = client_in(team["developer"], team["workspace"])
    response = client.post(PAGE, {"name": "laptop", "public_key": key}, follow=True)
    added = MemberSshKey.objects.get(workspace=team["workspace"])
    assert added.user == team["developer"] and added.public_key == key
    assert "laptop" in response.content.decode() and added.fingerprint in response.content.decode()


@pytest.mark.parametrize("text, message", [
    ("ssh-ed25519 AAAAnot-a-key me", "not a valid OpenSSH public key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", "That is a private key"),
    ("", "This field is required"),
    ("just words", "not a valid OpenSSH public key"),
])
def test_invalid_keys_are_field_errors(team, client_in, text, message):
    response = client_in(team["developer"], team["workspace"]).post(PAGE, {"name": "x", "public_key": text},
                                                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and message in response.content.decode()
    assert not MemberSshKey.objects.exists()


def test_a_duplicate_key_is_a_field_error_on_the_page_and_in_the_api(team, client_in, api_client_for):
    key = new_public_key(curve=True)
    member_key_add(workspace=team["workspace"], user=team["developer"], name="laptop", public_key=key)
    page = client_in(team["admin"], team["workspace"]).post(PAGE, {"name": "again", "public_key": key},
                                                            HTTP_HX_REQUEST="true")
    assert page.status_code == 422 and "already in the workspace (as “laptop”)" in page.content.decode()
    body = api_client_for(team["admin"], team["workspace"]).post(
        api(team["workspace"].slug, "s/"), {"name": "again", "public_key": key}, format="json")
    assert body.status_code == 400 and "public_key" in body.json()["error"]["fields"]


def test_viewer_reads_but_cannot_add(team, client_in, api_client_for):
    member_key_add(workspace=team["workspace"], user=team["admin"], name="admin laptop", public_key=new_public_key())
    client = client_in(team["viewer"], team["workspace"])
    html = client.get(PAGE).content.decode()
    assert "admin laptop" in html and "Add your public key" not in html and "Remove" not in html
    assert client.post(PAGE, {"name": "mine", "public_key": new_public_key()}).status_code == 403
    token = api_client_for(team["viewer"], team["workspace"])
    slug = team["workspace"].slug
    assert token.get(api(slug, "s/")).json()["count"] == 1
    assert token.post(api(slug, "s/"), {"name": "mine", "public_key": new_public_key()}, format="json").status_code == 403


def test_developer_removes_only_their_own_key_and_admin_any(team, client_in, api_client_for):
    ws = team["workspace"]
    own = member_key_add(workspace=ws, user=team["developer"], name="bob", public_key=new_public_key())
    admins = member_key_add(workspace=ws, user=team["admin"], name="alice", public_key=new_public_key())
    developer = api_client_for(team["developer"], ws)
    refused = developer.delete(api(ws.slug, f"s/{admins.pk}/"))
    assert refused.status_code == 403 and refused.json()["error"]["message"].startswith("Only an Admin")
    assert client_in(team["developer"], ws).post(f"{PAGE}{own.pk}/delete/").status_code == 302
    assert api_client_for(team["admin"], ws).delete(api(ws.slug, f"s/{admins.pk}/")).status_code == 204
    assert not MemberSshKey.objects.exists()


def test_other_workspaces_keys_are_404(team, other_team, client_in, api_client_for):
    key = member_key_add(workspace=team["workspace"], user=team["admin"], name="alice", public_key=new_public_key())
    workspace_key_generate(workspace=team["workspace"], user=team["admin"])
    stranger = api_client_for(other_team["admin"], other_team["workspace"])
    assert stranger.get(api(team["workspace"].slug, "/")).status_code == 404
    assert stranger.get(api(team["workspace"].slug, "s/")).status_code == 404
    assert stranger.delete(api(other_team["workspace"].slug, f"s/{key.pk}/")).status_code == 404
    page = client_in(other_team["admin"], other_team["workspace"])
    assert page.post(f"{PAGE}{key.pk}/delete/").status_code == 404
    assert "alice" not in page.get(PAGE).content.decode()
    assert MemberSshKey.objects.filter(pk=key.pk).exists()


# --- what launches get --------------------------------------------------------------------------


def test_authorized_keys_are_workspace_key_then_members_then_operator(team, settings):
    settings.COMPUTEHUB_SSH_PUBLIC_KEY = "ssh-ed25519 AAAAoperator ops"
    member = member_key_add(workspace=team["workspace"], user=team["developer"], name="bob", public_key=new_public_key())
    pair = workspace_key_generate(workspace=team["workspace"], user=team["admin"])
    assert workspace_authorized_keys(workspace=team["workspace"]) == (pair.public_key, member.public_key,
                                                                      "ssh-ed25519 AAAAoperator ops")


def test_tensordock_accepts_a_workspace_key_instead_of_the_operators(team, settings):
    settings.COMPUTEHUB_SSH_PUBLIC_KEY = ""
    errors = Errors()
    check_ssh_key("tensordock", errors, team["workspace"])
    assert "SSH keys" in errors.fields["credential"][0]
    workspace_key_generate(workspace=team["workspace"], user=team["admin"])
    errors = Errors()
    check_ssh_key("tensordock", errors, team["workspace"])
    assert errors.fields == {}
