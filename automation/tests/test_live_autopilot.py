"""The autopilot end to end, as a user sees it, with real processes: daphne, qcluster and
`manage.py autopilot` (health checker, rules, operations, budgets, notifications lanes) on the test
database, the vLLM preset deployed on this machine (a real process serving HTTP), and a loopback
webhook receiver that verifies Standard Webhooks signatures.

- A hung deployment (its process group SIGSTOPped: the port accepts connections, nothing
  answers) goes down once, auto-restart restarts it once, it is up again, and the receiver gets
  exactly one signed "down" message saying automation restarted it and one "recovered" message.
- A cost cap with a tiny limit on a priced deployment: the live processes stop it and the stop is
  confirmed (the cap-stop operation done), its process gone, people told once.
- A crashed deployment (its process group killed) is brought back by auto-restart.
- With the preset's port 8000 taken (as `make run`'s web server takes it), the health check
  probes the port the process really got."""

import os
import signal
import threading
import urllib.request
from collections import Counter
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
from django.utils import timezone

from automation.fakes.fixtures import _webhook_server, receiver  # noqa: F401  (loopback webhook receiver)
from automation.models import (AutomationEvent, EventType, Flip, HealthCheck, HealthState, Notification,
                               NotificationStatus, Operation, OperationKind, OperationState, Rule, RuleRun,
                               RunOutcome)
from automation.policies import policy_enable
from automation.selectors.health import health_check_for
from automation.services.notify import channel_create
from automation.tests.live_fixtures import autopilot_stack, eventually, local_state  # noqa: F401
from computehub.tests.live_stack import free_port
from deployments.models import Deployment, DeploymentEvent, DeploymentTemplate, DesiredState, EventKind, Status
from deployments.services import deployment_create_from_offer
from pricing.models import Offer
from pricing.services import refresh_offers
from providers.services import workspace_connect_defaults

pytestmark = pytest.mark.processes

LAUNCH_TIMEOUT_S = 30  # created → running and its health check up
REACTION_TIMEOUT_S = 45  # hung → down → restarted → up again (restart waits 5 s for SIGTERM)
CAP_TIMEOUT_S = 75  # budgets are checked every 20 s, a cap stop is confirmed 30 s after it is asked
SETTLE_TIMEOUT_S = 15
HEALTH_INTERVAL_S = 2
PRICE_PER_HOUR = 36.0  # a cent every second
CAP_USD = 0.05


# --- setting up what a user would -------------------------------------------------------------


def deploy_preset_here(team, **overrides) -> Deployment:
    """The vLLM preset on "This machine" (its stand-in serves /v1/models on the port it gets).
    The cases pick a free port rather than the preset's 8000, which a probe from an earlier run
    may still hold in TIME_WAIT (see test_the_check_probes_the_port_the_process_got)."""
    workspace = team["workspace"]
    workspace_connect_defaults(workspace=workspace)
    refresh_offers(workspace=workspace)
    offer = Offer.objects.get(workspace=workspace, provider="local")
    preset = DeploymentTemplate.objects.get(is_preset=True, slug="vllm-llama")
    return deployment_create_from_offer(workspace=workspace, user=team["developer"], offer=offer, template=preset,
                                        disk_gb=preset.disk_gb, **overrides)


def check_every_few_seconds(deployment) -> HealthCheck:
    """The template's probe (HTTP GET /v1/models), on a short interval so the test is quick."""
    check = health_check_for(deployment=deployment)
    HealthCheck.objects.filter(pk=check.pk).update(interval_s=HEALTH_INTERVAL_S, timeout_s=1.0,
                                                   next_check_at=timezone.now())
    check.refresh_from_db()
    assert (check.kind, check.path) == ("http", "/v1/models")
    return check


def webhook_channel(team, receiver):
    channel, secret = channel_create(workspace=team["workspace"], user=team["admin"],
                                     data={"kind": "webhook", "name": "ops hook", "url": receiver.url})
    receiver.secrets.append(secret)
    return channel, secret


# --- reading what happened --------------------------------------------------------------------


