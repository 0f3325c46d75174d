"""Steps the real loops through one scenario on the fake clock: the health checker's claim/write
path (the probe itself simulated from the sandbox's state), the reconciler sweep, the rules
engine, the operations lane, budgets, the cost meter and the periodic triggers. Time jumps to the
next moment something is due (rounded to QUANTUM_S); while nothing is wrong and nothing is moving
it jumps straight to the next fault or happening. Every tick the invariants are watched (see
observe.py). The orphan scan runs when the scenario is judged and after its cleanup (in
production every 5 minutes): it can only find what is there then."""

import math

from django.utils import timezone

from bench.chaos_support.killer import Killed
from bench.chaos_support.observe import Observer
from bench.chaos_support.scenarios import Spec
from bench.chaos_support.world import World

QUANTUM_S = 30.0
EPSILON_S = 0.5  # a fault or happening due this close to now is due now (the clock is a float)
MAX_STEP_S = 30.0
# Lanes only some scenarios' rules use; one with nothing to act on in a scenario is not called
# (it would read its rules and find none).
PERIODIC = {"budgets": 10.0, "triggers": 60.0, "spend": 60.0}  # triggers: 15 s in production
SETTLE_S = 900.0
ENSURE_S = 60.0  # automation.health.checker.ENSURE_EVERY_S
CLEANUP_S = 600.0


