"""Health check rows for tests, on deployments from deployments' factories."""

import factory

from automation.models import HealthCheck, ProbeKind
from deployments.tests.factories import DeploymentFactory


class HealthCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthCheck

    deployment = factory.SubFactory(DeploymentFactory, workspace=factory.SelfAttribute("..workspace"))
    kind = ProbeKind.HTTP
    path = "/health"
    port = 8000


def stale_copy(check: HealthCheck) -> HealthCheck:
    """The same row as another worker read it: an independent object with the same values."""
    return HealthCheck.objects.select_related("deployment", "deployment__workspace").get(pk=check.pk)
