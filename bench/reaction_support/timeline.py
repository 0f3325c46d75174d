"""Per incident, the moments that matter, read after the run from two sources that share one
clock (time.time()): the bench's own records (when it broke the endpoint, every probe the
endpoint answered, when the sandbox received a restart or a launch) and the rows the production
processes wrote (flips, outbox events, the deployment timeline, operations).

Restart incident: fail → 3rd failed probe (endpoint) → down flip written (its outbox event's
created_at) → restart requested (the "Restart requested" timeline entry: restart_requested_at)
→ restart call received by the sandbox → check up again (the up flip: 2nd good probe).
Failover incident: as above up to the restart (which does not help), then the still_down event
→ the failover launch received by the other cloud → replacement running → its first probe →
its check up → switched (the source deleted) → operation done."""

from dataclasses import dataclass, field

from bench.reaction_support.world import Services


@dataclass
class Incident:
    deployment_id: str
    role: str
    name: str
    provider: str
    key: tuple
    failed_at: float
    moments: dict = field(default_factory=dict)  # name → epoch seconds
    outcome: str = ""  # failover: the operation's final state

    def __post_init__(self):
        self.moments.setdefault("failed_at", self.failed_at)

    def span(self, start: str, end: str) -> float | None:
        a, b = self.moments.get(start), self.moments.get(end)
        return b - a if a is not None and b is not None else None

    @property
    def complete(self) -> bool:
        return "up" in self.moments if self.role == "restart" else "replacement_up" in self.moments


def _epoch(value) -> float | None:
    return value.timestamp() if value is not None else None


def _first_after(times, since: float) -> float | None:
    return next((t for t in sorted(times) if t >= since), None)


def _failed_probes(services: Services, key: tuple, since: float) -> list[float]:
    return [t for t, ok in services.hits.get(key, []) if t >= since and not ok]


def _detection(incident: Incident, services: Services) -> None:
    from automation.models import AutomationEvent, EventType, Flip, HealthState

    failed = _failed_probes(services, incident.key, incident.failed_at)
    if len(failed) >= 3:
        incident.moments["probe3"] = failed[2]
    flip = (Flip.objects.filter(deployment_id=incident.deployment_id, new_state=HealthState.DOWN,
                                created_at__gte=_dt(incident.failed_at)).order_by("created_at").first())
    if flip is None:
        return
    incident.moments["flip_down"] = _epoch(flip.created_at)  # when the checker saw the 3rd failure
    event = AutomationEvent.objects.filter(type=EventType.DOWN, dedup_key=f"flip:{flip.pk}").first()
    if event is not None:
        incident.moments["down_written"] = _epoch(event.created_at)
        incident.moments["down_claimed"] = _epoch(event.claimed_at)  # the rules lane picked it up


def _restart(incident: Incident, services: Services) -> None:
    from deployments.models import DeploymentEvent, EventKind

    requested = (DeploymentEvent.objects.filter(deployment_id=incident.deployment_id, kind=EventKind.ACTION,
                                                message="Restart requested", created_at__gte=_dt(incident.failed_at))
                 .order_by("created_at").first())
    if requested is not None:
        incident.moments["requested"] = _epoch(requested.created_at)
        # The reconcile the request queued starts by reading the instance (then restarts it).
        incident.moments["observe"] = _first_after(services.reads.get(incident.key, []), incident.moments["requested"])
    call = _first_after(services.restarts.get(incident.key, []), incident.failed_at)
    if call is not None:
        incident.moments["call"] = call


def _recovery(incident: Incident) -> None:
    from automation.models import Flip, HealthState

    since = incident.moments.get("flip_down")
    if since is None:
        return
    flip = (Flip.objects.filter(deployment_id=incident.deployment_id, new_state=HealthState.UP,
                                created_at__gt=_dt(since)).order_by("created_at").first())
    if flip is not None:
        incident.moments["up"] = _epoch(flip.created_at)


def _still_down(incident: Incident, services: Services) -> None:
    from automation.models import AutomationEvent, EventType

    event = (AutomationEvent.objects.filter(type=EventType.STILL_DOWN, deployment_id=incident.deployment_id,
                                            created_at__gte=_dt(incident.failed_at)).order_by("created_at").first())
    if event is None:
        return
    incident.moments["still_down_written"] = _epoch(event.created_at)
    before = [t for t in _failed_probes(services, incident.key, incident.failed_at) if t <= _epoch(event.created_at)]
    if before:
        incident.moments["still_down_probe"] = before[-1]  # the failed probe that made it due


def _failover(incident: Incident, services: Services) -> None:
    from automation.models import Operation

    op = Operation.objects.filter(kind="failover", source_id=incident.deployment_id).select_related(
        "replacement").order_by("started_at").first()
    if op is None:
        return
    incident.moments["operation_started"] = _epoch(op.started_at)
    incident.moments["operation_done"] = _epoch(op.finished_at)
    incident.outcome = op.state
    if op.replacement is not None:
        _replacement(incident, op.replacement, services)


def _replacement(incident: Incident, replacement, services: Services) -> None:
    from automation.models import Flip, HealthState
    from deployments.models import DeploymentEvent, EventKind

    key = (replacement.provider, replacement.instance_id)
    incident.moments["launch_call"] = services.created.get(key)
    running = (DeploymentEvent.objects.filter(deployment=replacement, kind=EventKind.STATUS, data__to="running")
               .order_by("created_at").first())
    incident.moments["replacement_running"] = _epoch(running.created_at) if running else None
    hits = services.hits.get(key, [])
    incident.moments["replacement_first_probe"] = hits[0][0] if hits else None
    up = Flip.objects.filter(deployment=replacement, new_state=HealthState.UP).order_by("created_at").first()
    incident.moments["replacement_up"] = _epoch(up.created_at) if up else None
    switched = (DeploymentEvent.objects.filter(deployment_id=incident.deployment_id, kind=EventKind.AUTOMATION,
                                               message__contains="switched to").order_by("created_at").first())
    incident.moments["switched"] = _epoch(switched.created_at) if switched else None


def _dt(epoch: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc)


def read(incident: Incident, services: Services) -> Incident:
    _detection(incident, services)
    _restart(incident, services)
    _recovery(incident)
    if incident.role == "failover":
        _still_down(incident, services)
        _failover(incident, services)
    incident.moments = {k: v for k, v in incident.moments.items() if v is not None}
    return incident


def finished(incident: Incident) -> bool:
    """Cheap look during the run: has this incident ended (check up again / operation finished)?"""
    from automation.models import Flip, HealthState, Operation

    if incident.role == "restart":
        return Flip.objects.filter(deployment_id=incident.deployment_id, new_state=HealthState.UP,
                                   created_at__gt=_dt(incident.failed_at)).exists()
    return Operation.objects.filter(kind="failover", source_id=incident.deployment_id,
                                    finished_at__isnull=False).exists()
