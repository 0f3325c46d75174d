"""Simulated RunPod: the GraphQL API at POST /graphql (reference/providers.md §1), and the REST
v2 log stream (Server-Sent Events at GET /v2/pods/{id}/logs, §1.8).

Dispatch is on the root field of the operation (`gpuTypes`, `pod`, `myself`, `podStop`, ...) and
arguments come from `variables`, as the real adapter always sends them. Domain errors are HTTP 200
with an `errors` array; a bad key is 401; the 429 is the v2-style problem body with Retry-After.
Prices are per GPU and drift; pods have no `runtime` until booted, then expose 22/tcp publicly.
A pod's container prints lines and may end by itself (providers.sandbox.workload): the pod is then
EXITED, like a stopped one, but its last status change does not say a user stopped it.
"""

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from providers.sandbox import ssh
from providers.sandbox.base import GOOD_KEY_PREFIX, Request, Response, SandboxCloud, SimInstance, hash_unit
from providers.sandbox.workload import Workload, micros, parse_rfc3339, rfc3339, window

NO_CAPACITY = "There are no longer any instances available with the requested specifications. Please refresh and try again."
NO_RESUME_CAPACITY = "There are not enough free GPUs on the host machine to start this pod."
PREEMPTED_NOTE = "Exited by host: spot instance outbid"
EXITED_NOTE = "Exited: the container's main process ended"
LOG_SOURCES = ("container", "system")
MAX_TAIL = 5000


@dataclass(frozen=True)
class GpuType:
    id: str
    display: str
    memory_gb: int
    secure: float | None  # on-demand $/h per GPU; None when that cloud does not list it
    community: float | None
    spot: float  # secure spot $/h per GPU; community spot is a share of it
    max_count: int = 8
    manufacturer: str = "Nvidia"
    vcpu_per_gpu: int = 8
    ram_per_gpu: int = 62


# Per-GPU list prices close to RunPod's public pricing page (2025-2026).
CATALOG = [
    GpuType("NVIDIA H200", "H200 SXM", 141, 3.99, None, 3.59, vcpu_per_gpu=12, ram_per_gpu=188),
    GpuType("NVIDIA H100 80GB HBM3", "H100 SXM", 80, 2.69, 2.69, 1.75, vcpu_per_gpu=16, ram_per_gpu=125),
    GpuType("NVIDIA H100 PCIe", "H100 PCIe", 80, 2.39, 1.99, 1.25, vcpu_per_gpu=16, ram_per_gpu=188),
    GpuType("NVIDIA H100 NVL", "H100 NVL", 94, 2.79, 2.59, 1.49, vcpu_per_gpu=16, ram_per_gpu=94),
    GpuType("NVIDIA A100-SXM4-80GB", "A100 SXM", 80, 1.74, 1.39, 0.95, vcpu_per_gpu=16, ram_per_gpu=125),
    GpuType("NVIDIA A100 80GB PCIe", "A100 PCIe", 80, 1.64, 1.19, 0.82, vcpu_per_gpu=8, ram_per_gpu=117),
    GpuType("NVIDIA L40S", "L40S", 48, 0.86, 0.79, 0.53, vcpu_per_gpu=12, ram_per_gpu=62),
    GpuType("NVIDIA L40", "L40", 48, 0.99, 0.69, 0.5),
    GpuType("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada", 48, 0.77, 0.74, 0.45, vcpu_per_gpu=10),
    GpuType("NVIDIA RTX A6000", "RTX A6000", 48, 0.49, 0.33, 0.25),
    GpuType("NVIDIA GeForce RTX 4090", "RTX 4090", 24, 0.69, 0.34, 0.29, vcpu_per_gpu=6, ram_per_gpu=41),
    GpuType("NVIDIA GeForce RTX 3090", "RTX 3090", 24, 0.43, 0.22, 0.12, vcpu_per_gpu=4, ram_per_gpu=24),
    GpuType("NVIDIA L4", "L4", 24, 0.43, None, 0.22, vcpu_per_gpu=8, ram_per_gpu=50),
    GpuType("NVIDIA A40", "A40", 48, 0.40, 0.35, 0.2, vcpu_per_gpu=9, ram_per_gpu=50),
    GpuType("AMD Instinct MI300X OAM", "MI300X", 192, 2.49, None, 1.99, manufacturer="AMD",
            vcpu_per_gpu=24, ram_per_gpu=283),
]
_BY_ID = {gpu.id: gpu for gpu in CATALOG}
_ROOT_FIELD = re.compile(r"\{\s*(\w+)")
_STOCK = ("High", "High", "Medium", "Low", None)  # by hash: some (type, cloud, count) are sold out


