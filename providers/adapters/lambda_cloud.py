"""Lambda Cloud adapter (reference/providers.md §3). Module name avoids the `lambda` keyword.

VMs only: no stop/start (billing runs until terminate), no spot, no logs or metrics API. The
deployment tag travels as the instance `name`, so a launch whose answer was lost is adopted.
"""

import hashlib
import json
import logging
import re
from types import MappingProxyType

from computehub.http import json_body, parse_retry_after
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceSpec,
                                     InstanceStatus, NotFound, Offer, ProviderAdapter, ProviderError,
                                     ProviderUnavailable, RateLimited, SshInfo, normalize_status)
from providers.adapters.registry import register

logger = logging.getLogger(__name__)

STATUS = MappingProxyType({
    "booting": InstanceStatus.PROVISIONING, "active": InstanceStatus.RUNNING,
    "unhealthy": InstanceStatus.FAILED, "terminating": InstanceStatus.TERMINATING,
    "terminated": InstanceStatus.TERMINATED, "preempted": InstanceStatus.PREEMPTED,
})
# Lambda's error codes -> our errors. Branch on the code only: messages are for people.
ERROR_CODES = MappingProxyType({
    "global/invalid-api-key": AuthError, "global/account-inactive": AuthError,
    "global/object-does-not-exist": NotFound,
    "instance-operations/launch/insufficient-capacity": CapacityError,
    "global/quota-exceeded": CapacityError,  # the account's limit: another cloud may still have room
})
_VRAM = re.compile(r"\((\d+(?:\.\d+)?)\s*GB", re.IGNORECASE)
_COUNT = re.compile(r"^gpu_(\d+)x_")
SSH_USER = "ubuntu"
STOP_REASON = "Lambda Cloud cannot stop an instance: its VMs bill until they are terminated"


