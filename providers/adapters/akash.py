"""Akash through the Console "Managed Wallet" API (reference/providers.md §6), key in ``x-api-key``.

Offers are the Console's market summary (``GET /v1/gpu-prices``): indicative USD per GPU-hour,
one offer per GPU model. A create is the chain flow: deployment (SDL) → wait for bids → lease on
the cheapest bid. There is no stop/start, restart or spot: a lease can only be closed.

Price units: gpu-prices already reports USD per GPU per hour (the Console converts the per-block
bids it aggregates). Bid prices are ``{"denom", "amount"}`` per block; USD-pegged denoms (uact,
uusdc, Noble USDC over IBC) are micro-dollars, so USD/h = amount × 1e-6 × 3600 / AVERAGE_BLOCK_S.
A bid in uakt cannot be converted without an AKT quote: its lease price is left unknown.
"""

import time

import yaml

from computehub.http import json_body
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceStatus, NotFound,
                                     Offer, ProviderAdapter, ProviderError)
from providers.adapters.registry import register

AVERAGE_BLOCK_S = 6.098  # the Console's own averageBlockTime; ~590 blocks per hour
USD_MICRO_DENOMS = {"uact", "uusdc", "ibc/170C677610AC31DF0904FFE09CD3B5C657492170E7E52372E48756B71E56F2F1"}
PAGE_LIMIT = 100


def usd_per_hour(price: dict | None) -> float | None:
    """A per-block bid or lease price in USD per hour, or None for a non-dollar denom."""
    if not isinstance(price, dict) or price.get("denom") not in USD_MICRO_DENOMS:
        return None
    try:
        return round(float(price["amount"]) * 1e-6 * 3600 / AVERAGE_BLOCK_S, 4)
    except (KeyError, TypeError, ValueError):
        return None


def usd_per_hour_to_block(usd: float) -> str:
    return f"{usd / 3600 * AVERAGE_BLOCK_S / 1e-6:.4f}"


