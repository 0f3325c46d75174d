"""RunPod through its GraphQL API (reference/providers.md §1): the one surface that covers offers
with spot bids, on-demand and spot pods, stop/resume and telemetry. Every value travels as a
GraphQL variable, never interpolated into the query text (the official SDK's injection bug).

Restart is stop + resume: GraphQL has no restart mutation (only REST v1/v2 do), and resuming
starts the container fresh on the same pod volume. Logs exist only in REST v2, as Server-Sent
Events (`GET /v2/pods/{id}/logs`, same host and key), read for a bounded time (adapters.sse).
Metrics come from the pod's `runtime` (GPU and container utilisation).

EXITED is both a stop and a container whose command ended: `lastStatusChange` tells them apart.
Stopped by a user (or with no note) is STOPPED, which the reconciler may start again; taken by
the host is PREEMPTED; ended by itself is FAILED, so nothing reruns a finished command (RunPod
reports no exit code; a batch job prints its own, automation.jobqueue.marker).
"""

import json
import re
import shlex
from datetime import datetime, timezone

from computehub.http import json_body
from providers.adapters.base import (AuthError, Capabilities, CapacityError, Instance, InstanceSpec, InstanceStatus,
                                     LogLine, MetricPoint, NotFound, Offer, ProviderAdapter, ProviderError, SshInfo)
from providers.adapters.parsing import num as _num
from providers.adapters.registry import register
from providers.adapters.sse import ServerSentEvents