def fresh(deployment) -> Deployment:
    return Deployment.objects.get(pk=deployment.pk)


def answers(port: int, path: str = "/v1/models") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (psutil.Error, ProcessLookupError):
            continue
    return False


def flips(check, new_state) -> int:
    return Flip.objects.filter(health_check=check, new_state=new_state).count()


def runs_of(deployment, policy: str):
    return RuleRun.objects.filter(rule__policy=policy, deployment=deployment)


def timeline(deployment, kind: str, text: str) -> list[str]:
    rows = DeploymentEvent.objects.filter(deployment=deployment, kind=kind, message__icontains=text)
    return list(rows.values_list("message", flat=True))


def by_type(receiver) -> Counter:
    return Counter(delivery.json.get("type") for delivery in receiver.deliveries)


def delivered(receiver, event_type: str) -> list:
    return [d for d in receiver.deliveries if d.json.get("type") == event_type]


def _deployment_lines(d: Deployment) -> list[str]:
    lines = [f"deployment: status={d.status} desired={d.desired_state} raw={d.raw_status!r} "
             f"port_map={d.port_map} error={d.last_error!r} spend={d.spend_usd}"]
    check = HealthCheck.objects.filter(deployment=d).first()
    if check is not None:
        lines.append(f"check: state={check.state} kind={check.kind} port={check.port} last={check.last_result} "
                     f"error={check.last_error!r} checks={check.checks} fails={check.consecutive_failures}")
    lines += [f"flip: {f.old_state}→{f.new_state} {f.reason}" for f in Flip.objects.filter(deployment=d)]
    return lines + [f"timeline: {e.kind} {e.message}" for e in DeploymentEvent.objects.filter(deployment=d)]


def _automation_lines(d: Deployment) -> list[str]:
    lines = [f"event: {e.type} processed={e.processed_at is not None} notified={e.notified_at is not None} "
             f"{e.summary}" for e in AutomationEvent.objects.filter(workspace=d.workspace)]
    lines += [f"rule run: {r.rule_name} {r.outcome} {r.detail}" for r in RuleRun.objects.filter(deployment=d)]
    return lines + [f"operation: {o.kind} {o.state} {o.data.get('outcome', '')}"
                    for o in Operation.objects.filter(source=d)]


def _people_lines(d: Deployment, receiver) -> list[str]:
    lines = [f"notification: {n.message_key} #{n.attempt} {n.status} {n.http_status} {n.error}"
             for n in Notification.objects.filter(workspace=d.workspace)]
    deliveries = receiver.deliveries if receiver is not None else []
    return lines + [f"received: {x.json.get('type')} verified={bool(x.verified_by)}" for x in deliveries]


def explain(deployment, receiver=None):
    """Everything the database (and the receiver) says, for a failing wait's message."""
    def text() -> str:
        d = fresh(deployment)
        return "\n".join(_deployment_lines(d) + _automation_lines(d) + _people_lines(d, receiver))
    return text


def wait_running_and_up(stack, deployment, check, why, what="running and its check up") -> None:
    eventually(stack, lambda: fresh(deployment).status == Status.RUNNING
               and HealthCheck.objects.get(pk=check.pk).state == HealthState.UP, what,
               timeout=LAUNCH_TIMEOUT_S + REACTION_TIMEOUT_S, explain=why)


def wait_all_delivered(stack, receiver, channel, why) -> None:
    """Every message queued for `channel` sent, and the receiver got exactly those."""
    def settled() -> bool:
        rows = Notification.objects.filter(channel=channel)
        return not rows.exclude(status=NotificationStatus.SENT).exists() and rows.count() == len(receiver.deliveries)
    eventually(stack, settled, "every queued message delivered", timeout=SETTLE_TIMEOUT_S, explain=why)


# --- the cases --------------------------------------------------------------------------------