@register
class AkashAdapter(ProviderAdapter):
    kind = "akash"
    display_name = "Akash"
    default_base_url = "https://console-api.akash.network"
    capabilities = Capabilities(provider="Akash", notes={
        "stop": "Akash cannot stop a lease; close it (terminate) and deploy again",
        "start": "Akash has no stopped state; deploy again",
        "restart": "Akash cannot restart a lease; close it and deploy again",
        "fetch_logs": "Akash logs come from the provider gateway, which an API key cannot reach",
        "fetch_metrics": "Akash offers no metrics through the Console API",
        "ssh_info": "Akash deployments have no SSH unless the image exposes port 22 itself",
        "spot": "Akash is a bid market with no spot (interruptible) leases"})
    rate_limit = (5.0, 10)  # undocumented; modest
    bid_wait_s = 60.0  # providers bid within about 30 s
    bid_poll_s = 3.0
    max_usd_per_gpu_hour = 10.0  # the SDL's price cap: no bid above it is accepted
    cpu_units, memory, placement = 8, "32Gi", "dcloud"

    def _auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key}

    def _classify(self, response):
        if response.status_code in (401, 403):
            body = json_body(response)
            message = body.get("message") if isinstance(body, dict) else None
            return AuthError(f"Akash rejected the API key: {message}" if message else None)
        return super()._classify(response)

    def _data(self, response):
        body = json_body(response)
        if not isinstance(body, dict) or "data" not in body:
            raise ProviderError(f"HTTP {response.status_code}: {response.text}", secrets=(self._api_key,))
        return body["data"]

    async def validate_credential(self) -> None:
        await self._request("GET", "/v1/deployments", params={"skip": 0, "limit": 1})

    async def list_offers(self) -> list[Offer]:
        response = await self._request("GET", "/v1/gpu-prices")
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("models"), list):
            raise ProviderError(f"gpu-prices: {response.text}", secrets=(self._api_key,))
        return [offer for offer in map(_offer, body["models"]) if offer is not None]

    # --- create: deployment → bids → lease -----------------------------------------------------

    async def create_instance(self, spec) -> Instance:
        self.require("spot") if spec.spot else None
        created = self._data(await self._request("POST", "/v1/deployments", json={
            "data": {"sdl": self.sdl(spec), "name": spec.tag}}))
        dseq = str(created["dseq"])
        try:
            bid = _cheapest(await self._wait_for_bids(dseq))
        except CapacityError:
            await self.terminate(dseq)  # close it so the escrow is refunded, then tell the caller
            raise
        lease = {"dseq": dseq, "gseq": bid["gseq"], "oseq": bid["oseq"], "provider": bid["provider"]}
        data = self._data(await self._request("POST", "/v1/leases", json={
            "manifest": created.get("manifest"), "leases": [lease]}))
        return self._parse(data)

    async def _wait_for_bids(self, dseq: str) -> list[dict]:
        deadline = time.monotonic() + self.bid_wait_s
        while True:
            bids = [_bid(row) for row in self._data(await self._request("GET", "/v1/bids", params={"dseq": dseq}))]
            bids = [b for b in bids if b and b["state"] == "open"]
            if bids:
                return bids
            if time.monotonic() >= deadline:
                raise CapacityError(f"No Akash provider bid on deployment {dseq} within {self.bid_wait_s:.0f} s")
            await self._sleep(self.bid_poll_s)  # overridable, so tests do not wait in real time

    def sdl(self, spec) -> str:
        """The SDL (YAML) for one service; the offer id names the GPU model."""
        vendor, model, ram, interface = (spec.offer_id.split(":") + ["", "", "", ""])[:4]
        gpu_attr = {k: v for k, v in {"model": model, "ram": ram, "interface": interface.lower().rstrip("0123456789")}.items() if v}
        expose = [{"port": p, "as": p, "to": [{"global": True}]} for p in spec.ports]
        service = {"image": spec.image, "expose": expose, "env": [f"{k}={v}" for k, v in spec.env.items()]}
        if spec.command:
            service["command"], service["args"] = [spec.command[0]], list(spec.command[1:])
        compute = {"cpu": {"units": self.cpu_units}, "memory": {"size": self.memory},
                   "storage": {"size": f"{spec.disk_gb}Gi"},
                   "gpu": {"units": 1, "attributes": {"vendor": {vendor or "nvidia": [gpu_attr]}}}}
        price = {"denom": "uact", "amount": usd_per_hour_to_block(self.max_usd_per_gpu_hour)}
        return yaml.safe_dump({"version": "2.0", "services": {"app": service},
                               "profiles": {"compute": {"app": compute},
                                            "placement": {self.placement: {"pricing": {"app": price}}}},
                               "deployment": {"app": {self.placement: {"profile": "app", "count": 1}}}})

    # --- reads and close -------------------------------------------------------------------

    async def get_instance(self, instance_id: str) -> Instance:
        return self._parse(self._data(await self._request("GET", f"/v1/deployments/{instance_id}")))

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        rows, skip = [], 0
        while True:
            data = self._data(await self._request("GET", "/v1/deployments", params={"skip": skip, "limit": PAGE_LIMIT}))
            page = data.get("deployments", []) if isinstance(data, dict) else data
            rows += page
            if len(page) < PAGE_LIMIT:
                break
            skip += PAGE_LIMIT
        found = [self._parse(row) for row in rows]
        return [i for i in found if tag is None or i.tag == tag]

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._request("DELETE", f"/v1/deployments/{instance_id}")
        except NotFound:
            pass  # already closed and forgotten

    def _parse(self, data) -> Instance:
        """A deployment answer missing the fields we need is a ProviderError, never a crash."""
        try:
            return self._instance(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderError(f"Akash deployment answer is missing or has malformed fields "
                                f"({type(exc).__name__}: {exc}): {data!r}", secrets=(self._api_key,)) from None

    def _instance(self, data) -> Instance:
        deployment, leases = data["deployment"], data.get("leases") or []
        dseq = str(deployment["id"]["dseq"])
        lease = leases[-1] if leases else None
        status, raw_status = _status(deployment.get("state"), lease)
        host, ports = _forwarded(lease)
        return Instance(instance_id=dseq, tag=data.get("name") or None, status=status, raw_status=raw_status,
                        public_ip=host, ports=ports, price_per_hour=usd_per_hour((lease or {}).get("price")),
                        raw=data)


def _status(deployment_state: str | None, lease: dict | None) -> tuple[InstanceStatus, str]:
    """§7: closed deployment → terminated; lease closed under an active deployment → failed;
    no lease yet → pending; lease active → running once a replica is ready."""
    raw = f"deployment={deployment_state} lease={(lease or {}).get('state')}"
    if deployment_state == "closed":
        return InstanceStatus.TERMINATED, raw
    if deployment_state != "active":
        return InstanceStatus.UNKNOWN, raw
    if lease is None:
        return InstanceStatus.PENDING, raw
    if lease.get("state") != "active":
        return InstanceStatus.FAILED, raw
    services = ((lease.get("status") or {}).get("services") or {}).values()
    ready = any(((s or {}).get("ready_replicas") or 0) > 0 for s in services)
    return (InstanceStatus.RUNNING if ready else InstanceStatus.PROVISIONING), raw


def _forwarded(lease: dict | None) -> tuple[str | None, dict[int, int]]:
    ports, host = {}, None
    # `or {}` at every level: the console sends null for "none yet", not only an absent key.
    for entries in (((lease or {}).get("status") or {}).get("forwarded_ports") or {}).values():
        for entry in entries or []:
            ports[int(entry["port"])] = int(entry["externalPort"])
            host = host or entry.get("host")
    return host, ports


def _bid(row) -> dict | None:
    """Both shapes: the source schema (``bid_id``) and the public docs (``id`` with ``bseq``)."""
    bid = (row or {}).get("bid") if isinstance(row, dict) else None
    ident = (bid or {}).get("bid_id") or (bid or {}).get("id")
    if not isinstance(ident, dict) or not ident.get("provider"):
        return None
    return {"provider": ident["provider"], "gseq": ident.get("gseq", 1), "oseq": ident.get("oseq", 1),
            "state": bid.get("state"), "price": bid.get("price") or {}}


def _cheapest(bids: list[dict]) -> dict:
    """Dollar-priced bids compare in USD/h; uakt-only bids compare by amount (same denom)."""
    def key(bid):
        usd = usd_per_hour(bid["price"])
        return (usd is None, usd if usd is not None else float(bid["price"].get("amount") or "inf"))
    return min(bids, key=key)


def _offer(model) -> Offer | None:
    """One indicative per-GPU offer; models without a price (no recent bids) are skipped."""
    try:
        price = model.get("price") or {}
        usd = price.get("weightedAverage") or price.get("med") or price.get("avg")
        if price.get("currency", "USD") != "USD" or not usd:
            return None
        ram, interface = str(model.get("ram") or ""), str(model.get("interface") or "")
        vram = float(ram.lower().removesuffix("gi").removesuffix("gb")) if ram else None
        return Offer(provider="akash", offer_id=f"{model['vendor']}:{model['model']}:{ram}:{interface}",
                     region="global", gpu_name_raw=f"{model['model']} {interface}".strip(), gpu_count=1,
                     vram_gb_per_gpu=vram, vcpus=None, ram_gb=None, disk_gb=None, price_per_hour=round(float(usd), 4),
                     available=int((model.get("availability") or {}).get("available", 0)), raw=model)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
