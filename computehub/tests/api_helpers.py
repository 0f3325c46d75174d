"""Assertions and clients shared by API tests across apps."""

from rest_framework.test import APIClient

from accounts.middleware import SESSION_KEY


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is the shared error shape {"error": {"code", "message", "fields"}} with `status`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


def signed_in(client, user, workspace=None):
    """Sign `client` in as `user`, with `workspace` chosen in the switcher when given."""
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = str(workspace.pk)
        session.save()
    return client


def session_client(user, workspace, **kwargs) -> APIClient:
    """A browser-like API client: signed in, with `workspace` chosen in the switcher."""
    return signed_in(APIClient(**kwargs), user, workspace)
