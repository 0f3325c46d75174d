"""What is watched at every tick of a scenario, and when the loops next have something to do.

- duplicates: two live instances carrying one deployment's tag (a double create), or two copies
  of the scenario's service running at the clouds for longer than GRACE_S with no operation in
  flight (make-before-break allows two only while it switches); time a cloud is in outage does
  not count, as nothing can be terminated there then;
- destructive during outage: a stop / restart / delete asked by automation (an ACTION event
  without a person), or a failover / migration started, on a deployment whose provider is in
  outage while its health is unknown (the provider not answering); a cost cap's stop (the
  person's budget asks for it, not the health) and an operation deleting the replacement it
  launched and is rolling back (never the person's service) are legitimate and counted apart;
- spend: the deployments' meter every tick (the cost cap's overspend is judged from it)."""

from datetime import timedelta

from django.utils import timezone

GRACE_S = 120.0
# What the snapshot reads (the rows have large JSON columns nobody here needs).
DEPLOYMENT_FIELDS = ("workspace_id", "credential_id", "name", "provider", "offer_id", "instance_id", "status",
                     "desired_state", "restart_requested_at", "attempts", "lease_owner", "lease_until",
                     "next_attempt_at", "gpu_model", "gpu_count", "vram_gb", "spot", "price_per_hour", "spend_usd",
                     "spend_accrued_at", "running_since", "created_at")
CHECK_FIELDS = ("deployment_id", "enabled", "state", "consecutive_failures", "unknown_since", "next_check_at")


def _check(deployment):
    from automation.models import HealthCheck

    try:
        return deployment.health
    except HealthCheck.DoesNotExist:
        return None
DESTRUCTIVE = ("stop", "restart", "delete")


