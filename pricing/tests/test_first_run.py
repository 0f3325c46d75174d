"""What a new user of `make run` gets: their first workspace comes with Sandbox accounts for
every remote provider and this machine, and offers from all of them without any action."""

from accounts.services import workspace_ensure_personal
from accounts.tests.factories import UserFactory
from pricing.models import Offer
from providers.adapters import all_kinds
from providers.models import ProviderCredential


def test_a_new_workspace_is_filled_from_every_sandbox_cloud(db, sandbox, settings, django_capture_on_commit_callbacks):
    settings.COMPUTEHUB_SANDBOX_URL = sandbox.root_url
    settings.COMPUTEHUB_LOCAL_PROVIDER = True

    with django_capture_on_commit_callbacks(execute=True):
        workspace = workspace_ensure_personal(user=UserFactory(email="first@example.com"))

    credentials = ProviderCredential.objects.filter(workspace=workspace)
    assert {c.provider for c in credentials} == set(all_kinds())
    assert all(c.is_sandbox for c in credentials if c.provider != "local")
    assert not [c.refresh_error for c in credentials if c.refresh_error]
    offered = set(Offer.objects.filter(workspace=workspace).values_list("provider", flat=True))
    assert offered == set(all_kinds())
    local = Offer.objects.get(workspace=workspace, provider="local")
    assert local.price_per_hour == 0
