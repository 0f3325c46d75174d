"""TensorDock v2 adapter (reference/providers.md §4).

TensorDock's v2 docs are inconsistent about the envelope (`data.attributes`, flat `data`, or
none) and about `portForwards` (list or map), so every answer goes through `unwrap` and the
parsers accept both. One offer per location x GPU x count, priced as the GPUs plus a default
vCPU / RAM / disk configuration, which the offer id carries so create rents what was priced.
"""

import logging
import re
import shlex
from types import MappingProxyType

from computehub.http import json_body, parse_retry_after
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceSpec,
                                     InstanceStatus, NotFound, Offer, ProviderAdapter, ProviderError,
                                     ProviderUnavailable, RateLimited, SshInfo, normalize_status)
from providers.adapters.parsing import docker_run_command
from providers.adapters.registry import register

logger = logging.getLogger(__name__)

STATUS = MappingProxyType({
    "starting": InstanceStatus.STARTING, "running": InstanceStatus.RUNNING,
    "stopping": InstanceStatus.STOPPING, "stopped": InstanceStatus.STOPPED,
    "storeddisassociated": InstanceStatus.STOPPED, "stoppeddisassociated": InstanceStatus.STOPPED,
    "deleting": InstanceStatus.TERMINATING, "deleted": InstanceStatus.TERMINATED,
    "error": InstanceStatus.FAILED,
})
# TensorDock documents no error codes, so "no capacity" can only be told from the message.
_NO_CAPACITY = re.compile(r"no available|insufficient|not enough|out of stock|capacity", re.IGNORECASE)
GPU_COUNTS = (1, 2, 4, 8)
VCPUS_PER_GPU, RAM_GB_PER_GPU, MIN_DISK_GB = 8, 32, 100
OS_IMAGE = "ubuntu2404"


