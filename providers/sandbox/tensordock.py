"""Simulated TensorDock v2 (reference/providers.md §4), served under /tensordock/api/v2.

Wire protocol: the JSON:API-like envelope `{"data": {"type", "id", "attributes"}}` for lists
and creates, and (as the real docs are inconsistent) flat fields under `data` for a single
instance with `portForwards` as a list. GPU prices are per GPU-hour; vCPU, RAM and storage are
priced per unit-hour on top. 100 requests per minute per organization, answered with 429.
TensorDock documents no error body: errors are `{"status": <code>, "error": "<message>"}`.
"""

import json
import uuid

from providers.sandbox import ssh
from providers.sandbox.base import Request, Response, SandboxCloud, SimInstance

RATE_LIMIT_PER_MINUTE = 100
STOP_S = 1.0  # stopping -> stopped after this long
RESOURCES = {"max_vcpus": 32, "max_ram_gb": 128, "max_storage_gb": 2000}
PRICING = {"per_vcpu_hr": 0.003, "per_gb_ram_hr": 0.002, "per_gb_storage_hr": 0.00005}

# v0Name -> (displayName, base $ per GPU-hour)
GPUS = {
    "geforcertx4090-pcie-24gb": ("NVIDIA GeForce RTX 4090 PCIe 24GB", 0.35),
    "geforcertx3090-pcie-24gb": ("NVIDIA GeForce RTX 3090 PCIe 24GB", 0.20),
    "rtxa6000-pcie-48gb": ("NVIDIA RTX A6000 PCIe 48GB", 0.40),
    "l40-pcie-48gb": ("NVIDIA L40 PCIe 48GB", 0.80),
    "a100-pcie-80gb": ("NVIDIA A100 PCIe 80GB", 1.10),
    "h100-sxm5-80gb": ("NVIDIA H100 SXM5 80GB", 2.25),
}
# (city, stateprovince, country, tier, {v0Name: max_count available now})
LOCATIONS = [
    ("Chubbuck", "Idaho", "United States", 3, {"geforcertx4090-pcie-24gb": 4, "geforcertx3090-pcie-24gb": 8}),
    ("Dallas", "Texas", "United States", 4, {"h100-sxm5-80gb": 8, "a100-pcie-80gb": 2, "l40-pcie-48gb": 0}),
    ("Manassas", "Virginia", "United States", 4, {"rtxa6000-pcie-48gb": 4, "a100-pcie-80gb": 0}),
    ("Amsterdam", "North Holland", "Netherlands", 3, {"geforcertx4090-pcie-24gb": 2, "l40-pcie-48gb": 4}),
    ("Singapore", "Singapore", "Singapore", 3, {"geforcertx3090-pcie-24gb": 1, "h100-sxm5-80gb": 0}),
]


