"""The replacement deployment every moving operation launches and watches: picked from the
equivalent offers, launched as a copy of the source (the reconciler does the provider calls),
judged healthy or not, switched to (rules, budgets and health config follow it, the source is
deleted), or discarded. Every step is safe to repeat after a worker died half-way."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from automation.models import Budget, HealthCheck, HealthState, Operation, OperationState, Rule
from automation.orchestration import base
from automation.selectors.health import provider_unsure
from automation.selectors.offers import equivalent_offers
from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, Status
from deployments.reconciler.calls import call_timeout, provider_call
from deployments.services import deployment_action, deployment_create, secret_env_of
from pricing.models import Offer
from providers.adapters import NotFound, ProviderErrorBase
from providers.models import provider_display_name

BAD_STATUSES = (Status.FAILED, Status.PREEMPTED, Status.TERMINATED)
# One look at the old instance before deleting it: short, as it only asks "are you answering?".
ANSWERS_TIMEOUT_S = 5.0
HOLD_POLLS = 5  # a held delete asks the provider again every 5 polls (10 s), not every poll
HEALTH_CONFIG = ("enabled", "kind", "path", "port", "use_https", "interval_s", "timeout_s", "failures_to_down",
                 "successes_to_up", "migratable")


@dataclass(frozen=True)
class Verdict:
    healthy: bool = False
    bad: str = ""  # why the replacement will not do; empty while it may still come up


def offer_key(offer: Offer) -> str:
    return f"{offer.credential_id}|{offer.offer_id}|{int(offer.spot)}"


def candidates(source: Deployment, *, other_provider: bool = False, spot: bool | None = False,
               include_own: bool = False, exclude: tuple = ()) -> list[Offer]:
    """Equivalent offers cheapest first, without those already tried; `include_own` adds the
    source's own offer (a spot refill may bid on the very offer it lost)."""
    rows = list(equivalent_offers(deployment=source, other_provider=other_provider, spot=spot))
    if include_own:
        own = Offer.objects.filter(workspace_id=source.workspace_id, credential_id=source.credential_id,
                                   offer_id=source.offer_id).exclude(available=0).select_related("credential")
        rows += [o for o in own if spot is None or o.spot == spot]
    rows = [o for o in rows if offer_key(o) not in exclude]
    return sorted(rows, key=lambda o: (o.price_per_hour, o.pk))


def bid_for(offer: Offer) -> float | None:
    """Spot launches bid the offer's current minimum (its price when it lists none)."""
    if not offer.spot:
        return None
    return offer.min_bid_per_hour if offer.min_bid_per_hour is not None else offer.price_per_hour


def launch(op: Operation, offer: Offer) -> str:
    """Launch the replacement on `offer` and record it on the operation in ONE transaction, so a
    worker dying in between leaves neither (never a replacement nobody knows about). Returns ""
    when launched, else why the launch was refused."""
    source, tried = op.source, [*op.data.get("tried", []), offer_key(offer)]
    try:
        with transaction.atomic():
            replacement = _create_copy(source, offer)
            copy_health_config(source, replacement)
            base.wait(op, OperationState.WAITING, replacement=replacement, attempts=op.attempts + 1,
                      deadline=base.deadline_from_now(),
                      data={**op.data, "tried": tried, "running_seen": 0, "offer": _describe(offer)})
    except ApplicationError as exc:
        base.save_data(op, tried=tried)
        return exc.message
    base.note_both(op, f"{_verb(op)}: launching a replacement on {base.where(replacement)}",
                   replacement_id=str(replacement.pk))
    return ""


def _verb(op: Operation) -> str:
    return {"migrate": "Price migration", "failover": "Failover", "refill": "Spot refill"}.get(op.kind, op.kind)


def _describe(offer: Offer) -> dict:
    return {"provider": offer.provider, "offer_id": offer.offer_id, "credential_id": str(offer.credential_id),
            "spot": offer.spot, "price_per_hour": offer.price_per_hour, "bid_per_hour": bid_for(offer)}


def _create_copy(source: Deployment, offer: Offer) -> Deployment:
    return deployment_create(
        workspace=source.workspace, user=None, credential=offer.credential, offer_id=offer.offer_id,
        name=source.name, image=source.image, command=source.command, env=source.env,
        secret_env=secret_env_of(source), ports=source.ports, disk_gb=source.disk_gb, template=source.template,
        spot=offer.spot, bid_per_hour=bid_for(offer))


def copy_health_config(source: Deployment, replacement: Deployment, fields: tuple = HEALTH_CONFIG) -> None:
    """The replacement is checked the way the source was (its state starts fresh)."""
    check = HealthCheck.objects.filter(deployment=source).first()
    if check is not None:
        HealthCheck.objects.update_or_create(
            deployment=replacement, defaults={"workspace_id": replacement.workspace_id,
                                              **{name: getattr(check, name) for name in fields}},
            create_defaults={"workspace_id": replacement.workspace_id, "next_check_at": timezone.now(),
                             **{name: getattr(check, name) for name in fields}})


def verdict(op: Operation, *, require_health: bool = True) -> Verdict:
    """Healthy: running and its health check up (or, without one, running on two looks and for
    the settle time). Bad: failed, preempted, gone, deleted, or not healthy by the deadline."""
    replacement = Deployment.objects.get(pk=op.replacement_id)
    op.replacement = replacement
    if replacement.desired_state == DesiredState.DELETED:
        return Verdict(bad="the replacement was deleted")
    if replacement.status in BAD_STATUSES:
        detail = f" ({replacement.last_error})" if replacement.last_error else ""
        return Verdict(bad=f"the replacement {Status(replacement.status).label.lower()}{detail}")
    if replacement.status == Status.RUNNING and _healthy(op, replacement, require_health):
        return Verdict(healthy=True)
    if base.past_deadline(op):
        minutes = round(base.launch_timeout_s() / 60, 1)
        return Verdict(bad=f"the replacement did not become healthy within {minutes:g} min")
    return Verdict()