class Driver:
    def __init__(self, world: World, killer, spec: Spec, workspace, user):
        self.world, self.killer, self.spec, self.workspace, self.user = world, killer, spec, workspace, user
        self.t0 = world.clock()
        self.last = dict.fromkeys(PERIODIC, -1e9)
        self.pending = list(spec.happenings)
        self.flaps = 0
        self.doomed: set[tuple[str, str]] = set()
        self.observer = Observer(self)
        self.ticks = 0
        self.kills = 0
        self.snap = self.snap_cache = None
        self.last_ensure = -1e9

    # --- time ----------------------------------------------------------------------------------

    def t(self) -> float:
        return self.world.clock() - self.t0

    def run_until(self, until: float, stop=None) -> bool:
        """Tick until scenario time `until`, or until `stop()` holds; True when it held."""
        while self.t() < until:
            self.tick()
            if stop is not None and stop():
                return True
            self.world.clock.advance(self.next_step(until) - self.t())
        return stop is not None and stop()

    def next_step(self, until: float) -> float:
        """The next tick: what the rows say is due, rounded up to the quantum (lanes that run every
        1-10 s in production run at most every QUANTUM_S here), but exactly at a scheduled fault,
        happening or budget check. A calm stretch is skipped (see _quiet_limit)."""
        now, snap = self.t(), self.snap or self.observer.snapshot()
        self.snap, self.snap_cache = None, snap
        due = min(now + MAX_STEP_S, self._next_due(now, snap))
        due = now + max(QUANTUM_S, math.ceil((due - now) / QUANTUM_S) * QUANTUM_S)
        exact = min(until, self._next_scheduled(now), self._budget_check(now))
        wake = min(due, exact)
        if self.observer.quiet(snap) and not self._faults_touch(snap, now):
            horizon = self.spec.horizon if now < self.spec.horizon else until
            wake = max(wake, min(exact, horizon, now + self._quiet_limit()))
        return max(now + 1.0, wake)

    def _faults_touch(self, snap: dict, now: float) -> bool:
        """Whether an active fault is on a cloud this workspace has a deployment on (a calm
        workspace calls no other cloud, so a fault elsewhere cannot change anything yet)."""
        clouds = {d.provider for d in snap["deployments"]}
        return any(f.active(now + EPSILON_S) and f.cloud in clouds for f in self.spec.faults)

    def _quiet_limit(self) -> float:
        """How far a calm stretch may be skipped: up to a minute before a running capped
        deployment reaches its cap, and a minute at a time while a cheaper offer is being timed
        by the price trigger (it must see the streak); otherwise to the next scheduled change."""
        if self.spec.kind == "cost_cap":
            return max(0.0, self._seconds_to_cap() - 60.0)
        if self.spec.kind == "migration" and self._cheaper_elsewhere():
            return 60.0
        return 1e9

    def _seconds_to_cap(self) -> float:
        running = [d for d in (self.snap_cache or {}).get("deployments", []) if d.status == "running"]
        if not running or not self.observer.spend:
            return 1e9
        left = self.spec.params.get("limit_usd", 0) - self.observer.spend[-1][1]
        price = sum(d.price_per_hour for d in running)
        return max(0.0, left / price * 3600) if price > 0 else 1e9

    def _cheaper_elsewhere(self) -> bool:
        from automation.selectors.offers import equivalent_offers, saving_percent

        for deployment in (self.snap_cache or {}).get("deployments", []):
            if deployment.status == "running":
                offer = equivalent_offers(deployment=deployment, spot=deployment.spot).first()
                if offer and saving_percent(deployment.price_per_hour, offer.price_per_hour) >= 20:
                    return True
        return False

    def _next_scheduled(self, now: float) -> float:
        marks = [h.at for h in self.pending]
        marks += [m for f in self.spec.faults for m in (f.start, f.end) if m > now + EPSILON_S]
        return min(marks, default=1e12)

    def _next_due(self, now: float, snap: dict) -> float:
        due = self.observer.next_due(snap)  # seconds from now, from the rows
        periodic = [self.last["triggers"] + PERIODIC["triggers"]] if self._lane_matters("triggers") else []
        if any(check.next_check_at is None for check in snap["checks"].values()):
            periodic.append(self.last_ensure + ENSURE_S)
        return min([now + due, *periodic])

    def _budget_check(self, now: float) -> float:
        """Near the cap, the budget check's own cadence and whatever the rows say is due next
        (the engine, the stop's operation, the reconciler making the stop call): they decide how
        far past the cap spend goes, so they are not rounded to the quantum."""
        if self.spec.kind != "cost_cap" or self._seconds_to_cap() >= 120:
            return 1e12
        due = now + self.observer.next_due(self.snap_cache or self.observer.snapshot())
        return max(now + 1.0, min(due, self.last["budgets"] + PERIODIC["budgets"]))

    def _lane_matters(self, name: str) -> bool:
        return {"budgets": self.spec.kind == "cost_cap", "spend": self.spec.kind == "cost_cap",
                "triggers": self.spec.kind == "migration"}[name]

    # --- one tick ------------------------------------------------------------------------------

    def tick(self) -> None:
        self.ticks += 1
        self.apply_faults()
        self.apply_happenings()
        from automation.engine import process_events
        from automation.orchestration import advance_operations
        from deployments.reconciler import sweep

        # A lane whose rows say nothing is due is not called: its own query would find nothing.
        snap, now = self.snap_cache or self.observer.snapshot(), timezone.now()
        if self._checks_due(snap, now):
            self.lane(self.health_round)
        if self._reconcile_due(snap, now):
            self.lane(sweep)
        acted = self.lane(process_events)
        if acted or any(op["finished_at"] is None for op in snap["ops"]):
            acted += self.lane(advance_operations)
        if acted:
            self.lane(sweep)  # what the events and operations just asked for (a reconcile_soon's worker)
        if self.periodic():
            self.lane(process_events)
        self.snap = self.snap_cache = self.observer.snapshot()
        self.observer.observe(self.snap)

    def _checks_due(self, snap: dict, now) -> bool:
        checks = snap["checks"].values()
        if any(c.next_check_at is None or c.next_check_at <= now for c in checks):
            return True
        wanted = [d for d in snap["deployments"] if d.desired_state == "running" and d.pk not in snap["checks"]]
        return bool(wanted) and self.t() - self.last_ensure >= ENSURE_S

    def _reconcile_due(self, snap: dict, now) -> bool:
        return any(d.next_attempt_at is None or d.next_attempt_at <= now or
                   (d.lease_until is not None and d.lease_until <= now) for d in snap["deployments"])

    def lane(self, function) -> int:
        """Run one lane's call; how much it did (0 when it says nothing, or its worker was killed)."""
        try:
            done = function()
        except Killed as killed:
            self.kills += 1
            if str(killed).startswith("reconcile"):
                self.killer.bury(timezone.now())
            return 0
        return done if isinstance(done, int) else 1

    def periodic(self) -> int:
        from automation.services.budgets import check_budgets
        from automation.triggers import run_periodic_triggers
        from deployments.services.spend import accrue_running_spend

        lanes = {"budgets": check_budgets, "triggers": lambda: sum(
            n for n in run_periodic_triggers().values() if isinstance(n, int)), "spend": accrue_running_spend}
        emitted = 0
        for name, every in PERIODIC.items():
            if self._lane_matters(name) and self.t() - self.last[name] >= every:
                self.last[name] = self.t()
                emitted += self.lane(lanes[name]) if name != "spend" else 0 * self.lane(lanes[name])
        return emitted

    # --- the health checker, with the probe simulated --------------------------------------------

    def health_round(self) -> None:
        """The checker loop's round: checks for new deployments (every ENSURE_S), then the due ones."""
        from automation.health import claims

        now = timezone.now()
        if self.t() - self.last_ensure >= ENSURE_S:
            self.last_ensure = self.t()
            claims.ensure_checks()
        batch = claims.claim_batch(now=now, limit=500)
        if batch:
            claims.write_results([(check, self.probe(check, target), now) for check, target in batch])

    def probe(self, check, target):
        from automation.health.probes import FAIL, OK, ProbeResult
        from automation.health.targets import DEAD
        from automation.models import ProbeKind

        deployment = check.deployment
        if target.skip:
            return None
        if check.kind == ProbeKind.PROVIDER or deployment.status in DEAD:
            return target.result
        if self.flaps > 0:
            self.flaps -= 1
            return ProbeResult(FAIL, "HTTP 502 on / (a hiccup)", 3.0)
        return ProbeResult(OK, "", 5.0) if self.serving(deployment) else \
            ProbeResult(FAIL, "Connection refused on /", 1.0)

    def serving(self, deployment) -> bool:
        """The service answers: its instance runs (booted) at the cloud and nothing broke it."""
        cloud = self.world.clouds.get(deployment.provider)
        instance = cloud.instances.get(str(deployment.instance_id)) if cloud and deployment.instance_id else None
        if instance is None or instance.state != "running" or not instance.booted(cloud.now()):
            return False
        return instance.id not in self.world.broken and (deployment.provider, deployment.offer_id) not in self.doomed

    # --- faults and happenings -----------------------------------------------------------------

    def apply_faults(self) -> None:
        now = self.t()
        for name, cloud in self.world.clouds.items():
            active = [f for f in self.spec.faults if f.cloud == name and f.active(now + EPSILON_S)]
            values = {f.knob: f.value for f in active}
            cloud.faults.outage = bool(values.get("outage", False))
            cloud.faults.error_rate = float(values.get("error_rate", 0.0))
            cloud.faults.rate_limit_every = int(values.get("rate_limit_every", 0))
            cloud.faults.capacity_error = bool(values.get("capacity_error", False))
            self.world.chaos.timeout_rate[name] = float(values.get("timeout_rate", 0.0))

    def clear_faults(self) -> None:
        self.spec.faults = [f for f in self.spec.faults if f.end <= self.t()]
        self.apply_faults()

    def apply_happenings(self) -> None:
        while self.pending and self.pending[0].at <= self.t() + EPSILON_S:
            happening = self.pending.pop(0)
            getattr(self, f"do_{happening.what}")(happening.arg)

    def live(self):
        """The scenario's deployment now: the newest of its lineage that is not deleted."""
        from deployments.models import Deployment, DesiredState

        rows = Deployment.objects.filter(workspace=self.workspace).exclude(desired_state=DesiredState.DELETED)
        return rows.order_by("-created_at").first()

    def do_die_crash(self, arg) -> None:
        self._break("crash")

    def do_die_host(self, arg) -> None:
        self._break("host")

    def _break(self, how: str) -> None:
        deployment = self.live()
        if deployment is not None and deployment.instance_id:
            self.world.broken[str(deployment.instance_id)] = how
            self.observer.note(f"service died ({how})")

    def do_service_flap(self, arg) -> None:
        self.flaps += 1

    def do_preempt(self, arg) -> None:
        deployment = self.live()
        if deployment is not None:
            self.observer.note(f"preempted {self.world.preempt(deployment.provider)} spot instance(s)")

    def do_kill(self, point: str) -> None:
        self.killer.arm(point)

    def do_price_drop(self, arg) -> None:
        from automation.selectors.offers import equivalent_offers

        deployment = self.live()
        offers = list(equivalent_offers(deployment=deployment, spot=deployment.spot)) if deployment else []
        if not offers:
            self.observer.note("no equivalent offer to cut the price of")
            return
        self.spec.params["live_at_drop"] = deployment.pk
        elsewhere = [o for o in offers if o.provider != deployment.provider] or offers
        target = elsewhere[int(self.spec.seed) % len(elsewhere)]
        self.spec.params["target"] = (target.pk, target.price_per_hour)
        new_price = round(deployment.price_per_hour * (1 - self.spec.params["saving"]), 4)
        type(target).objects.filter(pk=target.pk).update(price_per_hour=new_price,
                                                         price_per_gpu_hour=new_price / max(1, target.gpu_count))
        if self.spec.params["variant"] == "unhealthy_target":
            self.doomed |= {(o.provider, o.offer_id) for o in offers}

    def do_price_back(self, arg) -> None:
        from pricing.models import Offer

        pk, price = self.spec.params.get("target", (None, None))
        if pk is not None:
            Offer.objects.filter(pk=pk).update(price_per_hour=price, price_per_gpu_hour=price)

    # --- the end ---------------------------------------------------------------------------------

    def settle(self) -> bool:
        """Faults off; run until nothing moves (or SETTLE_S); True when it settled."""
        self.snap = self.snap_cache = None
        self.clear_faults()
        self.pending = [h for h in self.pending if h.what in ("price_back",)]
        return self.run_until(self.t() + SETTLE_S, stop=self.observer.settled)

    def cleanup(self) -> None:
        """The person deletes everything; the loops terminate it and the orphan scan runs."""
        from deployments.models import Deployment, DesiredState, Status
        from deployments.reconciler import reconcile_orphans
        from deployments.services import deployment_action

        self.snap = self.snap_cache = None  # the person's requests change what is due
        for deployment in Deployment.objects.filter(workspace=self.workspace).exclude(
                status=Status.TERMINATED).exclude(desired_state=DesiredState.DELETED):
            try:
                deployment_action(deployment=deployment, action="delete", user=self.user)
            except Exception as exc:  # noqa: BLE001 - a refusal is an outcome, recorded
                self.observer.note(f"delete refused: {exc}")
        self.run_until(self.t() + CLEANUP_S, stop=self.observer.all_terminated)
        self.lane(lambda: reconcile_orphans(force=True))