def location_id(city: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tensordock:{city}"))


def _error(message: str, status: int, **headers) -> Response:
    return Response.json({"status": status, "error": message}, status=status, **headers)


class TensorDockSandbox(SandboxCloud):
    name = "tensordock"
    display_name = "TensorDock"
    boot_s = 2.0
    send_retry_after = True  # tests switch it off: the docs promise headers but do not name them
    routes = [
        ("GET", r"/api/v2/locations", "locations"),
        ("POST", r"/api/v2/instances", "create"),
        ("GET", r"/api/v2/instances", "list_instances"),
        ("GET", r"/api/v2/instances/(?P<instance_id>[\w-]+)", "get_instance"),
        ("POST", r"/api/v2/instances/(?P<instance_id>[\w-]+)/start", "start"),
        ("POST", r"/api/v2/instances/(?P<instance_id>[\w-]+)/stop", "stop"),
        ("DELETE", r"/api/v2/instances/(?P<instance_id>[\w-]+)", "delete"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.windows: dict[str, tuple[int, int]] = {}  # key -> (minute, calls in it)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.windows = {}

    def unauthorized(self) -> Response:
        return _error("Unauthorized: invalid or missing API token", 401)

    def not_found(self) -> Response:
        return _error("Not found", 404)

    def rate_limited(self) -> Response:
        minute = int(self.now() // 60)
        wait = str(max(1, int((minute + 1) * 60 - self.now())))
        headers = {"X-RateLimit-Limit": str(RATE_LIMIT_PER_MINUTE), "X-RateLimit-Remaining": "0"}
        if self.send_retry_after:
            headers["Retry-After"] = wait
        return _error(f"Rate limit exceeded: {RATE_LIMIT_PER_MINUTE} requests per minute", 429, **headers)

    def _route(self, request: Request, key: str) -> Response:
        """The real 100/min per organization, counted in fixed one-minute windows."""
        with self.lock:
            minute = int(self.now() // 60)
            window, calls = self.windows.get(key, (minute, 0))
            calls = calls + 1 if window == minute else 1
            self.windows[key] = (minute, calls)
        if calls > RATE_LIMIT_PER_MINUTE:
            return self.rate_limited()
        return super()._route(request, key)

    # --- offers --------------------------------------------------------------------------------------

    def gpu_row(self, city: str, v0_name: str, max_count: int) -> dict:
        display, base = GPUS[v0_name]
        return {"v0Name": v0_name, "displayName": display, "max_count": max_count,
                "price_per_hr": self.drift.price(base, f"tensordock:{city}:{v0_name}"),
                "resources": dict(RESOURCES), "pricing": dict(PRICING),
                "network_features": {"dedicated_ip_available": True, "port_forwarding_available": True,
                                     "network_storage_available": False}}

    def locations(self, request: Request, key: str) -> Response:
        rows = [{"id": location_id(city), "city": city, "stateprovince": state, "country": country, "tier": tier,
                 "gpus": [self.gpu_row(city, name, count) for name, count in gpus.items()]}
                for city, state, country, tier, gpus in LOCATIONS]
        return self.garbled(rows) or Response.json({"data": {"locations": rows}})

    def garbled(self, rows: list) -> Response | None:
        if self.faults.garbage == "html":
            return Response.html("<!DOCTYPE html><html><body>TensorDock Dashboard</body></html>", 200)
        if self.faults.garbage == "truncated":
            return Response(200, json.dumps({"data": {"locations": rows}}).encode()[:300],
                            {"Content-Type": "application/json"})
        if self.faults.garbage == "missing_fields":
            for gpu in (gpu for row in rows for gpu in row["gpus"]):
                gpu.pop("price_per_hr")
            return Response.json({"data": {"locations": rows}})
        return None

    # --- instances ----------------------------------------------------------------------------------

    def create(self, request: Request, key: str) -> Response:
        try:
            attributes = request.json()["data"]["attributes"]
        except (ValueError, KeyError, TypeError):
            return _error("Body must be {data: {type, attributes}}", 400)
        problem = self.create_problem(attributes)
        if problem is not None:
            return problem
        instance_id = str(uuid.UUID(int=self.random.getrandbits(128)))
        instance = SimInstance(id=instance_id, owner_key=key, created_at=self.now(), boot_s=self.boot_s,
                               spec=dict(attributes))
        port = ssh.open_for(self, instance, attributes.get("ssh_key"), json.dumps(attributes.get("cloud_init")))
        instance.spec.update(ip=ssh.HOST, ssh_port=port)
        self.instances[instance_id] = instance
        return Response.json({"data": {"type": "virtualmachine", "id": instance_id,
                                       "name": attributes["name"], "status": self.status(instance)}})

    def create_problem(self, attributes) -> Response | None:
        if not isinstance(attributes, dict) or not attributes.get("name"):
            return _error("name is required", 400)
        if bool(attributes.get("ssh_key")) == bool(attributes.get("ssh_key_id")):
            return _error("Exactly one of ssh_key or ssh_key_id is required", 400)
        resources = attributes.get("resources") or {}
        gpus = resources.get("gpus") or {}
        if len(gpus) != 1:
            return _error("Location-based deployments need at least one GPU", 400)
        if int(resources.get("storage_gb") or 0) < 100:
            return _error("Minimum storage is 100 GB", 400)
        (v0_name, wanted), = gpus.items()
        if self.faults.capacity_error or int(wanted.get("count") or 0) > self.free(attributes.get("location_id"), v0_name):
            return _error("No available hostnodes found for the requested resources at this location", 400)
        return None

    @staticmethod
    def free(location: str | None, v0_name: str) -> int:
        for city, _, _, _, gpus in LOCATIONS:
            if location_id(city) == location:
                return gpus.get(v0_name, 0)
        return 0

    def list_instances(self, request: Request, key: str) -> Response:
        rows = [{"type": "virtualmachine", "id": i.id, "attributes": self.attributes(i)}
                for i in self.instances.values() if self.owned(key, i.id)]
        return Response.json({"data": {"instances": rows}})

    def get_instance(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.owned(key, instance_id)
        if instance is None:
            return self.not_found()
        return Response.json({"data": {"id": instance.id, **self.attributes(instance)}})

    def start(self, request: Request, key: str, instance_id: str) -> Response:
        return self.transition(key, instance_id, want="stopped", to="running")

    def stop(self, request: Request, key: str, instance_id: str) -> Response:
        return self.transition(key, instance_id, want="running", to="stopped")

    def transition(self, key: str, instance_id: str, *, want: str, to: str) -> Response:
        instance = self.owned(key, instance_id)
        if instance is None:
            return self.not_found()
        if self.status(instance) != want:
            return _error(f"Instance must be {want} (it is {self.status(instance)})", 400)
        self.set_state(instance, to)
        return Response.json({"data": {"type": "virtualmachine", "id": instance.id, "status": self.status(instance)}})

    def delete(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.owned(key, instance_id)
        if instance is None:
            return self.not_found()
        self.set_state(instance, "terminated")
        return Response.json({"data": {"type": "success", "attributes": {"message": "Instance deleted successfully"}}})

    # --- helpers --------------------------------------------------------------------------------------

    def status(self, instance: SimInstance) -> str:
        settled = self.now() - instance.changed_at >= STOP_S
        if instance.state == "stopped":
            return "stopped" if settled else "stopping"
        return "running" if instance.booted(self.now()) else "starting"

    def attributes(self, instance: SimInstance) -> dict:
        spec = instance.spec
        return {"name": spec["name"], "status": self.status(instance), "ipAddress": spec["ip"],
                "portForwards": [{"internal_port": 22, "external_port": spec["ssh_port"]}],
                "resources": spec.get("resources"), "location_id": spec.get("location_id")}