TAG_ENV = "COMPUTEHUB_TAG"
_TAG_IN_NAME = re.compile(r"ch-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GPU_COUNTS = (1, 2, 4, 8)  # pod sizes offered; RunPod rents 1..maxGpuCount but these are what people compare
CLOUDS = (("SECURE", True), ("COMMUNITY", False))
# providers.md §1.3: the documented on-demand price is securePrice / communityPrice, $/h per GPU;
# lowestPrice.uninterruptablePrice ("lowest for that filter") is only a fallback when it is absent.
PRICE_FIELD = {"SECURE": "securePrice", "COMMUNITY": "communityPrice"}
STOCK_UNITS = {"high": 10, "medium": 3, "low": 1}  # RunPod gives a level, not a count
# GraphQL error messages that mean something other than "unexpected" (dstack and our sandbox).
CAPACITY_HINTS = ("no longer any instances available", "not enough free gpus", "no instances available")
PREEMPT_HINTS = ("outbid", "by host", "interrupt")
USER_STOP_HINT = "by user"  # "Exited by User: <date>" after podStop or a stop in the console
LOG_TAIL = 5000  # the most v2 gives: after `since` only new lines come, and fewer could skip some
_POD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

GPU_TYPES_QUERY = """query GpuTypes($lowestPriceInput: GpuLowestPriceInput, $gpuTypesInput: GpuTypeFilter) {
  gpuTypes(input: $gpuTypesInput) { id displayName manufacturer memoryInGb maxGpuCount secureCloud communityCloud
    securePrice communityPrice
    lowestPrice(input: $lowestPriceInput) { minimumBidPrice uninterruptablePrice minVcpu minMemory stockStatus
      availableGpuCounts countryCode } } }"""
POD_FIELDS = """id name desiredStatus imageName env gpuCount podType costPerHr machineId lastStatusChange
  machine { gpuDisplayName podHostId }
  runtime { uptimeInSeconds ports { ip isIpPublic privatePort publicPort type }
    gpus { id gpuUtilPercent memoryUtilPercent } container { cpuPercent memoryPercent } }"""
POD_QUERY = "query Pod($input: PodFilter!) { pod(input: $input) { %s } }" % POD_FIELDS
PODS_QUERY = "query Pods { myself { pods { %s } } }" % POD_FIELDS
MYSELF_QUERY = "query Myself { myself { id } }"
DEPLOY = "mutation Deploy($input: PodFindAndDeployOnDemandInput) { podFindAndDeployOnDemand(input: $input) { id } }"
DEPLOY_SPOT = "mutation DeploySpot($input: PodRentInterruptableInput!) { podRentInterruptable(input: $input) { id } }"
STOP = "mutation Stop($input: PodStopInput!) { podStop(input: $input) { id desiredStatus } }"
RESUME = "mutation Resume($input: PodResumeInput!) { podResume(input: $input) { id desiredStatus } }"
BID_RESUME = "mutation BidResume($input: PodBidResumeInput!) { podBidResume(input: $input) { id desiredStatus } }"
TERMINATE = "mutation Terminate($input: PodTerminateInput!) { podTerminate(input: $input) }"


@register
class RunPodAdapter(ServerSentEvents, ProviderAdapter):
    kind = "runpod"
    display_name = "RunPod"
    default_base_url = "https://api.runpod.io"
    capabilities = Capabilities(provider="RunPod", spot=True, stop_start=True, restart=True, logs=True, metrics=True,
                                ssh=True)
    rate_limit = (5.0, 10)  # undocumented for GraphQL; v2 examples allow 60/min sustained with bursts

    # --- transport ---------------------------------------------------------------------------

    def _classify(self, response):
        """GraphQL answers domain errors with HTTP 200 and an `errors` array."""
        body = json_body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if response.status_code == 200 and errors:
            return self._graphql_error(errors)
        if response.status_code == 404 and isinstance(body, dict) and body.get("detail"):  # a v2 problem
            return NotFound(f"RunPod: {body['detail']}")
        return super()._classify(response)

    def _graphql_error(self, errors) -> Exception:
        message = str((errors[0] or {}).get("message", "")) if isinstance(errors, list) and errors else str(errors)
        lowered = message.lower()
        if any(hint in lowered for hint in CAPACITY_HINTS):
            return CapacityError(f"RunPod: {message}")
        if "not found" in lowered:
            return NotFound(f"RunPod: {message}")
        if "unauthorized" in lowered or "api key" in lowered:
            return AuthError()
        return ProviderError(f"GraphQL error: {message}", secrets=(self._api_key,))

    async def _graphql(self, query: str, variables: dict | None = None, *, read_only: bool = False) -> dict:
        """`data` of one operation; reads may be replayed on a flaky gateway, mutations may not."""
        response = await self._request("POST", "/graphql", json={"query": query, "variables": variables or {}},
                                       idempotent=read_only)
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise ProviderError(f"RunPod answered something that is not GraphQL JSON: {response.text[:200]!r}",
                                secrets=(self._api_key,))
        return body["data"]

    # --- account and offers ------------------------------------------------------------------

    async def validate_credential(self) -> None:
        data = await self._graphql(MYSELF_QUERY, read_only=True)
        if not data.get("myself"):
            raise AuthError()

    async def list_offers(self) -> list[Offer]:
        offers = []
        for cloud, secure in CLOUDS:
            for count in GPU_COUNTS:
                offers += await self._offers_for(cloud, secure, count)
        return offers

    async def _offers_for(self, cloud: str, secure: bool, count: int) -> list[Offer]:
        variables = {"gpuTypesInput": None, "lowestPriceInput": {"gpuCount": count, "secureCloud": secure}}
        rows = (await self._graphql(GPU_TYPES_QUERY, variables, read_only=True)).get("gpuTypes")
        if not isinstance(rows, list):
            raise ProviderError("RunPod gpuTypes answer has no list of GPU types", secrets=(self._api_key,))
        parsed = [offer for row in rows for offer in self._offers_from_row(row, cloud, count)]
        if rows and not parsed and not any(_in_stock(row) for row in rows):
            return []  # everything sold out at this size is an answer, not garbage
        if rows and not parsed:
            raise ProviderError(f"RunPod listed {len(rows)} GPU types without usable price or GPU fields",
                                secrets=(self._api_key,))
        return parsed

    def _offers_from_row(self, row, cloud: str, count: int) -> list[Offer]:
        """On-demand and spot offers for one GPU type at one size; none when sold out or malformed.
        Every RunPod price is per GPU, so each is multiplied by the pod's GPU count."""
        try:
            lowest = row["lowestPrice"]
            per_gpu = _on_demand_per_gpu(row, cloud)
            if not lowest.get("stockStatus") or per_gpu is None:
                return []
            base = dict(provider=self.kind, offer_id=f"{cloud}|{count}|{row['id']}",
                        region=lowest.get("countryCode") or cloud.lower(), gpu_name_raw=row["displayName"],
                        gpu_count=count, vram_gb_per_gpu=float(row["memoryInGb"]), vcpus=_num(lowest.get("minVcpu")),
                        ram_gb=_num(lowest.get("minMemory")), disk_gb=None,
                        available=STOCK_UNITS.get(str(lowest["stockStatus"]).lower()), raw={**row, "cloudType": cloud})
            offers = [Offer(**base, price_per_hour=round(per_gpu * count, 4))]
        except (KeyError, TypeError, ValueError, AttributeError):
            return []
        bid = _num(lowest.get("minimumBidPrice"))  # per GPU too (it is what bidPerGpu takes)
        if bid:
            total = round(bid * count, 4)
            offers.append(Offer(**base, price_per_hour=total, spot=True, min_bid_per_hour=total))
        return offers

    # --- lifecycle ---------------------------------------------------------------------------

    async def create_instance(self, spec: InstanceSpec) -> Instance:
        cloud, count, gpu_id = _parse_offer_id(spec.offer_id)
        pod_input = _deploy_input(spec, cloud, count, gpu_id)
        if not spec.spot:
            data = await self._graphql(DEPLOY, {"input": pod_input})
            return await self.get_instance(data["podFindAndDeployOnDemand"]["id"])
        pod_input["bidPerGpu"] = await self._bid_per_gpu(spec, cloud, count, gpu_id)
        data = await self._graphql(DEPLOY_SPOT, {"input": pod_input})
        return await self.get_instance(data["podRentInterruptable"]["id"])

    async def _bid_per_gpu(self, spec: InstanceSpec, cloud: str, count: int, gpu_id: str) -> float:
        """The caller's bid split per GPU, or the current minimum bid when none was given."""
        if spec.bid_per_hour is not None:
            return round(spec.bid_per_hour / count, 4)
        return await self._minimum_bid(count, cloud == "SECURE", gpu_id)

    async def _minimum_bid(self, count: int, secure: bool, gpu: str) -> float:
        """Current minimum spot bid per GPU for a GPU type id or display name."""
        variables = {"gpuTypesInput": None, "lowestPriceInput": {"gpuCount": count, "secureCloud": secure}}
        rows = (await self._graphql(GPU_TYPES_QUERY, variables, read_only=True)).get("gpuTypes") or []
        for row in rows:
            if isinstance(row, dict) and gpu in (row.get("id"), row.get("displayName")):
                bid = _num((row.get("lowestPrice") or {}).get("minimumBidPrice"))
                if bid:
                    return bid
        raise CapacityError(f"RunPod has no spot capacity for {count}x {gpu} right now.")

    async def get_instance(self, instance_id: str) -> Instance:
        data = await self._graphql(POD_QUERY, {"input": {"podId": instance_id}}, read_only=True)
        if not data.get("pod"):
            raise NotFound(f"RunPod has no pod {instance_id}.")
        return _parse_pod(data["pod"])

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        data = await self._graphql(PODS_QUERY, read_only=True)
        pods = [_parse_pod(pod) for pod in ((data.get("myself") or {}).get("pods") or [])]
        return [pod for pod in pods if tag is None or pod.tag == tag]

    async def terminate(self, instance_id: str) -> None:
        try:
            await self._graphql(TERMINATE, {"input": {"podId": instance_id}})
        except NotFound:
            pass  # "pod not found to terminate": already gone is what terminate wants

    async def stop(self, instance_id: str) -> None:
        await self._graphql(STOP, {"input": {"podId": instance_id}})

    async def start(self, instance_id: str) -> None:
        pod = await self.get_instance(instance_id)
        count = int(pod.raw.get("gpuCount") or 1)
        if pod.raw.get("podType") != "INTERRUPTABLE":
            await self._graphql(RESUME, {"input": {"podId": instance_id, "gpuCount": count}})
            return
        # A pod does not report its bid, so a spot pod resumes at today's minimum bid for its GPU
        # (secure cloud's, which is never below community's).
        bid = await self._minimum_bid(count, True, (pod.raw.get("machine") or {}).get("gpuDisplayName") or "")
        await self._graphql(BID_RESUME, {"input": {"podId": instance_id, "gpuCount": count, "bidPerGpu": bid}})

    async def restart(self, instance_id: str) -> None:
        await self.stop(instance_id)
        await self.start(instance_id)

    async def ssh_info(self, instance_id: str) -> SshInfo:
        pod = await self.get_instance(instance_id)
        if pod.status is InstanceStatus.RUNNING and pod.ssh_host is None:
            raise NotFound(f"RunPod pod {instance_id} is running but maps no port 22: its image does not "
                           "expose SSH (or the pod was created without 22/tcp).")
        if pod.ssh_host is None or pod.ssh_port is None:
            raise NotFound(f"RunPod pod {instance_id} exposes no public SSH port yet (status {pod.raw_status}).")
        return SshInfo(pod.ssh_host, pod.ssh_port, "root")

    async def fetch_logs(self, instance_id: str, since: datetime | None = None) -> list[LogLine]:
        """The container's lines at or after `since` (its last LOG_TAIL lines without), oldest first.
        `since` rather than Last-Event-ID: lines can share a timestamp, and the collector drops
        those it already stored at that moment, where resuming strictly after it could lose some."""
        if not _POD_ID.fullmatch(str(instance_id)):
            raise NotFound(f"{instance_id!r} is not a RunPod pod id.")
        params = {"source": "container", "tail": str(LOG_TAIL)}
        if since is not None:
            params["since"] = _rfc3339(since)
        events = await self._read_events(f"/v2/pods/{instance_id}/logs", params)
        return [line for line in map(_log_line, events) if line is not None]

    async def fetch_metrics(self, instance_id: str) -> list[MetricPoint]:
        runtime = (await self.get_instance(instance_id)).raw.get("runtime") or {}
        now = datetime.now(timezone.utc)
        points = [MetricPoint(name, float(gpu[field]), now, gpu_index=index)
                  for index, gpu in enumerate(runtime.get("gpus") or [])
                  for name, field in (("gpu_util_percent", "gpuUtilPercent"), ("gpu_memory_util_percent", "memoryUtilPercent"))
                  if gpu.get(field) is not None]
        container = runtime.get("container") or {}
        points += [MetricPoint(name, float(container[field]), now)
                   for name, field in (("cpu_percent", "cpuPercent"), ("memory_percent", "memoryPercent"))
                   if container.get(field) is not None]
        return points


# --- parsing helpers (module level: pure functions of the JSON) ----------------------------------


def _on_demand_per_gpu(row: dict, cloud: str) -> float | None:
    price = _num(row.get(PRICE_FIELD[cloud]))
    return price if price else _num((row.get("lowestPrice") or {}).get("uninterruptablePrice"))


def _in_stock(row) -> bool:
    return isinstance(row, dict) and bool((row.get("lowestPrice") or {}).get("stockStatus"))


def _parse_offer_id(offer_id: str) -> tuple[str, int, str]:
    try:
        cloud, count, gpu_id = offer_id.split("|", 2)
        return cloud, int(count), gpu_id
    except ValueError:
        raise NotFound(f"{offer_id!r} is not a RunPod offer id.") from None


def _deploy_input(spec: InstanceSpec, cloud: str, count: int, gpu_id: str) -> dict:
    env = {**spec.env, TAG_ENV: spec.tag}
    if spec.ssh_public_keys:  # RunPod images append PUBLIC_KEY (newline-separated keys) to authorized_keys
        env["PUBLIC_KEY"] = "\n".join(spec.ssh_public_keys)
    ports = ",".join(["22/tcp", *(f"{port}/http" for port in spec.ports if port != 22)])
    pod = {"name": spec.tag, "imageName": spec.image, "gpuTypeId": gpu_id, "gpuCount": count, "cloudType": cloud,
           "containerDiskInGb": spec.disk_gb, "volumeInGb": 0, "ports": ports, "startSsh": True,
           "supportPublicIp": True, "env": [{"key": k, "value": v} for k, v in env.items()]}
    if spec.command:
        pod["dockerArgs"] = shlex.join(spec.command)
    return pod


def _tag_of(pod: dict) -> str | None:
    """Our tag from the env var, else from the pod name (a pod renamed in the console keeps its env)."""
    for item in pod.get("env") or []:
        name, _, value = str(item).partition("=")
        if name == TAG_ENV:
            return value
    found = _TAG_IN_NAME.search(str(pod.get("name") or ""))
    return found.group(0) if found else None


def _status(pod: dict) -> InstanceStatus:
    desired = str(pod.get("desiredStatus") or "").upper()
    if desired == "RUNNING":  # §7: running once the container has a runtime, SSH port or not
        return InstanceStatus.RUNNING if pod.get("runtime") else InstanceStatus.PROVISIONING
    if desired in ("EXITED", "PAUSED"):
        return _exited_status(pod)
    return {"CREATED": InstanceStatus.PROVISIONING, "RESTARTING": InstanceStatus.STARTING,
            "DEAD": InstanceStatus.FAILED, "TERMINATED": InstanceStatus.TERMINATED}.get(desired, InstanceStatus.UNKNOWN)


def _exited_status(pod: dict) -> InstanceStatus:
    note = str(pod.get("lastStatusChange") or "").lower()
    if pod.get("podType") == "INTERRUPTABLE" and any(hint in note for hint in PREEMPT_HINTS):
        return InstanceStatus.PREEMPTED
    if not note or USER_STOP_HINT in note or pod.get("desiredStatus") == "PAUSED":
        return InstanceStatus.STOPPED
    return InstanceStatus.FAILED  # its command ended: starting it again would run it again


def _rfc3339(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _timestamp(text) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _log_line(event) -> LogLine | None:
    """One `{"source", "line", "ts"}` event; anything else on the stream (a heartbeat) is skipped."""
    try:
        data = json.loads(event.data)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("line"), str):
        return None
    return LogLine(data["line"], _timestamp(data.get("ts") or event.id))


def _public_ssh(pod: dict) -> dict | None:
    """The runtime port entry for 22/tcp, public ones first; None until the container is up."""
    ports = [p for p in ((pod.get("runtime") or {}).get("ports") or []) if p.get("privatePort") == 22]
    ports.sort(key=lambda p: (not p.get("isIpPublic"), p.get("type") != "tcp"))
    return ports[0] if ports else None


def _parse_pod(pod: dict) -> Instance:
    ssh = _public_ssh(pod)
    runtime_ports = (pod.get("runtime") or {}).get("ports") or []
    return Instance(
        instance_id=str(pod["id"]), tag=_tag_of(pod), status=_status(pod), raw_status=pod.get("desiredStatus"),
        public_ip=ssh.get("ip") if ssh and ssh.get("isIpPublic") else None,
        ssh_host=ssh.get("ip") if ssh else None, ssh_port=int(ssh["publicPort"]) if ssh else None,
        ssh_user="root" if ssh else None,
        ports={int(p["privatePort"]): int(p["publicPort"]) for p in runtime_ports if p.get("isIpPublic")},
        price_per_hour=_num(pod.get("costPerHr")), raw=pod)
