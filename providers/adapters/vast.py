"""Vast.ai through its REST API under /api/v0/ (reference/providers.md §2).

Offers come from one `POST /api/v0/bundles/` search: each row is one machine (or slice) priced
for the whole offer (`dph_total`), with a per-machine minimum interruptible bid (`min_bid`); we
publish an on-demand and a spot Offer per row. The deployment tag travels as the instance
`label`. Vast enforces a minimum interval between calls and answers 429 in plain text with no
Retry-After, so we pace ourselves and retry like the official client (3 tries, short backoff).

Logs are a file on request (§2.7): `request_logs` asks the host for the container log's tail and
answers an S3 `result_url`, polled without the API key until the upload is there (a bounded
number of times). The lines carry no timestamps and every read is the whole tail, so the
collector finds where its stored lines end in it. Metrics are fields of the instance object.
"""

import asyncio
import shlex
from datetime import datetime, timezone

import httpx

from computehub.http import json_body, make_client
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceSpec, InstanceStatus,
                                     LogLine, MetricPoint, NotFound, Offer, ProviderAdapter, ProviderError,
                                     ProviderUnavailable, RateLimited, SshInfo)
from providers.adapters.parsing import num as _num
from providers.adapters.registry import register

SEARCH = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}, "rented": {"eq": False},
          "num_gpus": {"gte": 1}, "type": "ondemand", "order": [["dph_total", "asc"]], "limit": 1000,
          "allocated_storage": 50}  # the CLI's defaults; dph_total prices 50 GB, our default disk
STORAGE_GB = SEARCH["allocated_storage"]
STATUS = {"created": InstanceStatus.STARTING, "loading": InstanceStatus.PROVISIONING,
          "rebooting": InstanceStatus.STARTING, "restarting": InstanceStatus.STARTING,
          "running": InstanceStatus.RUNNING, "stopped": InstanceStatus.STOPPED, "frozen": InstanceStatus.STOPPED,
          "exited": InstanceStatus.FAILED, "unknown": InstanceStatus.FAILED, "offline": InstanceStatus.FAILED}
GONE_CODES = ("no_such_instance", "not_found", "invalid_id")  # invalid_id: request_logs for an unknown id
LOG_TAIL = 1000  # lines per log request, as the CLI's default
LOG_FILE_PENDING = (403, 404)  # S3 before the upload lands: AccessDenied or NoSuchKey
METRICS = (("gpu_util_percent", "gpu_util", 100), ("gpu_temp_c", "gpu_temp", 1),
           ("cpu_percent", "cpu_util", 100), ("memory_used_gb", "mem_usage", 1))


