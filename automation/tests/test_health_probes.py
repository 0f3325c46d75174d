"""Probes against real loopback servers, and whole checker rounds (claim → probe → write) on
Local deployments that point at them."""

import asyncio
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from automation.health import claims
from automation.health.checker import check_due
from automation.health.probes import FAIL, OK, UNKNOWN, probe_http, probe_tcp
from automation.models import AutomationEvent, EventType, HealthCheck, HealthState, ProbeKind
from automation.tests.factories_health import HealthCheckFactory
from deployments.models import DesiredState, Status
from deployments.tests.factories import CredentialFactory, DeploymentFactory

ANSWERS = {"/ok": 200, "/moved": 302, "/broken": 500, "/busy": 429}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(1.0)
        self.send_response(ANSWERS.get(self.path, 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


async def _http(port, path, timeout=2.0):
    return await probe_http(f"http://127.0.0.1:{port}{path}", path, timeout)


@pytest.mark.parametrize("path,outcome", [("/ok", OK), ("/moved", OK), ("/broken", FAIL), ("/busy", UNKNOWN)])
def test_http_probe_classifies_the_answer(server, path, outcome):
    result = asyncio.run(_http(server, path))
    assert result.outcome == outcome and result.latency_ms is not None
    if outcome == FAIL:
        assert result.error == "HTTP 500 on /broken"


def test_http_probe_refused_and_timed_out_are_failures(server, closed_port):
    refused = asyncio.run(_http(closed_port, "/health"))
    assert refused.outcome == FAIL and "refused" in refused.error
    slow = asyncio.run(_http(server, "/slow", timeout=0.2))
    assert slow.outcome == FAIL and "within 0.2 s" in slow.error


def test_tcp_probe_ok_and_refused(server, closed_port):
    assert asyncio.run(probe_tcp("127.0.0.1", server, 2.0)).outcome == OK
    refused = asyncio.run(probe_tcp("127.0.0.1", closed_port, 2.0))
    assert refused.outcome == FAIL and "refused" in refused.error


def _local_check(team, port, *, path="/ok", kind=ProbeKind.HTTP, **deployment):
    credential = CredentialFactory(workspace=team["workspace"], provider="local")
    target = DeploymentFactory(workspace=team["workspace"], credential=credential, port_map={"8000": port},
                               **deployment)
    return HealthCheckFactory(workspace=team["workspace"], deployment=target, kind=kind, path=path,
                              next_check_at=timezone.now() - timedelta(seconds=1))


def _rounds(count, start):
    for n in range(count):
        check_due(now=start + timedelta(seconds=30 * n))


def test_checker_rounds_take_a_broken_service_down_once(team, server):
    check = _local_check(team, server, path="/broken")
    _rounds(4, timezone.now())
    check.refresh_from_db()
    assert check.state == HealthState.DOWN and check.checks == 4 and check.last_error == "HTTP 500 on /broken"
    assert list(AutomationEvent.objects.values_list("type", flat=True)) == [EventType.DOWN]


def test_checker_rounds_bring_a_working_service_up_over_tcp(team, server):
    check = _local_check(team, server, kind=ProbeKind.TCP, path="")
    _rounds(2, timezone.now())
    check.refresh_from_db()
    assert check.state == HealthState.UP and check.last_result == OK and not AutomationEvent.objects.exists()


def test_stopped_or_restarting_deployments_are_not_probed(team, closed_port):
    restarting = _local_check(team, closed_port, status=Status.STARTING)
    stopped = _local_check(team, closed_port, desired_state=DesiredState.STOPPED, status=Status.STOPPED)
    HealthCheck.objects.filter(pk=stopped.pk).update(state=HealthState.UP, consecutive_failures=2)
    _rounds(5, timezone.now())
    restarting.refresh_from_db()
    stopped.refresh_from_db()
    assert restarting.state == HealthState.NEW and restarting.last_checked_at is None
    assert stopped.state == HealthState.NEW and stopped.consecutive_failures == 0
    assert not AutomationEvent.objects.exists()


def test_provider_probe_reads_the_reconciler_row(team):
    check = _local_check(team, 1, kind=ProbeKind.PROVIDER, status=Status.FAILED)
    ok = _local_check(team, 1, kind=ProbeKind.PROVIDER)
    erring = _local_check(team, 1, kind=ProbeKind.PROVIDER, attempts=2, last_error="429 Too Many Requests")
    _rounds(3, timezone.now())
    for row in (check, ok, erring):
        row.refresh_from_db()
    assert check.state == HealthState.DOWN and "failed" in check.last_error
    assert ok.state == HealthState.UP
    assert erring.state == HealthState.NEW and erring.last_result == UNKNOWN and erring.consecutive_failures == 0


def test_claim_keeps_the_cadence_grid_and_gives_each_check_to_one_caller(team):
    start = timezone.now().replace(microsecond=0)
    check = HealthCheckFactory(workspace=team["workspace"], next_check_at=start)
    late = start + timedelta(seconds=4)  # the round ran 4 s late: the next slot is still start + 30 s
    assert claims.claim_due(now=late, limit=10) == [check.pk]
    assert claims.claim_due(now=late, limit=10) == []  # a second checker finds nothing to do
    check.refresh_from_db()
    assert check.next_check_at == start + timedelta(seconds=30)
    much_later = start + timedelta(seconds=95)  # missed slots are skipped, the grid is kept
    assert claims.claim_due(now=much_later, limit=10) == [check.pk]
    check.refresh_from_db()
    assert check.next_check_at == start + timedelta(seconds=120)


def test_every_running_deployment_gets_a_check(team):
    running = DeploymentFactory(workspace=team["workspace"])
    DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.STOPPED, status=Status.STOPPED)
    assert claims.ensure_checks() == 1
    assert HealthCheck.objects.get().deployment == running
    assert claims.ensure_checks() == 0


@pytest.mark.django_db(transaction=True)
def test_the_checker_loop_probes_due_checks_and_stops_when_asked(team, server):
    from automation.health.checker import run_checker

    check = _local_check(team, server, path="/ok")
    stop = threading.Event()
    thread = threading.Thread(target=run_checker, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not HealthCheck.objects.filter(pk=check.pk, checks__gte=1).exists():
        time.sleep(0.1)
    stop.set()
    thread.join(30)
    check.refresh_from_db()
    assert not thread.is_alive()
    assert check.checks == 1 and check.last_result == OK  # probed once: the next slot is 30 s on
    assert check.next_check_at > timezone.now() + timedelta(seconds=5)