@register
class LambdaAdapter(ProviderAdapter):
    kind = "lambda"
    display_name = "Lambda Cloud"
    default_base_url = "https://cloud.lambda.ai/api/v1"
    capabilities = Capabilities(provider="Lambda Cloud", restart=True, ssh=True,
                                notes={"stop": STOP_REASON, "start": STOP_REASON})
    # "generally limited to one request per second"; launch "one request per 12 seconds".
    rate_limit = (1.0, 1)
    scoped_rate_limits = MappingProxyType({"launch": (1 / 12, 1)})

    # --- errors ----------------------------------------------------------------------------------

    def _classify(self, response):
        if 200 <= response.status_code < 300:
            return None
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = f"Lambda Cloud: {error.get('message') or code}" if code else None
        if response.status_code == 429:
            return RateLimited(parse_retry_after(response.headers.get("Retry-After")), message)
        if code in ERROR_CODES:
            return ERROR_CODES[code](message)
        if code and code.startswith("provider/"):
            return ProviderUnavailable(message)  # Lambda's upstream is failing, not our request
        if code and response.status_code < 500:
            return ProviderError(f"HTTP {response.status_code} {code}: {error.get('message')}", secrets=(self._api_key,))
        return super()._classify(response)

    async def _data(self, method: str, url: str, **kwargs):
        """The `data` of a success envelope; anything else is a readable ProviderError."""
        response = await self._request(method, url, **kwargs)
        body = json_body(response)
        if not isinstance(body, dict) or "data" not in body:
            raise ProviderError(f"Lambda Cloud answered {method} {url} with something other than its JSON "
                                f"envelope: {response.text[:200]}", secrets=(self._api_key,))
        return body["data"]

    # --- credential and offers ---------------------------------------------------------------------

    async def validate_credential(self) -> None:
        await self._data("GET", "/ssh-keys")  # small, and needs a valid key

    async def list_offers(self) -> list[Offer]:
        data = await self._data("GET", "/instance-types")
        if not isinstance(data, dict):
            raise ProviderError(f"Lambda Cloud instance types are not a map: {str(data)[:200]}")
        offers = [offer for name, entry in data.items() for offer in self._type_offers(name, entry)]
        if data and not offers:
            raise ProviderError(f"Lambda Cloud listed {len(data)} instance types but none could be read "
                                f"(missing price or specs)")
        return offers

    def _type_offers(self, name: str, entry) -> list[Offer]:
        """One offer per region with capacity; a sold-out type still shows, with available 0."""
        try:
            instance_type = entry["instance_type"]
            regions = [region["name"] for region in entry.get("regions_with_capacity_available") or []]
            return [self._offer(name, instance_type, region, bool(region)) for region in regions or [""]]
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("Lambda Cloud: skipping unreadable instance type %r (%s)", name, exc)
            return []

    def _offer(self, name: str, instance_type: dict, region: str, available: bool) -> Offer:
        specs, gpu = instance_type["specs"], instance_type.get("gpu_description") or instance_type["description"]
        count = int(specs.get("gpus") or _count_from_name(name))
        return Offer(provider=self.kind, offer_id=f"{name}@{region}", region=region, gpu_name_raw=gpu,
                     gpu_count=count, vram_gb_per_gpu=_vram(gpu), vcpus=specs.get("vcpus"),
                     ram_gb=specs.get("memory_gib"), disk_gb=specs.get("storage_gib"),
                     price_per_hour=int(instance_type["price_cents_per_hour"]) / 100,  # cents, maybe quoted
                     available=1 if available else 0, raw=instance_type)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def create_instance(self, spec: InstanceSpec) -> Instance:
        if spec.spot:
            self.require("spot")
        type_name, _, region = spec.offer_id.partition("@")
        if not region:
            raise CapacityError(f"Lambda Cloud has no region with capacity for {type_name}.")
        keys = spec.ssh_public_keys
        body = {"region_name": region, "instance_type_name": type_name, "name": spec.tag,
                "ssh_key_names": [await self._ssh_key_name(keys[0] if keys else None)]}
        if len(keys) > 1:  # launch takes exactly one key name; cloud-init installs the others
            body["user_data"] = cloud_config_keys(keys[1:])
        data = await self._data("POST", "/instance-operations/launch", scope="launch", json=body)
        ids = data.get("instance_ids") if isinstance(data, dict) else None
        if not ids:  # "fewer than requested might have been launched"
            raise CapacityError("Lambda Cloud launched no instance for this request.")
        return await self.get_instance(ids[0])

    async def _ssh_key_name(self, public_key: str | None) -> str:
        """Launch needs exactly one key *name* on the account: reuse or upload the deployment's key,
        else take the account's first key."""
        keys = await self._data("GET", "/ssh-keys")
        if public_key:
            for key in keys:
                if key.get("public_key", "").strip() == public_key.strip():
                    return key["name"]
            name = "computehub-" + hashlib.sha256(public_key.encode()).hexdigest()[:12]
            return (await self._data("POST", "/ssh-keys", json={"name": name, "public_key": public_key}))["name"]
        if not keys:
            raise ProviderError("Lambda Cloud needs an SSH key on the account (or in the deployment) to launch.")
        return keys[0]["name"]

    async def get_instance(self, instance_id: str) -> Instance:
        return self._instance(await self._data("GET", f"/instances/{instance_id}"))

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        instances = [self._instance(row) for row in await self._data("GET", "/instances")]
        return [i for i in instances if tag is None or i.tag == tag]

    async def restart(self, instance_id: str) -> None:
        await self._data("POST", "/instance-operations/restart", json={"instance_ids": [instance_id]})

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._data("POST", "/instance-operations/terminate", json={"instance_ids": [instance_id]})
        except NotFound:
            pass  # already gone is what terminate wants

    async def ssh_info(self, instance_id: str) -> SshInfo:
        instance = await self.get_instance(instance_id)
        if not instance.public_ip:
            raise ProviderError(f"Lambda Cloud instance has no public IP yet (status {instance.raw_status}).")
        return SshInfo(host=instance.public_ip, port=22, user=SSH_USER)

    def _instance(self, row) -> Instance:
        try:
            ip, cents = row.get("ip"), (row.get("instance_type") or {}).get("price_cents_per_hour")
            return Instance(instance_id=str(row["id"]), tag=row.get("name"), raw_status=row.get("status"),
                            status=normalize_status(row.get("status"), STATUS), public_ip=ip,
                            ssh_host=ip, ssh_port=22 if ip else None, ssh_user=SSH_USER if ip else None,
                            price_per_hour=int(cents) / 100 if cents is not None else None, raw=row)
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ProviderError(f"Lambda Cloud instance is unreadable: {str(row)[:200]}") from None


def _vram(gpu_description: str) -> float | None:
    """"A100 (40 GB SXM4)" -> 40: Lambda has no VRAM field, and A100 40/80 differ only here."""
    match = _VRAM.search(gpu_description or "")
    return float(match.group(1)) if match else None


def _count_from_name(name: str) -> int:
    match = _COUNT.match(name)
    if match is None:
        raise ValueError(f"no GPU count in {name!r}")
    return int(match.group(1))


def cloud_config_keys(keys) -> str:
    """cloud-init user data adding `keys` to the default user's (ubuntu) authorized_keys."""
    return "#cloud-config\nssh_authorized_keys:\n" + "".join(f"  - {json.dumps(key)}\n" for key in keys)