@register
class VastAdapter(ProviderAdapter):
    kind = "vast"
    display_name = "Vast.ai"
    default_base_url = "https://console.vast.ai"
    capabilities = Capabilities(provider="Vast.ai", spot=True, stop_start=True, restart=True, logs=True, metrics=True,
                                ssh=True)
    rate_limit = (2.0, 2)  # Vast enforces a minimum interval per endpoint; stay under it
    max_attempts = 3  # the official client: 3 tries on 429/502/503/504, 0.15 s growing backoff
    base_delay = 0.15
    max_delay = 5.0
    log_polls = 30  # the CLI polls result_url 30 times, 0.3 s apart
    log_poll_s = 0.3

    # --- transport ---------------------------------------------------------------------------

    def _classify(self, response):
        body = json_body(response)
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        if 200 <= response.status_code < 300 and not (isinstance(body, dict) and body.get("success") is False):
            return None
        if response.status_code == 429:
            return RateLimited(None, "Vast.ai: API requests too frequent")
        return self._error_for(response.status_code, code, body) or super()._classify(response)

    def _error_for(self, status: int, code: str, body) -> Exception | None:
        message = f"Vast.ai: {body.get('msg') or body.get('message') or code}" if isinstance(body, dict) else None
        if code == "no_such_ask":
            return CapacityError(message)
        if code in GONE_CODES:
            return NotFound(message)
        if status in (401, 403) or code in ("invalid_user_key", "not_authorized"):
            return AuthError()
        if code:
            return ProviderError(f"{code}: {message}", secrets=(self._api_key,))
        return None

    async def _json(self, method: str, url: str, **kwargs):
        response = await self._request(method, url, **kwargs)
        body = json_body(response)
        if not isinstance(body, dict):
            raise ProviderError(f"Vast.ai answered something that is not JSON: {response.text[:200]!r}",
                                secrets=(self._api_key,))
        return body

    # --- account and offers ------------------------------------------------------------------

    async def validate_credential(self) -> None:
        body = await self._json("GET", "/api/v0/users/current/")
        if body.get("id") is None:
            raise AuthError()

    async def list_offers(self) -> list[Offer]:
        # A search changes nothing, so a flaky gateway's 502 may be retried.
        rows = (await self._json("POST", "/api/v0/bundles/", json=SEARCH, idempotent=True)).get("offers")
        if not isinstance(rows, list):
            raise ProviderError("Vast.ai search answer has no list of offers", secrets=(self._api_key,))
        offers = [offer for row in rows for offer in self._offers_from_row(row)]
        if rows and not offers:
            raise ProviderError(f"Vast.ai listed {len(rows)} offers without usable price or GPU fields",
                                secrets=(self._api_key,))
        return offers

    def _offers_from_row(self, row) -> list[Offer]:
        """On-demand and (when the host takes bids) spot offers for one search row."""
        try:
            base = dict(provider=self.kind, offer_id=str(row["id"]), region=str(row.get("geolocation") or "unknown"),
                        gpu_name_raw=row["gpu_name"], gpu_count=int(row["num_gpus"]),
                        vram_gb_per_gpu=round(float(row["gpu_ram"]) / 1024, 1), vcpus=_num(row.get("cpu_cores_effective")),
                        ram_gb=_ram_gb(row), disk_gb=_num(row.get("disk_space")), available=1,
                        reliability=_num(row.get("reliability2")), cuda_version=_text(row.get("cuda_max_good")), raw=row)
            total = float(row["dph_total"])
            offers = [Offer(**base, price_per_hour=total)]
        except (KeyError, TypeError, ValueError):
            return []
        bid = _num(row.get("min_bid"))
        if bid:  # gpuhunt's model: spot = min_bid + the same storage cost
            storage = max(total - (_num(row.get("dph_base")) or total), 0.0)
            offers.append(Offer(**base, price_per_hour=round(bid + storage, 4), spot=True, min_bid_per_hour=bid))
        return offers

    # --- lifecycle ---------------------------------------------------------------------------

    async def create_instance(self, spec: InstanceSpec) -> Instance:
        offer_id = _offer_number(spec.offer_id)  # never interpolate an unchecked id into the path
        body = await self._json("PUT", f"/api/v0/asks/{offer_id}/", json=await self._create_body(spec))
        contract = body.get("new_contract")
        if not body.get("success") or contract is None:
            raise ProviderError(f"Vast.ai create answered without an instance id: {body}", secrets=(self._api_key,))
        return await self.get_instance(str(contract))

    async def _create_body(self, spec: InstanceSpec) -> dict:
        env = {**spec.env, **{f"-p {port}:{port}": "1" for port in spec.ports}}
        body = {"client_id": "me", "image": spec.image, "disk": spec.disk_gb, "label": spec.tag, "env": env,
                "runtype": "ssh", "onstart": _onstart(spec), "cancel_unavail": not spec.spot}
        if spec.spot:
            body["price"] = spec.bid_per_hour if spec.bid_per_hour is not None else await self._min_bid(spec.offer_id)
        return body

    async def _min_bid(self, offer_id: str) -> float:
        query = {"id": {"eq": _offer_number(offer_id)}, "type": "bid", "allocated_storage": STORAGE_GB}
        rows = (await self._json("POST", "/api/v0/bundles/", json=query, idempotent=True)).get("offers") or []
        bid = _num(rows[0].get("min_bid")) if rows and isinstance(rows[0], dict) else None
        if not bid:
            raise CapacityError(f"Vast.ai offer {offer_id} is no longer available for bidding.")
        return bid

    async def get_instance(self, instance_id: str) -> Instance:
        row = (await self._json("GET", f"/api/v0/instances/{instance_id}/", params={"owner": "me"})).get("instances")
        if not isinstance(row, dict):  # Vast answers {"instances": null} for an unknown id
            raise NotFound(f"Vast.ai has no instance {instance_id}.")
        return _parse_instance(row)

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        rows = (await self._json("GET", "/api/v0/instances/", params={"owner": "me"})).get("instances") or []
        instances = [_parse_instance(row) for row in rows if isinstance(row, dict)]
        return [i for i in instances if tag is None or i.tag == tag]

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._request("DELETE", f"/api/v0/instances/{instance_id}/")
        except NotFound:
            pass  # no_such_instance: already destroyed is what terminate wants

    async def stop(self, instance_id: str) -> None:
        await self._request("PUT", f"/api/v0/instances/{instance_id}/", json={"state": "stopped"})

    async def start(self, instance_id: str) -> None:
        await self._request("PUT", f"/api/v0/instances/{instance_id}/", json={"state": "running"})

    async def restart(self, instance_id: str) -> None:
        await self._request("PUT", f"/api/v0/instances/reboot/{instance_id}/")

    async def ssh_info(self, instance_id: str) -> SshInfo:
        instance = await self.get_instance(instance_id)
        if instance.status is not InstanceStatus.RUNNING:
            raise NotFound(f"Vast.ai instance {instance_id} is not reachable over SSH yet "
                           f"(status {instance.raw_status}).")
        if instance.ssh_host and instance.ssh_port:
            return SshInfo(instance.ssh_host, instance.ssh_port, "root")
        if instance.public_ip and instance.ports.get(22):  # no proxy: the direct mapping of port 22
            return SshInfo(instance.public_ip, instance.ports[22], "root")
        raise NotFound(f"Vast.ai instance {instance_id} is running but reports no SSH port "
                       "(neither the proxy's ssh_port nor a direct mapping of port 22).")

    async def fetch_logs(self, instance_id: str, since: datetime | None = None) -> list[LogLine]:
        """The container log's last LOG_TAIL lines, oldest first, without timestamps (`since`
        cannot narrow a Vast log request)."""
        number = _instance_number(instance_id)
        # Asking again changes nothing, so a flaky gateway's 502 may be retried.
        body = await self._json("PUT", f"/api/v0/instances/request_logs/{number}/",
                                json={"tail": str(LOG_TAIL)}, idempotent=True)
        url = body.get("result_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError(f"Vast.ai answered a log request without a result_url: {body}",
                                secrets=(self._api_key,))
        return [LogLine(text) for text in (await self._log_file(url)).splitlines()]

    async def _log_file(self, url: str) -> str:
        """Poll the uploaded file; a client of its own, so the API key never travels to S3."""
        async with make_client(base_url="", transport=self._transport) as client:
            for _ in range(self.log_polls):
                try:
                    response = await client.get(url)
                except httpx.RequestError as exc:
                    raise ProviderUnavailable(
                        f"Vast.ai's log file could not be fetched ({type(exc).__name__})") from None
                if response.status_code == 200:
                    return response.text
                if response.status_code not in LOG_FILE_PENDING:
                    raise ProviderUnavailable(f"Vast.ai's log file answered HTTP {response.status_code}.")
                await asyncio.sleep(self.log_poll_s)
        raise ProviderUnavailable(f"Vast.ai did not upload the logs within {self.log_polls * self.log_poll_s:.0f} s.")

    async def fetch_metrics(self, instance_id: str) -> list[MetricPoint]:
        row, now = (await self.get_instance(instance_id)).raw, datetime.now(timezone.utc)
        return [MetricPoint(name, float(row[field]) * scale, now) for name, field, scale in METRICS
                if _num(row.get(field)) is not None]


