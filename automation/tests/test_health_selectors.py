"""Which probe a deployment gets by default, where it is sent, and uptime from flips."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.health.targets import target_for
from automation.models import Flip, HealthCheck, HealthState, ProbeKind
from automation.selectors.health import health_check_for, provider_unsure, uptime_percent
from deployments.models import Status
from deployments.tests.factories import CredentialFactory, DeploymentFactory, TemplateFactory


@pytest.mark.parametrize("ports,path,expected", [
    ([8000, 9000], "/healthz", (ProbeKind.HTTP, "/healthz", 8000)),
    ([22], "", (ProbeKind.TCP, "", 22)),
    ([], "/healthz", (ProbeKind.PROVIDER, "", None)),
])
def test_default_probe_follows_the_template(team, ports, path, expected):
    template = TemplateFactory(workspace=team["workspace"], health_path=path, ports=ports)
    deployment = DeploymentFactory(workspace=team["workspace"], template=template, ports=ports)
    check = health_check_for(deployment=deployment)
    assert (check.kind, check.path, check.port) == expected
    assert health_check_for(deployment=deployment).pk == check.pk and HealthCheck.objects.count() == 1
    assert timezone.now() <= check.next_check_at <= timezone.now() + timedelta(seconds=30)


def _check(team, **deployment):
    return health_check_for(deployment=DeploymentFactory(workspace=team["workspace"], ports=[8000], **deployment))


def test_local_deployments_are_probed_on_loopback_at_their_mapped_port(team):
    credential = CredentialFactory(workspace=team["workspace"], provider="local")
    check = _check(team, credential=credential, port_map={"8000": 41234})
    check.kind, check.path = ProbeKind.HTTP, "/health"
    assert target_for(check, check.deployment).url == "http://127.0.0.1:41234/health"


def test_remote_deployments_use_the_public_address_and_port(team):
    check = _check(team, public_ip="203.0.113.9", port_map={"8000": 30123})
    check.kind = ProbeKind.TCP
    target = target_for(check, check.deployment)
    assert (target.host, target.port) == ("203.0.113.9", 30123)


def test_no_public_address_yet_is_unknown_not_down(team):
    vast = CredentialFactory(workspace=team["workspace"], provider="vast")
    check = _check(team, credential=vast, public_ip="", ssh_host="")
    check.kind = ProbeKind.TCP
    assert target_for(check, check.deployment).result.outcome == "unknown"


def test_a_dead_instance_fails_whatever_the_probe(team):
    check = _check(team, status=Status.PREEMPTED, public_ip="203.0.113.9", port_map={"8000": 1})
    assert target_for(check, check.deployment).result.outcome == "fail"


def test_uptime_is_none_before_the_first_check_and_counts_down_time(team):
    check = _check(team)
    assert uptime_percent(deployment=check.deployment, hours=24) is None
    now = timezone.now()
    HealthCheck.objects.filter(pk=check.pk).update(created_at=now - timedelta(days=10), last_checked_at=now)
    flip = lambda old, new, ago: Flip.objects.create(  # noqa: E731
        health_check=check, deployment=check.deployment, old_state=old, new_state=new, created_at=now - ago)
    flip(HealthState.UP, HealthState.DOWN, timedelta(hours=30))  # down since before the window...
    flip(HealthState.DOWN, HealthState.UP, timedelta(hours=18))  # ...for its first 6 hours
    flip(HealthState.UP, HealthState.DOWN, timedelta(hours=1))  # and down again for the last hour
    assert uptime_percent(deployment=check.deployment, hours=24, now=now) == pytest.approx(100 * 17 / 24, abs=0.001)
    assert uptime_percent(deployment=check.deployment, hours=24 * 7, now=now) == pytest.approx(
        100 * (1 - 13 / 168), abs=0.001)


def test_automation_is_unsure_while_health_is_unknown_or_the_account_is_failing(team):
    ws = team["workspace"]
    credential = CredentialFactory(workspace=ws, provider="vast")
    preempted = DeploymentFactory(workspace=ws, credential=credential, status=Status.PREEMPTED, instance_id="i-1")
    assert not provider_unsure(preempted)

    # A launch retrying "no capacity" has no instance there: it says nothing about an outage.
    DeploymentFactory(workspace=ws, credential=credential, status=Status.PENDING, attempts=3,
                      last_error="no capacity")
    assert not provider_unsure(preempted)

    # A running neighbour on the same account whose calls fail: the account is in trouble.
    DeploymentFactory(workspace=ws, credential=credential, status=Status.RUNNING, instance_id="i-2", attempts=2,
                      last_error="Vast.ai is unavailable (503)")
    assert provider_unsure(preempted)
    assert not provider_unsure(DeploymentFactory(workspace=ws, status=Status.RUNNING, instance_id="i-3"))

    other = DeploymentFactory(workspace=ws, status=Status.RUNNING, instance_id="i-4")
    HealthCheck.objects.create(deployment=other, workspace=ws, unknown_since=timezone.now())
    assert provider_unsure(other)
