"""Reads of deployments. Every read is scoped to a workspace."""

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from accounts.selectors import membership_get
from deployments.models import Deployment, DeploymentEvent, DesiredState, Status
from pricing.filters import OfferFilters
from pricing.models import Offer
from pricing.selectors import offer_search, offers_for_workspace
from providers.adapters import adapter_class
from providers.models import ProviderKind

ACTIONS = ("start", "stop", "restart", "delete")
GONE = "This deployment has been deleted."
ENDED = "The instance has ended; delete this deployment and deploy again."


def deployments_for_workspace(*, workspace) -> QuerySet[Deployment]:
    return Deployment.objects.filter(workspace=workspace).select_related("credential")


GONE_Q = Q(desired_state=DesiredState.DELETED, status=Status.TERMINATED)


def deployments_listed(*, workspace, include_gone: bool = False) -> QuerySet[Deployment]:
    """The list page's rows: deleted deployments whose instance is confirmed gone only on request."""
    listed = deployments_for_workspace(workspace=workspace).select_related("template")
    return listed if include_gone else listed.exclude(GONE_Q)


def deployments_summary(*, workspace) -> dict:
    """Counts (all, running, deleted) and spend so far, in one query however many deployments."""
    return Deployment.objects.filter(workspace=workspace).aggregate(
        total=Count("pk"),
        running=Count("pk", filter=Q(status=Status.RUNNING)),
        spend=Sum("spend_usd", default=0.0),
        gone=Count("pk", filter=GONE_Q),
    )


def deployment_get(*, workspace, deployment_id) -> Deployment:
    """404 for another workspace's deployment, exactly as for one that does not exist."""
    try:
        deployment = deployments_for_workspace(workspace=workspace).filter(pk=deployment_id).first()
    except (ValueError, TypeError, ValidationError):  # not a UUID: the same 404
        deployment = None
    if deployment is None:
        raise Http404("No such deployment.")
    return deployment


def deployment_intent_q(deployment: Deployment) -> Q:
    """Matches the row only while the person's request (desired state and restart request) is
    still what `deployment` holds: writers that read the row make their UPDATE conditional on it,
    so an action taken meanwhile is never undone or overwritten."""
    restart = (Q(restart_requested_at__isnull=True) if deployment.restart_requested_at is None
               else Q(restart_requested_at=deployment.restart_requested_at))
    return Q(pk=deployment.pk, desired_state=deployment.desired_state) & restart


def deployment_for_member(*, user, deployment_id) -> Deployment | None:
    """The deployment when `user` is a member of its workspace; None when it is missing, foreign
    or the id is not a UUID, so a caller cannot tell those apart (the socket's 4403)."""
    try:
        deployment = Deployment.objects.filter(pk=deployment_id).select_related("workspace").first()
    except (ValueError, TypeError, ValidationError):
        return None
    if deployment is None or membership_get(user=user, workspace=deployment.workspace) is None:
        return None
    return deployment


def deployment_events(*, deployment) -> QuerySet[DeploymentEvent]:
    return DeploymentEvent.objects.filter(deployment=deployment).select_related("actor").order_by("id")


def _capability_reason(provider: str, action: str) -> str | None:
    try:
        return adapter_class(provider).capabilities.reason(action)
    except KeyError:
        return f"ComputeHub has no adapter for {provider!r}."


def restartable(deployment: Deployment) -> bool:
    """Running, or failed with its instance still there (a crashed process, an exited container):
    a restart is how people and auto-restart bring it back."""
    return deployment.status == Status.RUNNING or (deployment.status == Status.FAILED and bool(deployment.instance_id))


def _state_reason(deployment: Deployment, action: str) -> str | None:
    """Why `action` makes no sense in the deployment's current state, or None."""
    desired, status = deployment.desired_state, deployment.status
    if status == Status.TERMINATED and action != "delete":
        return ENDED
    if action == "start" and desired == DesiredState.RUNNING:
        return "It is already running or starting."
    if action == "stop" and desired == DesiredState.STOPPED:
        return "It is already stopped or stopping."
    if action == "restart" and (desired != DesiredState.RUNNING or not restartable(deployment)):
        return "Only a running (or crashed) deployment can be restarted."
    if action == "restart" and deployment.restart_requested_at is not None:
        return "A restart is already on its way."
    return None


def deployment_actions(deployment: Deployment) -> dict[str, str | None]:
    """action → None when allowed now, else the reason to show beside a disabled button. The
    provider's inability comes first: it is the more useful explanation."""
    if deployment.desired_state == DesiredState.DELETED:
        return {action: GONE for action in ACTIONS}
    return {action: _capability_reason(deployment.provider, action) or _state_reason(deployment, action)
            for action in ACTIONS}


def template_offers(*, workspace, template, limit: int) -> list[Offer]:
    """The cheapest offers per GPU-hour meeting the template's VRAM, plus this machine when the
    template can run locally (its offer is free, and may have no GPU to filter on)."""
    filters = OfferFilters(min_vram_gb=template.min_vram_gb or None, sort="gpu_price")
    remote = offer_search(workspace=workspace, filters=filters).exclude(provider=ProviderKind.LOCAL)
    offers = list(remote.select_related("credential")[:limit])
    if template.local_command:
        local = offers_for_workspace(workspace=workspace).filter(provider=ProviderKind.LOCAL)
        offers = list(local.select_related("credential")[:1]) + offers
    return offers