class RunPodCloud(SandboxCloud):
    name = "runpod"
    display_name = "RunPod"
    routes = [("POST", "/graphql", "graphql"), ("GET", r"/v2/pods/(?P<pod_id>[^/]+)/logs", "pod_logs")]
    boot_s = 2.0  # seconds with `runtime: null` after a deploy or resume; tests shorten it
    log_every_s = 2.0  # a running container prints a line this often
    log_follow_s = 30.0  # a log stream stays open this long (real seconds) for new lines

    # --- provider-specific answers -----------------------------------------------------------

    def api_key(self, request: Request) -> str | None:
        return request.bearer() or request.query.get("api_key")  # GraphQL also takes ?api_key=

    def unauthorized(self) -> Response:
        return Response.json({"errors": [{"message": "Unauthorized request, please check your API key."}]}, 401)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if response.status == 401 and request.path.startswith("/v2/"):  # REST v2 answers RFC 9457 problems
            return _problem(401, "Unauthorized", "invalid or missing API key")
        return response

    def rate_limited(self) -> Response:
        body = {"title": "Too Many Requests", "status": 429, "detail": "rate limit exceeded for the minute window"}
        return Response.json(body, 429, content_type="application/problem+json", **{"Retry-After": "2"})

    # --- catalog -----------------------------------------------------------------------------

    def price(self, gpu: GpuType, secure: bool) -> float | None:
        base = gpu.secure if secure else gpu.community
        return None if base is None else self.drift.price(base, f"runpod:{gpu.id}:{secure}")

    def bid(self, gpu: GpuType, secure: bool) -> float:
        base = gpu.spot if secure else round(gpu.spot * 0.8, 2)
        return self.drift.price(base, f"runpod:{gpu.id}:{secure}:spot")

    def stock(self, gpu: GpuType, secure: bool, count: int) -> str | None:
        if count > gpu.max_count or self.price(gpu, secure) is None:
            return None
        return _STOCK[int(hash_unit(f"{gpu.id}:{secure}:{count}") * len(_STOCK))]

    def lowest_price(self, gpu: GpuType, lowest: dict) -> dict:
        count, secure = int(lowest.get("gpuCount") or 1), bool(lowest.get("secureCloud", True))
        stock = self.stock(gpu, secure, count)
        price = self.price(gpu, secure) if stock else None
        return {"minimumBidPrice": self.bid(gpu, secure) if stock else None, "uninterruptablePrice": price,
                "minVcpu": gpu.vcpu_per_gpu * count, "minMemory": gpu.ram_per_gpu * count, "stockStatus": stock,
                "availableGpuCounts": [n for n in (1, 2, 4, 8) if n <= gpu.max_count],
                "countryCode": "US" if secure else "CA", "compliance": None}

    def gpu_type_row(self, gpu: GpuType, lowest: dict) -> dict:
        return {"id": gpu.id, "displayName": gpu.display, "manufacturer": gpu.manufacturer,
                "memoryInGb": gpu.memory_gb, "maxGpuCount": gpu.max_count, "secureCloud": gpu.secure is not None,
                "communityCloud": gpu.community is not None, "securePrice": self.price(gpu, True),
                "communityPrice": self.price(gpu, False), "secureSpotPrice": self.bid(gpu, True),
                "communitySpotPrice": self.bid(gpu, False), "lowestPrice": self.lowest_price(gpu, lowest)}

    # --- GraphQL dispatch --------------------------------------------------------------------

    def graphql(self, request: Request, key: str) -> Response:
        try:
            body = request.json()
            query, variables = body["query"], body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return Response.json({"errors": [{"message": "Must provide query string."}]}, 400)
        match = _ROOT_FIELD.search(query)
        handler = getattr(self, f"op_{match.group(1)}", None) if match else None
        if handler is None:
            return _error(f"Cannot query field \"{match.group(1) if match else ''}\" on type \"Query\".")
        self.apply_preemption()
        return handler(key, variables)

    def op_gpuTypes(self, key: str, variables: dict) -> Response:
        if self.faults.garbage:
            return self._garbage(variables)
        wanted = (variables.get("gpuTypesInput") or {}).get("id")
        lowest = variables.get("lowestPriceInput") or {}
        rows = [self.gpu_type_row(gpu, lowest) for gpu in CATALOG if wanted in (None, gpu.id)]
        return Response.json({"data": {"gpuTypes": rows}})

    def _garbage(self, variables: dict) -> Response:
        if self.faults.garbage == "html":
            return Response.html("<!DOCTYPE html><html><body>Just a moment...</body></html>", 200)
        if self.faults.garbage == "truncated":
            return Response(200, b'{"data":{"gpuTypes":[{"id":"NVIDIA H100 80GB HBM3","displayName":"H1',
                            {"Content-Type": "application/json"})
        rows = [{"id": gpu.id, "memoryInGb": gpu.memory_gb, "lowestPrice": {"stockStatus": "High"}} for gpu in CATALOG]
        return Response.json({"data": {"gpuTypes": rows}})

    def op_myself(self, key: str, variables: dict) -> Response:
        pods = [self.pod_json(pod) for pod in self.instances.values() if pod.owner_key == key and pod.state != "terminated"]
        user = {"id": "user_" + key[len(GOOD_KEY_PREFIX):][:8], "email": "sandbox@example.com",
                "clientBalance": 42.0, "pods": pods}
        return Response.json({"data": {"myself": user}})

    def op_pod(self, key: str, variables: dict) -> Response:
        pod = self.owned(key, (variables.get("input") or {}).get("podId", ""))
        return Response.json({"data": {"pod": self.pod_json(pod) if pod else None}})

    def op_podFindAndDeployOnDemand(self, key: str, variables: dict) -> Response:
        return self._deploy(key, variables.get("input") or {}, spot=False)

    def op_podRentInterruptable(self, key: str, variables: dict) -> Response:
        return self._deploy(key, variables.get("input") or {}, spot=True)

    def _deploy(self, key: str, spec: dict, *, spot: bool) -> Response:
        field = "podRentInterruptable" if spot else "podFindAndDeployOnDemand"
        gpu, secure = _BY_ID.get(spec.get("gpuTypeId", "")), spec.get("cloudType", "ALL") != "COMMUNITY"
        count = int(spec.get("gpuCount") or 1)
        if not spec.get("imageName"):
            return _error("imageName is required", field)
        if gpu is None or self.faults.capacity_error or not self.stock(gpu, secure, count):
            return _error(NO_CAPACITY, field)
        if spot and float(spec.get("bidPerGpu") or 0) < self.bid(gpu, secure):
            return _error(f"Your bid price is below the minimum bid of ${self.bid(gpu, secure)}/GPU.", field)
        pod = SimInstance(id=self.new_id(), owner_key=key, created_at=self.now(),
                          spec={**spec, "spot": spot, "secure": secure}, boot_s=self.boot_s)
        pod.extra.update(cost=(float(spec["bidPerGpu"]) if spot else self.price(gpu, secure)) * count,
                         port=ssh.open_for(self, pod, *_env_values(spec, "PUBLIC_KEY")), machine=self.new_id(),
                         workload=self._workload(spec))
        self.instances[pod.id] = pod
        return Response.json({"data": {field: {"id": pod.id, "imageName": spec["imageName"],
                                               "env": pod_env(spec), "machineId": pod.extra["machine"],
                                               "machine": {"podHostId": f"{pod.id}-{pod.extra['machine'][:8]}"}}}})

    def _workload(self, spec: dict) -> Workload:
        env = {item.get("key"): item.get("value") for item in spec.get("env") or []}
        return Workload.from_launch(spec["imageName"], spec.get("dockerArgs", ""), env, every_s=self.log_every_s)

    def op_podStop(self, key: str, variables: dict) -> Response:
        return self._transition(key, variables, "podStop", "stopped")

    def op_podResume(self, key: str, variables: dict) -> Response:
        pod = self.owned(key, (variables.get("input") or {}).get("podId", ""))
        if pod is not None and pod.spec.get("spot"):
            return _error("Cannot resume a spot pod with podResume; use podBidResume.", "podResume")
        return self._resume(key, variables, "podResume")

    def op_podBidResume(self, key: str, variables: dict) -> Response:
        pod = self.owned(key, (variables.get("input") or {}).get("podId", ""))
        if pod is not None and not pod.spec.get("spot"):
            return _error("podBidResume only applies to spot pods.", "podBidResume")
        return self._resume(key, variables, "podBidResume")

    def _resume(self, key: str, variables: dict, field: str) -> Response:
        if self.faults.capacity_error:
            return _error(NO_RESUME_CAPACITY, field)
        return self._transition(key, variables, field, "running")

    def _transition(self, key: str, variables: dict, field: str, state: str) -> Response:
        pod = self.owned(key, (variables.get("input") or {}).get("podId", ""))
        if pod is None:
            return _error("Pod not found", field)
        self.set_state(pod, state)
        return Response.json({"data": {field: {"id": pod.id, "desiredStatus": self.pod_json(pod)["desiredStatus"]}}})

    def op_podTerminate(self, key: str, variables: dict) -> Response:
        pod = self.owned(key, (variables.get("input") or {}).get("podId", ""))
        if pod is None:
            return _error("pod not found to terminate", "podTerminate")
        self.set_state(pod, "terminated")
        return Response.json({"data": {"podTerminate": None}})

    # --- pod rendering -----------------------------------------------------------------------

    def pod_json(self, pod: SimInstance) -> dict:
        spec, gpu = pod.spec, _BY_ID[pod.spec["gpuTypeId"]]
        exited = pod.extra["workload"].exited(pod, self.now())
        desired = {"running": "EXITED" if exited else "RUNNING", "stopped": "EXITED", "preempted": "EXITED"}.get(
            pod.state, "TERMINATED")
        up = desired == "RUNNING" and pod.booted(self.now())
        return {"id": pod.id, "name": spec.get("name", ""), "desiredStatus": desired, "imageName": spec["imageName"],
                "env": pod_env(spec), "gpuCount": int(spec.get("gpuCount") or 1),
                "podType": "INTERRUPTABLE" if spec["spot"] else "RESERVED",
                "costPerHr": round(pod.extra["cost"], 4) if desired == "RUNNING" else 0,
                "machineId": pod.extra["machine"], "lastStatusChange": self._last_change(pod),
                "machine": {"gpuDisplayName": gpu.display, "podHostId": f"{pod.id}-{pod.extra['machine'][:8]}"},
                "runtime": self.runtime(pod) if up else None}

    def _last_change(self, pod: SimInstance) -> str:
        if pod.state == "running" and pod.extra["workload"].exited(pod, self.now()):
            return EXITED_NOTE
        return {"preempted": PREEMPTED_NOTE, "stopped": "Exited by user"}.get(pod.state, "Rented by User")

    def runtime(self, pod: SimInstance) -> dict:
        ports = [{"ip": ssh.HOST, "isIpPublic": True,
                  "privatePort": 22, "publicPort": pod.extra["port"], "type": "tcp"}]
        for offset, port in enumerate(_requested_ports(pod.spec.get("ports", ""))):
            ports.append({"ip": "100.65.0.2", "isIpPublic": False, "privatePort": port,
                          "publicPort": 30000 + offset, "type": "http"})
        count = int(pod.spec.get("gpuCount") or 1)
        gpus = [{"id": f"GPU-{pod.id}-{i}", "gpuUtilPercent": 37, "memoryUtilPercent": 12} for i in range(count)]
        return {"uptimeInSeconds": int(self.now() - max(pod.created_at, pod.changed_at)), "ports": ports,
                "gpus": gpus, "container": {"cpuPercent": 4, "memoryPercent": 9}}


    # --- REST v2 logs: Server-Sent Events ------------------------------------------------------

    def pod_logs(self, request: Request, key: str, pod_id: str) -> Response:
        """`tail` lines at or after `since` (or strictly after `Last-Event-ID`), then new ones as the
        container prints them while it runs; each event's id is its line's timestamp."""
        pod = self.owned(key, pod_id)
        if pod is None:
            return _problem(404, "Not Found", "pod not found")
        try:
            source, tail, after = _log_query(request)
        except ValueError as exc:
            return _problem(400, "Bad Request", "invalid log query", errors=[str(exc)])
        lines = self.log_lines(pod, source)
        newest = lines[-1][0] if lines else None  # what follows the backlog is printed after it
        stream = self._follow(pod, source, window(lines, after, tail), after, newest)
        return Response(200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, stream=stream)

    def log_lines(self, pod: SimInstance, source: str) -> Sequence[tuple[float, str]]:
        if source == "system":
            starts = [start for start, _ in pod.past_runs] + [pod.run_started_at() or float("inf")]
            return [(start, "Starting container") for start in starts if start <= self.now()]
        return pod.extra["workload"].output(pod, self.now())

    def _streaming(self, pod: SimInstance) -> bool:
        return self.owned(pod.owner_key, pod.id) is pod and self.pod_json(pod)["desiredStatus"] == "RUNNING"

    def _follow(self, pod: SimInstance, source: str, backlog: list, after, last: float | None) -> Iterator[bytes]:
        """The backlog at once, then lines printed after `last` every 0.1 s (a comment each second,
        so a client that left is noticed) until the container stops or `log_follow_s` passes."""
        yield b": log stream\n\n" + b"".join(_event(source, at, text) for at, text in backlog)
        deadline = quiet_since = time.monotonic()
        deadline += self.log_follow_s
        while time.monotonic() < deadline:
            with self.lock:
                streaming = self._streaming(pod)
                new = window(self.log_lines(pod, source), lambda at: after(at) and (last is None or at > last),
                             limit=MAX_TAIL)  # a clock a test moved far ahead must not hold the lock for long
            if new:
                last, quiet_since = new[-1][0], time.monotonic()
                yield b"".join(_event(source, at, text) for at, text in new)
            elif time.monotonic() - quiet_since >= 1.0:
                quiet_since = time.monotonic()
                yield b": keep-alive\n\n"
            if not streaming:
                return
            time.sleep(0.1)


