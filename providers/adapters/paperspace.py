"""Paperspace (DigitalOcean Paperspace) machines API v1 (reference/providers.md §5).

Offers join the dated static price table (paperspace_prices.py; the API has no prices) with
``GET /machine-availability`` per machine type and region. Machines carry the deployment tag as
their name, so a create lost to a timeout is found again by list_instances(tag=...).
"""

import asyncio
import logging
import re
import shlex
from datetime import date, datetime

from computehub.http import json_body
from providers.adapters import paperspace_prices as catalog
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceStatus, NotFound,
                                     Offer, ProviderAdapter, ProviderError, normalize_status, SshInfo)
from providers.adapters.parsing import docker_run_command
from providers.adapters.registry import register

logger = logging.getLogger(__name__)

STATUS = {
    "provisioning": InstanceStatus.PROVISIONING, "starting": InstanceStatus.STARTING,
    "restarting": InstanceStatus.STARTING, "upgrading": InstanceStatus.STARTING,
    "serviceready": InstanceStatus.STARTING, "ready": InstanceStatus.RUNNING,
    "stopping": InstanceStatus.STOPPING, "off": InstanceStatus.STOPPED, "failed": InstanceStatus.FAILED,
}
TAG_RE = re.compile(r"ch-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CAPACITY_WORDS = ("capacity", "out of stock", "not available", "no machines available")
# Starting a machine that is already starting is refused with this text (SkyPilot matches it too).
ALREADY_RE = re.compile(r"currently (starting|stopping|restarting)|already (running|ready|off|stopped)", re.I)
PAGE_LIMIT = 50


@register
class PaperspaceAdapter(ProviderAdapter):
    kind = "paperspace"
    display_name = "Paperspace"
    default_base_url = "https://api.paperspace.com/v1"
    capabilities = Capabilities(provider="Paperspace", stop_start=True, restart=True, ssh=True, notes={
        "fetch_logs": "Paperspace offers no API for machine logs (machine events only)",
        "fetch_metrics": "Paperspace offers no API for machine metrics",
        "spot": "Paperspace has no spot (interruptible) machines"})
    # Undocumented limit; offers fan out one availability call per machine type and region.
    rate_limit = (10.0, 20)
    # An OS template (Ubuntu 22.04 ML-in-a-Box); the container itself runs from the startup script.
    template_id = "t0nspur5"

    # --- errors ----------------------------------------------------------------------------

    def _classify(self, response):
        if 200 <= response.status_code < 300:
            return None
        body = json_body(response)
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        if response.status_code == 400 and any(word in message.lower() for word in CAPACITY_WORDS):
            return CapacityError(f"Paperspace has no capacity: {message}")
        if response.status_code in (401, 403):
            return AuthError(f"Paperspace rejected the API key: {message}" if message else None)
        if response.status_code == 404:
            return NotFound(f"Paperspace: {message}" if message else None)
        if message and response.status_code < 500 and response.status_code != 429:
            return ProviderError(f"HTTP {response.status_code} {body.get('code')}: {message}",
                                 secrets=(self._api_key,))
        return super()._classify(response)

    def _json(self, response, *required: str) -> dict:
        body = json_body(response)
        if not isinstance(body, dict) or any(name not in body for name in required):
            raise ProviderError(f"HTTP {response.status_code}: {response.text}", secrets=(self._api_key,))
        return body

    # --- credential and offers -------------------------------------------------------------

    async def validate_credential(self) -> None:
        # The cheapest authenticated call: one machine of the account's list.
        await self._request("GET", "/machines", params={"limit": 1})

    async def list_offers(self) -> list[Offer]:
        _warn_if_prices_stale(date.today())
        pairs = [(machine, region) for machine in catalog.MACHINE_TYPES for region in machine.regions]
        available = await asyncio.gather(*(self._available(m.label, r) for m, r in pairs))
        return [_offer(machine, region) for (machine, region), ok in zip(pairs, available) if ok]

    async def _available(self, machine_type: str, region: str) -> bool:
        response = await self._request("GET", "/machine-availability",
                                       params={"machineType": machine_type, "region": region})
        value = self._json(response, "available")["available"]
        if not isinstance(value, bool):
            raise ProviderError(f"machine-availability: {response.text}", secrets=(self._api_key,))
        return value

    # --- lifecycle ---------------------------------------------------------------------------

    async def create_instance(self, spec) -> Instance:
        self.require("spot") if spec.spot else None
        machine_type, region = _split_offer_id(spec.offer_id)
        script_id = await self._startup_script(spec)
        body = {"name": spec.tag, "machineType": machine_type, "region": region, "templateId": self.template_id,
                "diskSize": spec.disk_gb, "publicIpType": "dynamic", "startOnCreate": True,
                "startupScriptId": script_id}
        response = await self._request("POST", "/machines", json=body)
        return self._parse(self._json(response, "data")["data"])

    async def _startup_script(self, spec) -> str:
        """Keys are not a create field: a run-once script installs the SSH key and starts the
        container (image, command, env, ports), as SkyPilot does."""
        body = {"name": f"{spec.tag}-boot", "script": startup_script(spec), "isRunOnce": True}
        return str(self._json(await self._request("POST", "/startup-scripts", json=body), "id")["id"])

    async def get_instance(self, instance_id: str) -> Instance:
        return self._parse(self._json(await self._request("GET", f"/machines/{instance_id}"), "id"))

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        machines = await self._all_machines()
        return [self._parse(row) for row in machines if tag is None or _tag(row) == tag]

    async def _all_machines(self) -> list[dict]:
        rows, after = [], None
        while True:
            params = {"limit": PAGE_LIMIT, **({"after": after} if after else {})}
            page = self._json(await self._request("GET", "/machines", params=params), "items")
            rows += [row for row in page["items"] if isinstance(row, dict)]
            after = page.get("nextPage")
            if not page.get("hasMore") or not after:
                return rows

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._request("DELETE", f"/machines/{instance_id}")
        except NotFound:
            pass  # already gone: terminate is retried until confirmed

    async def start(self, instance_id: str) -> None:
        await self._action(instance_id, "start")

    async def stop(self, instance_id: str) -> None:
        await self._action(instance_id, "stop")

    async def restart(self, instance_id: str) -> None:
        await self._action(instance_id, "restart")

    async def _action(self, instance_id: str, action: str) -> None:
        try:
            await self._request("PATCH", f"/machines/{instance_id}/{action}")
        except ProviderError as exc:
            if not ALREADY_RE.search(exc.raw):  # already where we want it: the step is done
                raise

    async def ssh_info(self, instance_id: str) -> SshInfo:
        instance = await self.get_instance(instance_id)
        if not instance.public_ip:
            raise ProviderError(f"machine {instance_id} has no public IP yet (state {instance.raw_status})")
        return SshInfo(host=instance.public_ip, port=22, user="paperspace")

    def _parse(self, row) -> Instance:
        if not isinstance(row, dict) or "id" not in row:
            raise ProviderError(f"machine: {row!r}", secrets=(self._api_key,))
        machine = catalog.BY_LABEL.get(row.get("machineType"))
        ip = row.get("publicIp") or None
        return Instance(
            instance_id=str(row["id"]), tag=_tag(row), status=normalize_status(row.get("state"), STATUS),
            raw_status=row.get("state"), public_ip=ip, ssh_host=ip, ssh_port=22 if ip else None,
            ssh_user="paperspace" if ip else None, price_per_hour=machine.price_per_hour if machine else None,
            created_at=_parse_time(row.get("dtCreated")), raw=row)


def _offer(machine: catalog.MachineType, region: str) -> Offer:
    return Offer(provider="paperspace", offer_id=f"{machine.label}@{region}", region=region,
                 gpu_name_raw=machine.gpu_name, gpu_count=machine.gpu_count, vram_gb_per_gpu=machine.vram_gb,
                 vcpus=machine.vcpus, ram_gb=machine.ram_gb, disk_gb=None, price_per_hour=machine.price_per_hour,
                 available=1, gpu_model=machine.gpu_model,
                 raw={"machineType": machine.label, "region": region, "prices_as_of": str(catalog.PRICES_AS_OF)})


def _warn_if_prices_stale(today: date) -> None:
    age = (today - catalog.PRICES_AS_OF).days
    if age > catalog.MAX_PRICE_AGE_DAYS:
        logger.warning("Paperspace price table is %d days old (as of %s); review it against %s",
                       age, catalog.PRICES_AS_OF, catalog.SOURCE_URL)


def _split_offer_id(offer_id: str) -> tuple[str, str]:
    """A malformed or unknown offer id is NotFound, as on every other provider."""
    machine_type, _, region = str(offer_id).partition("@")
    if machine_type not in catalog.BY_LABEL or not region:
        raise NotFound(f"{offer_id!r} is not a Paperspace offer id.")
    return machine_type, region


def _tag(row: dict) -> str | None:
    match = TAG_RE.search(str(row.get("name") or ""))
    return match.group(0) if match else None


def _parse_time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def startup_script(spec) -> str:
    """Bash run once at first boot; every user value is shell-quoted."""
    lines = ["#!/bin/bash", "set -e"]
    if spec.ssh_public_keys:
        lines.append("mkdir -p /home/paperspace/.ssh")
        lines += [f"echo {shlex.quote(key)} >> /home/paperspace/.ssh/authorized_keys" for key in spec.ssh_public_keys]
    lines.append(docker_run_command(spec, name=spec.tag))
    return "\n".join(lines) + "\n"