def test_a_hung_deployment_is_restarted_once_and_people_are_told_once(autopilot_stack, team, receiver):
    stack = autopilot_stack
    channel, secret = webhook_channel(team, receiver)
    deployment = deploy_preset_here(team, name="llm-api", ports=[free_port()])
    policy_enable(workspace=team["workspace"], user=team["admin"], slug="auto_restart", deployment=deployment)
    check = check_every_few_seconds(deployment)
    why = explain(deployment, receiver)
    wait_running_and_up(stack, deployment, check, why)
    deployment = fresh(deployment)
    hung = local_state(stack.var_dir, deployment.instance_id)  # the pid the Local provider records
    assert f"pid {hung['pid']}" in deployment.raw_status and answers(hung["port"])

    os.killpg(hung["pgid"], signal.SIGSTOP)  # hangs: connections are accepted, nothing answers
    eventually(stack, lambda: flips(check, HealthState.DOWN) == 1, "down flip", timeout=REACTION_TIMEOUT_S,
               explain=why)
    eventually(stack, lambda: timeline(deployment, EventKind.RECONCILE, "Restarted the instance"),
               "restart on the timeline", timeout=REACTION_TIMEOUT_S, explain=why)
    wait_running_and_up(stack, deployment, check, why, "running and its check up again")

    # What the user sees: one down, one restart, a new process answering, the hung one gone.
    restarted = local_state(stack.var_dir, deployment.instance_id)
    assert restarted["pid"] != hung["pid"] and answers(restarted["port"]) and not group_alive(hung["pgid"])
    assert (flips(check, HealthState.DOWN), Flip.objects.filter(health_check=check, old_state=HealthState.DOWN,
                                                                new_state=HealthState.UP).count()) == (1, 1)
    run = runs_of(deployment, "auto_restart").get()
    assert (run.outcome, run.event.type, [a["type"] for a in run.actions]) == (RunOutcome.DONE, EventType.DOWN,
                                                                               ["restart"])
    assert len(timeline(deployment, EventKind.ACTION, "Restart requested")) == 1
    assert len(timeline(deployment, EventKind.RECONCILE, "Restarted the instance")) == 1
    assert timeline(deployment, EventKind.AUTOMATION, "Auto-restart"), "the rule's decision is on the timeline"

    # People: exactly one signed message per state change, the down one saying what automation did.
    eventually(stack, lambda: by_type(receiver)["recovered"] >= 1, "recovered webhook",
               timeout=SETTLE_TIMEOUT_S, explain=why)
    wait_all_delivered(stack, receiver, channel, why)
    assert by_type(receiver) == Counter({"down": 1, "recovered": 1}), why()
    assert all(d.verified_by == [secret] for d in receiver.deliveries), why()
    assert len({d.headers.get("webhook-id") for d in receiver.deliveries}) == 2
    [down] = delivered(receiver, "down")
    assert down.json["deployment"]["id"] == str(deployment.pk) and "is down" in down.json["summary"]
    [restart] = down.json["automation"]
    assert (restart["outcome"], restart["dry_run"]) == (RunOutcome.DONE, False), down.json
    assert "restart requested" in restart["detail"].lower(), down.json


def test_a_cost_cap_stops_the_deployment_and_the_stop_is_confirmed(autopilot_stack, team, receiver):
    stack = autopilot_stack
    channel, secret = webhook_channel(team, receiver)
    deployment = deploy_preset_here(team, name="pricey", ports=[free_port()], price_per_hour=PRICE_PER_HOUR)
    policy_enable(workspace=team["workspace"], user=team["admin"], slug="cost_cap", deployment=deployment,
                  params={"limit_usd": CAP_USD, "period": "total", "action": "stop"})
    why = explain(deployment, receiver)

    eventually(stack, lambda: fresh(deployment).status == Status.RUNNING, "running deployment",
               timeout=LAUNCH_TIMEOUT_S, explain=why)
    deployment = fresh(deployment)
    serving = local_state(stack.var_dir, deployment.instance_id)

    def stop_confirmed() -> bool:
        return Operation.objects.filter(source=deployment, kind=OperationKind.CAP_STOP,
                                        state=OperationState.DONE).exists()
    eventually(stack, stop_confirmed, "cap stop confirmed", timeout=CAP_TIMEOUT_S, explain=why)

    deployment = fresh(deployment)
    assert (deployment.status, deployment.desired_state) == (Status.STOPPED, DesiredState.STOPPED)
    assert not group_alive(serving["pgid"]) and not answers(serving["port"])
    assert AutomationEvent.objects.filter(deployment=deployment, type=EventType.BUDGET_REACHED).count() == 1
    rule = Rule.objects.get(policy="cost_cap", deployment=deployment)
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == RunOutcome.DONE and "confirmed by This machine" in run.detail, why()
    assert timeline(deployment, EventKind.AUTOMATION, "Cost cap: stopped")
    assert deployment.spend_usd >= CAP_USD

    eventually(stack, lambda: by_type(receiver)["budget_reached"] >= 1, "budget reached webhook",
               timeout=SETTLE_TIMEOUT_S, explain=why)
    wait_all_delivered(stack, receiver, channel, why)
    assert by_type(receiver)["budget_reached"] == 1 and all(d.verified_by == [secret] for d in receiver.deliveries)


