"""Sign-up, sign-in and password pages (allauth, in the app's style) and allauth's login limits."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.factories import UserFactory

PASSWORD = "gpu-rental-Pass1"
MISMATCH = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def _link(body: str, prefix: str) -> str:
    return re.search(rf"https?://[^/\s]+({prefix}\S+/)", body).group(1)


def _verified_user(email="grace@example.com"):
    user = UserFactory(email=email)
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.mark.parametrize(
    "name", ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"]
)
def test_signed_out_pages_use_the_app_style(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "css/app.css" in html and 'class="card auth-card"' in html and 'class="auth-title"' in html


def test_signup_confirm_lands_on_dashboard_with_a_personal_workspace(client, db):
    response = client.post(reverse("account_signup"), {"email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("account_email_verification_sent")
    assert "Check your email" in client.get(response.url).content.decode()
    assert client.get(reverse("dashboard")).status_code == 302  # not signed in before confirming

    confirm = _link(mail.outbox[-1].body, "/accounts/confirm-email/")
    page = client.get(confirm).content.decode()
    assert "newbie@example.com" in page and 'class="btn btn--primary' in page
    response = client.post(confirm)
    assert response.status_code == 302 and response.url == reverse("dashboard")

    html = client.get(reverse("dashboard")).content.decode()
    assert "newbie&#x27;s workspace" in html and "Connect a provider" in html
    assert Membership.objects.get(user__email="newbie@example.com", workspace__is_personal=True).role == "admin"


def test_signup_errors_show_next_to_the_fields(client, db):
    response = client.post(reverse("account_signup"), {"email": "bad", "password1": "short", "password2": "other"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field field--invalid"' in html and 'class="field-error"' in html


def test_password_reset_flow_pages(client, db):
    _verified_user()
    response = client.post(reverse("account_reset_password"), {"email": "grace@example.com"})
    assert response.status_code == 302
    assert "sent you an email" in client.get(response.url).content.decode()
    reset = _link(mail.outbox[-1].body, "/accounts/password/reset/key/")
    response = client.get(reset, follow=True)  # allauth moves the key into the session, then shows the form
    assert response.status_code == 200 and 'name="password1"' in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"password1": "new-gpu-Pass2", "password2": "new-gpu-Pass2"}, follow=True)
    assert "Your password is now changed." in response.content.decode()


def test_signed_in_account_pages_use_the_app_shell(client, db):
    client.force_login(_verified_user())
    for name in ("account_email", "account_change_password", "account_logout"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert 'class="site-header"' in response.content.decode() and "page--manage" in response.content.decode()
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302 and response.url == reverse("account_login")


def _login(client, email, password):
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    text = response.content.decode() if response.status_code == 200 else ""
    outcome = "mismatch" if MISMATCH in text else "too_many" if TOO_MANY in text else ""
    return response.status_code, outcome or ("in" if response.status_code == 302 else "?")


def test_failed_logins_for_one_account_lock_it_after_five(client, db):
    """allauth's default ACCOUNT_RATE_LIMITS["login_failed"] is "10/m/ip,5/300s/key" (key = the email):
    five failures are answered as wrong passwords, the sixth and later attempts (even with the right
    password) as "too many" on the form, status 200. No 429 comes from this limit."""
    _verified_user()
    results = [_login(client, "grace@example.com", "wrong-password") for _ in range(5)]
    assert results == [(200, "mismatch")] * 5
    assert _login(client, "grace@example.com", "wrong-password") == (200, "too_many")
    assert _login(client, "grace@example.com", PASSWORD) == (200, "too_many")
    assert "_auth_user_id" not in client.session


def test_failed_logins_from_one_ip_are_limited_to_ten_a_minute(client, db):
    results = [_login(client, f"nobody{n}@example.com", "wrong-password") for n in range(11)]
    assert results == [(200, "mismatch")] * 10 + [(200, "too_many")]


def test_the_thirty_first_login_post_in_a_minute_gets_429(client, db):
    """ACCOUNT_RATE_LIMITS["login"] is "30/m/ip": any POST to the login view past 30 is a 429."""
    _verified_user()
    statuses = [_login(client, "grace@example.com", "wrong-password")[0] for _ in range(31)]
    assert statuses == [200] * 30 + [429]
    response = client.post(reverse("account_login"), {"login": "grace@example.com", "password": PASSWORD})
    assert response.status_code == 429 and "Slow down a little" in response.content.decode()


def test_a_successful_login_does_not_use_up_the_failure_allowance(client, db):
    _verified_user()
    for _ in range(4):
        _login(client, "grace@example.com", "wrong-password")
    assert _login(client, "grace@example.com", PASSWORD) == (302, "in")
    client.logout()
    assert _login(client, "grace@example.com", "wrong-password") == (200, "mismatch")  # the 5th failure
    assert _login(client, "grace@example.com", "wrong-password") == (200, "too_many")