# --- parsing helpers ------------------------------------------------------------------------------


def _vast_number(value, what: str) -> int:
    """Vast offer and instance ids are integers; anything else is one Vast cannot know (NotFound)."""
    text = str(value).strip()
    if not text.isdigit():
        raise NotFound(f"{value!r} is not a Vast.ai {what} id.")
    return int(text)


def _offer_number(offer_id) -> int:
    return _vast_number(offer_id, "offer")


def _instance_number(instance_id) -> int:
    return _vast_number(instance_id, "instance")


def _port(value) -> int | None:
    number = _num(value)
    return int(number) if number else None


def _text(value) -> str | None:
    return None if value is None else str(value)


def _ram_gb(row: dict) -> float | None:
    """cpu_ram is MB for the whole host; a slice gets its share of cores' worth (gpuhunt)."""
    ram, cores, effective = _num(row.get("cpu_ram")), _num(row.get("cpu_cores")), _num(row.get("cpu_cores_effective"))
    if ram is None:
        return None
    share = effective / cores if cores and effective else 1.0
    return round(ram * share / 1024, 1)


def _onstart(spec: InstanceSpec) -> str:
    lines = []
    if spec.ssh_public_keys:
        lines.append("mkdir -p ~/.ssh && chmod 700 ~/.ssh")
        lines += [f"echo {shlex.quote(key)} >> ~/.ssh/authorized_keys" for key in spec.ssh_public_keys]
    if spec.command:
        lines.append(shlex.join(spec.command))
    return "\n".join(lines)