def _healthy(op: Operation, replacement: Deployment, require_health: bool) -> bool:
    seen = op.data.get("running_seen", 0) + 1
    base.save_data(op, running_seen=seen)
    check = HealthCheck.objects.filter(deployment=replacement, enabled=True).first()
    if require_health and check is not None:
        return check.state == HealthState.UP
    settle_s = float(getattr(settings, "COMPUTEHUB_REPLACEMENT_SETTLE_S", 60))
    running_for = (timezone.now() - replacement.running_since).total_seconds() if replacement.running_since else 0
    return not require_health or (seen >= 2 and running_for >= settle_s)


def discard(op: Operation, why: str) -> None:
    """Delete the replacement (the reconciler terminates it) and say why on both timelines."""
    replacement = Deployment.objects.get(pk=op.replacement_id)
    _delete(replacement)
    base.note_both(op, f"{_verb(op)}: deleting the replacement on {base.where(replacement)}: {why}")


def _delete(deployment: Deployment) -> None:
    deployment.refresh_from_db()
    if deployment.desired_state != DesiredState.DELETED:
        try:
            deployment_action(deployment=deployment, action="delete", user=None)
        except ApplicationError:  # deleted meanwhile by someone else: the outcome wanted anyway
            pass


def switch(op: Operation) -> None:
    """Rules, budgets and health config follow the replacement, the source's check goes quiet (its
    deletion is not an outage), then the source is deleted. Repeatable after a crash."""
    base.save(op, state=OperationState.SWITCHING)
    source, replacement = op.source, Deployment.objects.get(pk=op.replacement_id)
    with transaction.atomic():
        moved_rules = Rule.objects.filter(deployment=source).update(deployment=replacement)
        moved_budgets = Budget.objects.filter(deployment=source).update(deployment=replacement)
        # Not `enabled`: a repeated switch would copy the source's check already switched off.
        copy_health_config(source, replacement, tuple(f for f in HEALTH_CONFIG if f != "enabled"))
        HealthCheck.objects.filter(deployment=source).update(enabled=False)
    if provider_unsure(source) or not provider_answers(source):
        _hold_delete(op, source)
        return
    _delete(source)
    base.note_both(op, f"{_verb(op)}: switched to {base.where(replacement)} (rules moved: {moved_rules}, "
                       f"budgets moved: {moved_budgets}); deleting the old deployment")
    base.wait(op, OperationState.CONFIRMING)


def provider_answers(deployment: Deployment) -> bool:
    """One cheap read of its instance at the provider. Nobody may have noticed an outage that
    began a moment ago (a preempted instance is rarely looked at), and a delete asked then would
    hit a provider that cannot carry it out: it waits until this read succeeds."""
    if not deployment.instance_id or deployment.status == Status.TERMINATED:
        return True  # nothing at the provider to delete
    try:
        with call_timeout(ANSWERS_TIMEOUT_S):
            provider_call(deployment.credential, "get_instance", deployment.instance_id)
    except NotFound:
        return True  # it answered: the instance is already gone
    except (ProviderErrorBase, TimeoutError):
        return False
    return True


def _hold_delete(op: Operation, source: Deployment) -> None:
    """The old one's provider is not answering: its delete waits until it does (no destructive
    call during an outage); the replacement already serves."""
    if not op.data.get("delete_held"):
        base.save_data(op, delete_held=True)
        base.note_both(op, f"{_verb(op)}: switched to {base.where(op.replacement)}; the old deployment is "
                           f"deleted once {provider_display_name(source.provider)} answers again")
    base.wait(op, after_s=base.poll_s() * HOLD_POLLS)


def source_gone(op: Operation) -> bool:
    op.source.refresh_from_db()
    return op.source.status == Status.TERMINATED


def source_abandoned(op: Operation) -> bool:
    """The person stopped or deleted the deployment while a replacement was coming up (a cost
    cap may have stopped it): a running copy is no longer wanted, so stop moving it."""
    op.source.refresh_from_db()
    return op.source.desired_state != DesiredState.RUNNING


def advance_move(op: Operation, *, launch: Callable[[Operation], None], watch: Callable[[Operation], None],
                 done_message: Callable[[Operation], str]) -> None:
    """The states every moving operation walks through: the kind supplies how it launches, how
    it watches the replacement and how it words success; switching and confirming are shared."""
    if op.state == OperationState.LAUNCHING:
        launch(op)
    elif op.state == OperationState.WAITING:
        watch(op)
    elif op.state == OperationState.SWITCHING:
        switch(op)
    elif op.state == OperationState.CONFIRMING:
        _confirm(op, done_message)


def _confirm(op: Operation, done_message: Callable[[Operation], str]) -> None:
    """Done once the source is terminated (the reconciler deletes it); until then look again."""
    if not source_gone(op):
        base.wait(op)
        return
    base.finish(op, OperationState.DONE, done_message(op))


def stopped_if_abandoned(op: Operation) -> bool:
    """When the source was stopped or deleted meanwhile, discard the replacement and end the
    operation rolled back; True when it did."""
    if not source_abandoned(op):
        return False
    discard(op, "the deployment was stopped or deleted meanwhile")
    base.finish(op, OperationState.ROLLED_BACK, f"{_verb(op)} of {op.source.name} stopped: it was stopped or deleted")
    return True