def _log_query(request: Request) -> tuple[str, int, object]:
    """(source, tail, a test of a line's time) from the query and Last-Event-ID; ValueError when invalid."""
    source = request.query.get("source", "container")
    if source not in LOG_SOURCES:
        raise ValueError(f"source must be one of {', '.join(LOG_SOURCES)}")
    tail = request.query.get("tail", "100")
    if not tail.isdigit() or int(tail) > MAX_TAIL:
        raise ValueError(f"tail must be a whole number from 0 to {MAX_TAIL}")
    last_id, since = request.headers.get("last-event-id"), request.query.get("since")
    try:
        if last_id:
            after = parse_rfc3339(last_id)
            return source, int(tail), lambda at: micros(at) > after
        start = parse_rfc3339(since) if since else None
    except ValueError:
        raise ValueError("since and Last-Event-ID must be RFC 3339 times") from None
    return source, int(tail), lambda at: start is None or micros(at) >= start


def _event(source: str, at: float, text: str) -> bytes:
    stamp = rfc3339(at)
    data = json.dumps({"source": source, "line": text, "ts": stamp})
    return f"id: {stamp}\ndata: {data}\n\n".encode()


def _problem(status: int, title: str, detail: str, **extra) -> Response:
    return Response.json({"title": title, "status": status, "detail": detail, **extra}, status,
                         content_type="application/problem+json")


def pod_env(spec: dict) -> list[str]:
    """RunPod echoes env back as "KEY=value" strings."""
    return [f"{item['key']}={item['value']}" for item in spec.get("env") or []]


def _requested_ports(ports: str) -> list[int]:
    found = []
    for item in (ports or "").split(","):
        number, _, _kind = item.partition("/")
        if number.strip().isdigit() and int(number) != 22:
            found.append(int(number))
    return found


def _error(message: str, field: str | None = None) -> Response:
    error = {"message": message, "path": [field] if field else [], "extensions": {"code": "BAD_USER_INPUT"}}
    return Response(200, json.dumps({"errors": [error], "data": None}).encode(), {"Content-Type": "application/json"})


def _env_values(spec: dict, name: str) -> list[str]:
    return [str(item.get("value")) for item in spec.get("env") or [] if item.get("key") == name]