def _status(row: dict) -> InstanceStatus:
    actual, intended = row.get("actual_status"), row.get("intended_status")
    if row.get("cur_state") == "unloaded":
        return InstanceStatus.TERMINATED
    if actual is None:
        return InstanceStatus.PROVISIONING
    if actual == "created" and "oci runtime create failed" in str(row.get("status_msg") or "").lower():
        return InstanceStatus.FAILED
    if actual == "stopped" and row.get("is_bid") and intended == "running":
        return InstanceStatus.PREEMPTED  # we want it running but the host stopped it: outbid
    if actual == "running" and intended == "stopped":
        return InstanceStatus.STOPPING
    return STATUS.get(str(actual).lower(), InstanceStatus.UNKNOWN)


def _ports(row: dict) -> dict[int, int]:
    mapped = {}
    for key, bindings in (row.get("ports") or {}).items():
        inner, _, _ = str(key).partition("/")
        if inner.isdigit() and bindings and str(bindings[0].get("HostPort", "")).isdigit():
            mapped[int(inner)] = int(bindings[0]["HostPort"])
    return mapped


def _parse_instance(row: dict) -> Instance:
    """A row without the fields we need is the provider's fault: ProviderError, not a crash."""
    try:
        return _instance_from_row(row)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ProviderError(f"Vast.ai instance answer is missing or has malformed fields ({type(exc).__name__}: "
                            f"{exc}) for instance {row.get('id')!r}") from None


def _instance_from_row(row: dict) -> Instance:
    """SSH through Vast's proxy (`ssh_host:ssh_port`), which every instance has; SkyPilot found
    the direct address unreliable. Direct ports stay available in ``ports``."""
    return Instance(
        instance_id=str(row["id"]), tag=row.get("label") or None, status=_status(row), raw_status=row.get("actual_status"),
        public_ip=row.get("public_ipaddr"), ssh_host=row.get("ssh_host"),
        ssh_port=_port(row.get("ssh_port")), ssh_user="root" if row.get("ssh_host") else None,
        ports=_ports(row), price_per_hour=_num(row.get("dph_total")),
        created_at=datetime.fromtimestamp(_num(row["start_date"]), timezone.utc) if _num(row.get("start_date")) else None,
        raw=row)
