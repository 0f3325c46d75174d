"""Simulated RunPod: the GraphQL API at POST /graphql (reference/providers.md §1).

Dispatch is on the root field of the operation (`gpuTypes`, `pod`, `myself`, `podStop`, ...) and
arguments come from `variables`, as the real adapter always sends them. Domain errors are HTTP 200
with an `errors` array; a bad key is 401; the 429 is the v2-style problem body with Retry-After.
Prices are per GPU and drift; pods have no `runtime` until booted, then expose 22/tcp publicly.
"""

import json
import re
from dataclasses import dataclass

from providers.sandbox.base import GOOD_KEY_PREFIX, Request, Response, SandboxCloud, SimInstance, hash_unit

NO_CAPACITY = "There are no longer any instances available with the requested specifications. Please refresh and try again."
NO_RESUME_CAPACITY = "There are not enough free GPUs on the host machine to start this pod."
PREEMPTED_NOTE = "Exited by host: spot instance outbid"


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
    routes = [("POST", "/graphql", "graphql")]
    boot_s = 2.0  # seconds with `runtime: null` after a deploy or resume; tests shorten it

    # --- provider-specific answers -----------------------------------------------------------

    def api_key(self, request: Request) -> str | None:
        return request.bearer() or request.query.get("api_key")  # GraphQL also takes ?api_key=

    def unauthorized(self) -> Response:
        return Response.json({"errors": [{"message": "Unauthorized request, please check your API key."}]}, 401)

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
                         port=20000 + len(self.instances), machine=self.new_id())
        self.instances[pod.id] = pod
        return Response.json({"data": {field: {"id": pod.id, "imageName": spec["imageName"],
                                               "env": pod_env(spec), "machineId": pod.extra["machine"],
                                               "machine": {"podHostId": f"{pod.id}-{pod.extra['machine'][:8]}"}}}})

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
        desired = {"running": "RUNNING", "stopped": "EXITED", "preempted": "EXITED"}.get(pod.state, "TERMINATED")
        up = pod.state == "running" and pod.booted(self.now())
        return {"id": pod.id, "name": spec.get("name", ""), "desiredStatus": desired, "imageName": spec["imageName"],
                "env": pod_env(spec), "gpuCount": int(spec.get("gpuCount") or 1),
                "podType": "INTERRUPTABLE" if spec["spot"] else "RESERVED",
                "costPerHr": round(pod.extra["cost"], 4) if pod.state == "running" else 0,
                "machineId": pod.extra["machine"], "lastStatusChange": self._last_change(pod),
                "machine": {"gpuDisplayName": gpu.display, "podHostId": f"{pod.id}-{pod.extra['machine'][:8]}"},
                "runtime": self.runtime(pod) if up else None}

    def _last_change(self, pod: SimInstance) -> str:
        return {"preempted": PREEMPTED_NOTE, "stopped": "Exited by user"}.get(pod.state, "Rented by User")

    def runtime(self, pod: SimInstance) -> dict:
        ports = [{"ip": "203.0.113.%d" % (10 + int(hash_unit(pod.id) * 200)), "isIpPublic": True,
                  "privatePort": 22, "publicPort": pod.extra["port"], "type": "tcp"}]
        for offset, port in enumerate(_requested_ports(pod.spec.get("ports", ""))):
            ports.append({"ip": "100.65.0.2", "isIpPublic": False, "privatePort": port,
                          "publicPort": 30000 + offset, "type": "http"})
        count = int(pod.spec.get("gpuCount") or 1)
        gpus = [{"id": f"GPU-{pod.id}-{i}", "gpuUtilPercent": 37, "memoryUtilPercent": 12} for i in range(count)]
        return {"uptimeInSeconds": int(self.now() - max(pod.created_at, pod.changed_at)), "ports": ports,
                "gpus": gpus, "container": {"cpuPercent": 4, "memoryPercent": 9}}


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