@register
class TensorDockAdapter(ProviderAdapter):
    kind = "tensordock"
    display_name = "TensorDock"
    default_base_url = "https://dashboard.tensordock.com/api/v2"
    capabilities = Capabilities(provider="TensorDock", stop_start=True, ssh=True)
    rate_limit = (100 / 60, 5)  # 100 requests per minute per organization
    ssh_user = "root"  # depends on the image and cloud-init (§4.4); override per deployment setup

    def _classify(self, response):
        status = response.status_code
        if 200 <= status < 300:
            return None
        message = _error_message(json_body(response)) or response.text[:200]
        if status == 429:
            return RateLimited(parse_retry_after(response.headers.get("Retry-After")), f"TensorDock: {message}")
        if status in (401, 403):
            return AuthError(f"TensorDock refused the API token ({status}).")
        if status == 404:
            return NotFound(f"TensorDock: {message}")
        if status >= 500:
            return ProviderUnavailable(f"TensorDock answered HTTP {status}.")
        if _NO_CAPACITY.search(message):
            return CapacityError(f"TensorDock: {message}")
        return ProviderError(f"HTTP {status}: {message}", secrets=(self._api_key,))

    async def _data(self, method: str, url: str, **kwargs):
        response = await self._request(method, url, **kwargs)
        body = json_body(response)
        if body is None:
            raise ProviderError(f"TensorDock answered {method} {url} with something other than JSON: "
                                f"{response.text[:200]}", secrets=(self._api_key,))
        return unwrap(body)

    async def validate_credential(self) -> None:
        await self._data("GET", "/instances")  # /locations may answer without a token

    # --- offers --------------------------------------------------------------------------------------

    async def list_offers(self) -> list[Offer]:
        data = await self._data("GET", "/locations")
        locations = data.get("locations") if isinstance(data, dict) else None
        if not isinstance(locations, list):
            raise ProviderError(f"TensorDock locations are missing from the answer: {str(data)[:200]}")
        gpus = [(loc, gpu) for loc in locations if isinstance(loc, dict) for gpu in loc.get("gpus") or []]
        offers = [offer for loc, gpu in gpus for offer in self._gpu_offers(loc, gpu)]
        if gpus and not offers:
            raise ProviderError(f"TensorDock listed {len(gpus)} GPU entries but none could be read (missing price)")
        return offers

    def _gpu_offers(self, location: dict, gpu) -> list[Offer]:
        """Counts 1, 2, 4, 8 up to what is free; a sold-out GPU still shows once, available 0."""
        try:
            free = int(gpu.get("max_count") or 0)
            counts = [n for n in GPU_COUNTS if n <= free] or [1]
            return [self._offer(location, gpu, count, free // count) for count in counts]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning("TensorDock: skipping unreadable GPU entry at %s (%s)", location.get("id"), exc)
            return []

    def _offer(self, location: dict, gpu: dict, count: int, available: int) -> Offer:
        vcpus, ram = default_resources(gpu.get("resources") or {}, count)
        pricing = gpu.get("pricing") or {}
        price = (count * float(gpu["price_per_hr"]) + vcpus * float(pricing.get("per_vcpu_hr", 0))
                 + ram * float(pricing.get("per_gb_ram_hr", 0)) + MIN_DISK_GB * float(pricing.get("per_gb_storage_hr", 0)))
        region = ", ".join(p for p in (location.get("city"), location.get("country")) if p)
        return Offer(provider=self.kind, offer_id=f"{location['id']}:{gpu['v0Name']}:{count}:{vcpus}:{ram}",
                     region=region, gpu_name_raw=gpu.get("displayName") or gpu["v0Name"], gpu_count=count,
                     vram_gb_per_gpu=_vram(gpu["v0Name"]), vcpus=vcpus, ram_gb=ram, disk_gb=MIN_DISK_GB,
                     price_per_hour=round(price, 4), available=available, raw=gpu)

    # --- lifecycle -----------------------------------------------------------------------------------

    async def create_instance(self, spec: InstanceSpec) -> Instance:
        if spec.spot:
            self.require("spot")
        body = {"data": {"type": "virtualmachine", "attributes": create_attributes(spec)}}
        data = await self._data("POST", "/instances", json=body)
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError(f"TensorDock create answered without an instance id: {str(data)[:200]}")
        return await self.get_instance(str(data["id"]))

    async def get_instance(self, instance_id: str) -> Instance:
        return self._instance(await self._data("GET", f"/instances/{instance_id}"))

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        data = await self._data("GET", "/instances")
        rows = data.get("instances") if isinstance(data, dict) else data
        instances = [self._instance(unwrap(row)) for row in rows or []]
        return [i for i in instances if tag is None or i.tag == tag]

    async def start(self, instance_id: str) -> None:
        await self._data("POST", f"/instances/{instance_id}/start")

    async def stop(self, instance_id: str) -> None:
        await self._data("POST", f"/instances/{instance_id}/stop")

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._data("DELETE", f"/instances/{instance_id}")
        except NotFound:
            pass  # already gone is what terminate wants

    async def ssh_info(self, instance_id: str) -> SshInfo:
        instance = await self.get_instance(instance_id)
        if not instance.ssh_host:
            raise ProviderError(f"TensorDock instance has no IP address yet (status {instance.raw_status}).")
        return SshInfo(host=instance.ssh_host, port=instance.ssh_port, user=self.ssh_user)

    def _instance(self, row) -> Instance:
        try:
            ports = port_forwards(row.get("portForwards") or row.get("port_forwards"))
            ip = row.get("ipAddress") or row.get("ip_address")
            return Instance(instance_id=str(row["id"]), tag=row.get("name"), raw_status=row.get("status"),
                            status=normalize_status(row.get("status"), STATUS), public_ip=ip, ssh_host=ip,
                            ssh_port=ports.get(22, 22) if ip else None, ssh_user=self.ssh_user if ip else None,
                            ports=ports, raw=row)
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ProviderError(f"TensorDock instance is unreadable: {str(row)[:200]}") from None


# --- pure helpers (tested directly) ----------------------------------------------------------------


def unwrap(body):
    """`{"data": {"type", "id", "attributes": {...}}}`, `{"data": {...flat}}` or the bare object ->
    one flat dict (id and type kept beside the attributes); lists and scalars pass through."""
    if isinstance(body, dict) and "data" in body and set(body) <= {"data", "meta", "links", "included"}:
        body = body["data"]
    if isinstance(body, dict) and isinstance(body.get("attributes"), dict):
        return {**{k: v for k, v in body.items() if k != "attributes"}, **body["attributes"]}
    return body


def port_forwards(raw) -> dict[int, int]:
    """Internal -> external port from the documented list `[{internal_port, external_port}]` or
    the map a third-party schema shows, read as `{"<internal>": <external>}`."""
    if isinstance(raw, list):
        return {int(p["internal_port"]): int(p["external_port"]) for p in raw if isinstance(p, dict)}
    if isinstance(raw, dict):
        return {int(internal): int(external) for internal, external in raw.items()}
    return {}


def default_resources(limits: dict, gpu_count: int) -> tuple[int, int]:
    """vCPUs (steps of 2) and RAM GB (steps of 8) rented with `gpu_count` GPUs, within the host's limits."""
    vcpus = min(VCPUS_PER_GPU * gpu_count, int(limits.get("max_vcpus") or 10**6))
    ram = min(RAM_GB_PER_GPU * gpu_count, int(limits.get("max_ram_gb") or 10**6))
    return max(2, vcpus - vcpus % 2), max(8, ram - ram % 8)


def create_attributes(spec: InstanceSpec) -> dict:
    try:
        location, v0_name, count, vcpus, ram = spec.offer_id.split(":")
        count, vcpus, ram = int(count), int(vcpus), int(ram)
    except ValueError:  # a malformed offer id is NotFound on every provider
        raise NotFound(f"{spec.offer_id!r} is not a TensorDock offer id.") from None
    storage = max(MIN_DISK_GB, -(-spec.disk_gb // 50) * 50)  # storage comes in steps of 50 GB
    attributes = {"name": spec.tag, "type": "virtualmachine", "image": OS_IMAGE, "location_id": location,
                  "resources": {"vcpu_count": int(vcpus), "ram_gb": int(ram), "storage_gb": storage,
                                "gpus": {v0_name: {"count": int(count)}}},
                  "cloud_init": {"runcmd": [*_extra_key_commands(spec), docker_command(spec)]}}
    if spec.ssh_public_keys:
        attributes["ssh_key"] = spec.ssh_public_keys[0]  # the API takes exactly one key
    return attributes


def _extra_key_commands(spec: InstanceSpec) -> list[str]:
    """Keys beyond the one `ssh_key` carries, appended by cloud-init (it runs as root; §4.4's v2
    clients log in as root too)."""
    extra = spec.ssh_public_keys[1:]
    return ["mkdir -p /root/.ssh", *(f"echo {shlex.quote(key)} >> /root/.ssh/authorized_keys" for key in extra)] if extra else []


def docker_command(spec: InstanceSpec) -> str:
    """TensorDock rents VMs with a base OS, so the deployment's container starts from cloud-init."""
    return docker_run_command(spec)


def _vram(v0_name: str) -> float | None:
    match = re.search(r"(\d+)gb$", v0_name or "")
    return float(match.group(1)) if match else None


def _error_message(body) -> str | None:
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "errors"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else str(value)[:200]
    return None