class Observer:
    def __init__(self, driver):
        self.driver = driver
        self.world = driver.world
        self.workspace = driver.workspace
        self.notes: list[str] = []
        self.tag_duplicates: set[str] = set()
        self.double_since: float | None = None
        self.double_running: set[str] = set()
        self.destructive: list[str] = []
        self.legit_in_outage: list[str] = []
        self.automation_actions: list[str] = []
        self.spend: list[tuple[float, float, bool]] = []  # (t, spend, provider in outage)
        self.last_event_id = 0
        self.seen_operations: set[int] = set()
        self.outage_s = 0.0

    def note(self, text: str) -> None:
        self.notes.append(f"t={self.driver.t():.0f}s {text}")

    # --- rows ----------------------------------------------------------------------------------

    def deployments(self):
        from deployments.models import Deployment

        return Deployment.objects.filter(workspace=self.workspace)

    def open_operations(self):
        from automation.models import Operation

        return Operation.objects.filter(workspace=self.workspace, finished_at__isnull=True)

    def unprocessed_events(self):
        from automation.models import AutomationEvent

        return AutomationEvent.objects.filter(workspace=self.workspace, processed_at__isnull=True)

    # --- one read of the workspace's moving parts per tick --------------------------------------

    def snapshot(self) -> dict:
        from automation.models import AutomationEvent, Operation
        from deployments.models import Deployment, Status

        deployments = list(Deployment.objects.filter(workspace=self.workspace).exclude(status=Status.TERMINATED)
                           .select_related("health").only(*DEPLOYMENT_FIELDS, *(f"health__{f}" for f in CHECK_FIELDS)))
        checks = {d.pk: d.health for d in deployments if _check(d) is not None and d.health.enabled}
        ops = list(Operation.objects.filter(workspace=self.workspace).values(
            "pk", "kind", "source_id", "finished_at", "next_step_at", "lease_until"))
        events = list(AutomationEvent.objects.filter(workspace=self.workspace, processed_at__isnull=True)
                      .values_list("claimed_at", flat=True))
        return {"deployments": deployments, "checks": checks, "ops": ops, "events": events}

    def next_due(self, snap: dict) -> float:
        """Seconds until the earliest moment a lane has work for this workspace."""
        from automation.engine.processor import STALE_CLAIM_S

        now = timezone.now()
        marks = [c.next_check_at for c in snap["checks"].values()]
        for d in snap["deployments"]:
            leased = d.lease_owner and d.lease_until and d.lease_until > now
            marks.append(d.lease_until if leased else (d.next_attempt_at or now))
        for op in snap["ops"]:
            if op["finished_at"] is None:
                leased = op["lease_until"] and op["lease_until"] > now
                marks.append(op["lease_until"] if leased else (op["next_step_at"] or now))
        for claimed in snap["events"]:
            marks.append(claimed + timedelta(seconds=STALE_CLAIM_S) if claimed else now + timedelta(seconds=1))
        seconds = [(m - now).total_seconds() for m in marks if m is not None]
        return max(0.0, min(seconds, default=1e9))

    # --- calm ------------------------------------------------------------------------------------

    def quiet(self, snap: dict | None = None) -> bool:
        """Nothing wrong and nothing moving: every deployment where it is wanted, its service as
        the checker sees it, no lease held, no event or operation pending."""
        from automation.models import HealthState
        from deployments.models import DesiredState

        snap = snap or self.snapshot()
        if snap["events"] or any(op["finished_at"] is None for op in snap["ops"]):
            return False
        for deployment in snap["deployments"]:
            if deployment.status != deployment.desired_state or deployment.restart_requested_at or \
                    deployment.attempts or deployment.lease_owner:
                return False
            if deployment.desired_state == DesiredState.RUNNING:
                check = snap["checks"].get(deployment.pk)
                if not self.driver.serving(deployment) or check is None or check.state != HealthState.UP or \
                        check.consecutive_failures or check.unknown_since:
                    return False
        return True

    def settled(self) -> bool:
        """Quiet, and nothing is still wrong at the clouds (a down service no one fixed is not calm)."""
        return self.quiet()

    def all_terminated(self) -> bool:
        from deployments.models import Status

        return not self.deployments().exclude(status=Status.TERMINATED).exists() and not self.open_operations().exists()

    # --- every tick ------------------------------------------------------------------------------

    def observe(self, snap: dict) -> None:
        live = self.world.live_instances()
        self._tag_duplicates(live)
        self._double_running(live, snap)
        self._destructive(snap)
        self._spend(snap)

    def _tag_duplicates(self, live) -> None:
        by_tag: dict[str, list[str]] = {}
        for cloud, instance_id, tag, state in live:
            by_tag.setdefault(tag, []).append(f"{cloud}:{instance_id}")
        for tag, instances in by_tag.items():
            if tag and len(instances) > 1:
                self.tag_duplicates.update(sorted(instances)[1:])

    def _double_running(self, live, snap: dict) -> None:
        running = [(cloud, instance_id) for cloud, instance_id, _, state in live if state == "running"]
        in_outage = any(self.world.outage(cloud) for cloud, _ in running)
        if len(running) < 2 or any(op["finished_at"] is None for op in snap["ops"]) or in_outage:
            self.double_since = None
            return
        now = self.driver.t()
        if self.double_since is None:
            self.double_since = now
        elif now - self.double_since > GRACE_S:
            wanted = {d.instance_id for d in snap["deployments"] if d.instance_id and d.desired_state != "deleted"}
            extras = [f"{c}:{i}" for c, i in running if i not in wanted] or [f"{c}:{i}" for c, i in running[1:]]
            if not self.double_running.issuperset(extras):
                self.note(f"two copies running for {now - self.double_since:.0f}s: {extras}")
            self.double_running.update(extras)

    def _destructive(self, snap: dict) -> None:
        from deployments.models import Deployment, DeploymentEvent, EventKind

        new = list(DeploymentEvent.objects.filter(deployment__workspace=self.workspace, kind=EventKind.ACTION,
                                                  actor__isnull=True, id__gt=self.last_event_id)
                   .values_list("id", "deployment_id", "data").order_by("id"))
        for event_id, deployment_id, data in new:
            self.last_event_id = event_id
            action = (data or {}).get("action")
            if action in DESTRUCTIVE and not (data or {}).get("refused"):
                self._judge(Deployment.objects.get(pk=deployment_id), action, cap=self._by_cap(deployment_id),
                            rollback=self._discarded(deployment_id))
        for op in snap["ops"]:
            if op["kind"] in ("failover", "migrate") and op["pk"] not in self.seen_operations:
                self.seen_operations.add(op["pk"])
                self._judge(Deployment.objects.get(pk=op["source_id"]), op["kind"], cap=False, rollback=False)

    def _by_cap(self, deployment_id) -> bool:
        from automation.models import Operation

        return Operation.objects.filter(source_id=deployment_id, kind="cap_stop").exists()

    def _discarded(self, deployment_id) -> bool:
        """A replacement an operation launched and is throwing away (it never became the service).
        The operation may already have moved on to its next try, so the replacements it launched
        are also read from its "launching a replacement" notes, not only from its current one."""
        from automation.models import Operation
        from deployments.models import DeploymentEvent

        noted = DeploymentEvent.objects.filter(deployment_id=deployment_id, data__replacement_id=str(deployment_id))
        launched_by = set(noted.values_list("data__operation", flat=True))
        launched_by |= set(Operation.objects.filter(replacement_id=deployment_id).values_list("pk", flat=True))
        became_service = Operation.objects.filter(pk__in=launched_by, replacement_id=deployment_id, state="done")
        return bool(launched_by) and not became_service.exists() and \
            not Operation.objects.filter(source_id=deployment_id).exclude(kind="cap_stop").exists()

    def _judge(self, deployment, action: str, *, cap: bool, rollback: bool) -> None:
        self.automation_actions.append(action)
        if not self.world.outage(deployment.provider) or not self._health_unknown(deployment):
            return
        if cap or rollback:  # the budget asked, or the operation discards its own failed replacement
            self.legit_in_outage.append(f"{'cap ' if cap else 'rollback '}{action}")
            return
        self.destructive.append(f"{action} on {deployment.provider}")
        self.note(f"automation asked to {action} {deployment.name} on {deployment.provider} during its outage")

    def _health_unknown(self, deployment) -> bool:
        from automation.health.probes import UNKNOWN
        from automation.health.targets import provider_verdict
        from automation.models import HealthCheck, ProbeKind

        deployment.refresh_from_db()
        check = HealthCheck.objects.filter(deployment=deployment).first()
        if check is None:
            return True
        if check.kind == ProbeKind.PROVIDER and provider_verdict(deployment).outcome == UNKNOWN:
            return True
        return check.last_result == UNKNOWN or check.unknown_since is not None or check.state != "down"

    def _spend(self, snap: dict) -> None:
        """What the budget check sees (automation.selectors.spend: the meter plus the running time
        since it last moved), from the rows already read."""
        if self.driver.spec.kind != "cost_cap":
            return
        from automation.selectors.spend import live_by_day

        now = timezone.now()
        total = sum(d.spend_usd + sum(live_by_day(d, now).values()) for d in snap["deployments"])
        self.spend.append((self.driver.t(), total, self.world.outage(self.driver.spec.provider)))
