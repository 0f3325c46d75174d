"""Per process: Django on its own throwaway database, the world installed, the offer catalog read
once through the real pricing refresh. Per scenario: a fresh workspace with a Sandbox account per
cloud and a copy of that catalog (a refresh per scenario would cost more than the scenario), the
deployment launched the way people launch it, and the scenario's policies switched on."""

import time

from bench.chaos_support.scenarios import SHARED_GPUS, SPOT_GPUS, Spec
from bench.chaos_support.world import World, install

GPUS = set(SHARED_GPUS) | {gpu for gpus in SPOT_GPUS.values() for gpu in gpus}
LAUNCH = {"image": "python:3.12-slim", "command": ["python", "-m", "http.server", "8000"], "ports": [8000],
          "disk_gb": 20, "env": {"MODE": "chaos"}, "secret_env": {"HF_TOKEN": "hf_chaos"}}


def django_ready(*, migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


class Env:
    """The world, the person every scenario acts as, and the offer catalog to copy."""

    def __init__(self, seed: int):
        from accounts.models import User

        self.world = World(time.time(), seed=seed)
        install(self.world)
        self.user = User.objects.create(email=f"chaos-{seed}-{time.time_ns()}@example.com")
        self.catalog = self._catalog()

    def _catalog(self) -> list:
        from accounts.services import workspace_create
        from pricing.models import Offer
        from pricing.services import refresh_offers
        from providers.services import workspace_connect_defaults

        workspace = workspace_create(name="Chaos catalog", created_by=self.user)
        workspace_connect_defaults(workspace=workspace)
        report = refresh_offers(workspace=workspace)
        if report.failed:
            raise RuntimeError(f"the sandbox catalog did not load: {report.summary()}")
        rows = Offer.objects.filter(workspace=workspace, gpu_model__in=GPUS, gpu_count=1).select_related("credential")
        return list(rows)

    def workspace(self, spec: Spec):
        """A fresh workspace: its own Sandbox keys (so its instances are its own) and the catalog."""
        from accounts.services import workspace_create
        from pricing.models import Offer
        from providers.models import ProviderCredential
        from providers.services import workspace_connect_defaults

        workspace = workspace_create(name=f"Chaos {spec.index}", created_by=self.user)
        workspace_connect_defaults(workspace=workspace)
        credentials = {c.provider: c for c in ProviderCredential.objects.filter(workspace=workspace)}
        copies = []
        for offer in self.catalog:
            copy = Offer(**{f.attname: getattr(offer, f.attname) for f in Offer._meta.concrete_fields
                            if f.attname not in ("id", "workspace_id", "credential_id")})
            copy.workspace, copy.credential = workspace, credentials[offer.provider]
            copies.append(copy)
        Offer.objects.bulk_create(copies)
        return workspace


def offer_for(workspace, provider: str, gpu: str, spot: bool):
    from pricing.models import Offer

    rows = Offer.objects.filter(workspace=workspace, gpu_model=gpu, spot=spot).exclude(available=0)
    offer = rows.filter(provider=provider).order_by("price_per_hour", "pk").first()
    return offer or rows.order_by("price_per_hour", "pk").select_related("credential").first()


def launch(env: Env, workspace, spec: Spec):
    from deployments.services import deployment_create

    offer = offer_for(workspace, spec.provider, spec.gpu, spec.spot)
    bid = (offer.min_bid_per_hour or offer.price_per_hour) if offer.spot else None
    return deployment_create(workspace=workspace, user=env.user, credential=offer.credential,
                             offer_id=offer.offer_id, name=f"{spec.kind}-{spec.index}", spot=offer.spot,
                             bid_per_hour=bid, **LAUNCH)


def configure(env: Env, workspace, deployment, spec: Spec) -> None:
    """The health probe the scenario uses, then its policies (failover before auto-restart, so
    auto-restart escalates to it)."""
    from automation.models import HealthCheck, ProbeKind
    from automation.policies import policy_enable
    from automation.selectors.health import health_check_for

    check = health_check_for(deployment=deployment)
    kind = ProbeKind.PROVIDER if spec.probe == "provider" else ProbeKind.HTTP
    HealthCheck.objects.filter(pk=check.pk).update(kind=kind, path="/" if kind == ProbeKind.HTTP else "",
                                                   port=8000 if kind == ProbeKind.HTTP else None)
    for slug in sorted(spec.policies, key=lambda s: s != "failover"):
        params = dict(spec.policies[slug])
        if slug == "cost_cap":
            minutes = spec.params["cap_minutes"]
            params["limit_usd"] = max(0.01, round(deployment.price_per_hour * minutes / 60, 2))
            if deployment.provider not in ("runpod", "vast", "paperspace", "tensordock"):
                params["action"] = "delete"
            spec.params["limit_usd"] = params["limit_usd"]
        policy_enable(workspace=workspace, user=env.user, slug=slug, deployment=deployment, params=params)
