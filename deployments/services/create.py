"""Launch: validate everything, then write the Deployment (desired running, status pending) and
its "created" event in one transaction, and wake the reconciler after commit. The reconciler,
not this code, talks to the provider, so a refused request leaves nothing behind anywhere."""

import json

from django.db import transaction

from computehub import crypto
from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.services import validation as v
from deployments.services.events import event_record
from deployments import templates_service  # a module, not a name: templates_service imports services too
from pricing.models import Offer
from providers.adapters import adapter_class
from providers.models import ProviderKind

SECRET_ENV_FIELD = "secret_env"


def secret_env_aad(deployment: Deployment) -> str:
    """"deployments.deployment.secret_env:<workspace>:<id>": the ciphertext opens only on this row."""
    return crypto.aad_for("deployments.Deployment", SECRET_ENV_FIELD, deployment.workspace_id, deployment.pk)


def secret_env_of(deployment: Deployment) -> dict[str, str]:
    """The decrypted secret variables, for the reconciler's create call only."""
    if not deployment.secret_env:
        return {}
    return json.loads(crypto.decrypt(deployment.secret_env, aad=secret_env_aad(deployment)))


def _check_credential(workspace, credential, errors: v.Errors) -> None:
    if credential is None or credential.workspace_id != workspace.pk:
        errors.add("credential", "Choose a provider account connected to this workspace.")
    elif credential.provider == ProviderKind.LOCAL and not v.local_provider_on():
        errors.add("credential", "This machine is disabled on this server (COMPUTEHUB_LOCAL_PROVIDER is off).")
    else:
        v.check_ssh_key(credential.provider, errors, workspace)


def _pick_offer(offers: list[Offer], spot: bool) -> Offer | None:
    """The listed row for the pricing asked for. Spot needs the spot row itself: it carries the
    minimum bid check_spot enforces, and the on-demand row has none to check against."""
    if spot:
        return next((o for o in offers if o.spot), None)
    return next((o for o in offers if not o.spot), offers[0])


def _check_offer(credential, offer_id, spot, errors: v.Errors) -> Offer | None:
    """The offer must still be listed for this account; This machine's single offer is implicit."""
    if "credential" in errors.fields or credential.provider == ProviderKind.LOCAL:
        return None
    offers = list(Offer.objects.filter(credential=credential, offer_id=offer_id)) if offer_id else []
    if not offers:
        errors.add("offer_id", "This offer is no longer available; refresh prices.")
        return None
    offer = _pick_offer(offers, bool(spot))
    if offer is None:
        errors.add("spot", "This offer has no spot option.")
    return offer


def _snapshot(offer: Offer | None, price_per_hour, gpu) -> dict:
    """What was rented, copied from the offer (offers come and go)."""
    if offer is None:
        return {"price_per_hour": float(price_per_hour or 0), "gpu_name": gpu or "", "gpu_count": 1 if gpu else 0}
    return {"price_per_hour": offer.price_per_hour if price_per_hour is None else float(price_per_hour),
            "region": offer.region, "gpu_model": offer.gpu_model, "gpu_name": gpu or offer.gpu_name,
            "gpu_count": offer.gpu_count, "vram_gb": offer.vram_gb}


def deployment_create(*, workspace, user, credential, offer_id, name, image, command=(), env=None,
                      secret_env=None, ports=(), disk_gb=50, spot=False, bid_per_hour=None, template=None,
                      price_per_hour=None, gpu=None) -> Deployment:
    """Validate everything first (ApplicationError with `fields`, nothing written), then write
    the deployment with desired_state=running and let the reconciler launch it."""
    errors = v.Errors()
    name = v.clean_name(name, errors)
    image = v.clean_image(image, errors)
    command = v.clean_command(command, errors)
    ports = v.clean_ports(ports, errors)
    env = v.clean_env(env, "env", errors)
    secret_env = v.clean_env(secret_env, "secret_env", errors)
    disk_gb = v.clean_disk(disk_gb, template, errors)
    _check_credential(workspace, credential, errors)
    offer = _check_offer(credential, offer_id, spot, errors)
    if "credential" not in errors.fields:
        min_bid = offer.min_bid_per_hour if offer is not None else None
        v.check_spot(spot=spot, bid_per_hour=bid_per_hour, capabilities=adapter_class(credential.provider).capabilities,
                     min_bid=min_bid, errors=errors)
    errors.raise_if_any()
    deployment = Deployment(
        workspace=workspace, credential=credential, template=template, name=name, provider=credential.provider,
        offer_id=offer_id or credential.provider, image=image, command=command, env=env, ports=ports,
        disk_gb=disk_gb, spot=bool(spot), bid_per_hour=bid_per_hour if spot else None,
        desired_state=DesiredState.RUNNING, status=Status.PENDING, created_by=user,
        **_snapshot(offer, price_per_hour, gpu))
    return _write(deployment, secret_env, user)


def _write(deployment: Deployment, secret_env: dict, user) -> Deployment:
    from deployments.tasks import reconcile_soon  # tasks import services; late to avoid a cycle

    if secret_env:  # the UUID pk exists before the first save, so the AAD can name the row
        deployment.secret_env = crypto.encrypt(json.dumps(secret_env), aad=secret_env_aad(deployment))
    with transaction.atomic():
        deployment.save(force_insert=True)
        event_record(deployment=deployment, kind=EventKind.CREATED, actor=user,
                     message=f"Launch requested on {deployment.credential.label} at ${deployment.price_per_hour:.2f}/h",
                     data={"offer_id": deployment.offer_id, "image": deployment.image, "spot": deployment.spot})
        reconcile_soon(deployment.pk)
    return deployment


def deployment_create_from_offer(*, workspace, user, offer: Offer, template=None, **overrides) -> Deployment:
    """Deploy `offer` (a pricing Offer row of this workspace), filling the form from `template`."""
    if offer.workspace_id != workspace.pk:
        raise ApplicationError("This offer is no longer available; refresh prices.",
                               fields={"offer_id": ["This offer is no longer available; refresh prices."]})
    params = {"name": offer.gpu_name or "deployment", "image": "", "disk_gb": 50,
              "spot": offer.spot} | templates_service.template_launch_defaults(template, offer.provider) | overrides
    return deployment_create(workspace=workspace, user=user, credential=offer.credential,
                             offer_id=offer.offer_id, template=template, **params)