@contextmanager
def port_taken(port: int):
    """Something else answers on `port` (404 for every path), as `make run`'s web server does on
    8000. If something on this machine already holds it, that is the same situation."""
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), SimpleHTTPRequestHandler)
    except OSError:
        yield
        return
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_the_check_probes_the_port_the_process_got(autopilot_stack, team):
    """The vLLM preset asks for port 8000; when 8000 is taken (`make run` serves the web app
    there) the Local provider starts it on another port, and the health check must follow it,
    or the deployment shows down and auto-restart restarts a healthy process over and over."""
    stack = autopilot_stack
    with port_taken(8000):
        deployment = deploy_preset_here(team, name="llm-8000")
        check = check_every_few_seconds(deployment)
        why = explain(deployment)
        eventually(stack, lambda: fresh(deployment).status == Status.RUNNING, "running deployment",
                   timeout=LAUNCH_TIMEOUT_S, explain=why)
        serving = local_state(stack.var_dir, fresh(deployment).instance_id)
        assert serving["port"] != 8000
        eventually(stack, lambda: answers(serving["port"]), "the process answering", timeout=LAUNCH_TIMEOUT_S,
                   explain=why)
        assert fresh(deployment).port_map == {"8000": serving["port"]}, why()
        eventually(stack, lambda: HealthCheck.objects.get(pk=check.pk).state == HealthState.UP, "health check up",
                   timeout=LAUNCH_TIMEOUT_S, explain=why)


def test_a_crashed_deployment_is_brought_back_by_auto_restart(autopilot_stack, team):
    """The process dies (its whole group killed): the check goes down, and auto-restart brings it
    back however the reconciler and the health checker interleave (the reconciler may see the
    instance failed before or after the restart is asked for)."""
    stack = autopilot_stack
    deployment = deploy_preset_here(team, name="llm-crash", ports=[free_port()])
    policy_enable(workspace=team["workspace"], user=team["admin"], slug="auto_restart", deployment=deployment)
    check = check_every_few_seconds(deployment)
    why = explain(deployment)
    eventually(stack, lambda: HealthCheck.objects.get(pk=check.pk).state == HealthState.UP, "health check up",
               timeout=LAUNCH_TIMEOUT_S, explain=why)
    crashed = local_state(stack.var_dir, fresh(deployment).instance_id)

    os.killpg(crashed["pgid"], signal.SIGKILL)
    eventually(stack, lambda: flips(check, HealthState.DOWN) == 1, "down flip", timeout=REACTION_TIMEOUT_S,
               explain=why)
    eventually(stack, lambda: HealthCheck.objects.get(pk=check.pk).state == HealthState.UP
               and fresh(deployment).status == Status.RUNNING, "running and up again",
               timeout=REACTION_TIMEOUT_S, explain=why)
    restarted = local_state(stack.var_dir, fresh(deployment).instance_id)
    assert restarted["pid"] != crashed["pid"] and answers(restarted["port"])
    assert runs_of(deployment, "auto_restart").get().outcome == RunOutcome.DONE
