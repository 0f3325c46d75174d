"""Simulated Lambda Cloud (reference/providers.md §3), served under /lambda/api/v1.

Wire protocol: `{"data": ...}` on success, `{"error": {"code", "message", "suggestion"}}` on
failure, `data` of /instance-types a dict keyed by type name, integer cents per instance-hour,
statuses booting (ip null) -> active, terminating -> terminated, unhealthy. No stop/start, no
spot. Launch fails with `instance-operations/launch/insufficient-capacity` when the region has
no capacity for the type (or the `capacity_error` knob is on).
"""

import json
import uuid

from providers.sandbox import ssh
from providers.sandbox.base import Request, Response, SandboxCloud, SimInstance

REGIONS = {
    "us-east-1": "Virginia, USA", "us-west-1": "California, USA", "us-west-2": "Arizona, USA",
    "us-west-3": "Utah, USA", "us-south-1": "Texas, USA", "europe-central-1": "Germany",
    "asia-northeast-1": "Tokyo, Japan",
}

# name -> (gpu_description, cents per instance-hour, vcpus, memory_gib, storage_gib, gpus, regions with capacity)
CATALOG = {
    "gpu_1x_a10": ("A10 (24 GB PCIe)", 75, 30, 200, 1400, 1, ("us-east-1", "us-west-1", "asia-northeast-1")),
    "gpu_1x_a6000": ("RTX A6000 (48 GB)", 80, 14, 100, 512, 1, ("us-south-1",)),
    "gpu_1x_a100": ("A100 (40 GB PCIe)", 129, 30, 200, 512, 1, ()),
    "gpu_1x_a100_sxm4": ("A100 (40 GB SXM4)", 129, 30, 200, 512, 1, ("us-east-1", "us-west-2")),
    "gpu_8x_a100_80gb_sxm4": ("A100 (80 GB SXM4)", 1432, 240, 1800, 19456, 8, ("us-west-3",)),
    "gpu_1x_h100_pcie": ("H100 (80 GB PCIe)", 249, 26, 200, 1024, 1, ("us-west-3", "us-south-1")),
    "gpu_8x_h100_sxm5": ("H100 (80 GB SXM5)", 2392, 208, 1800, 24780, 8, ("us-south-1",)),
    "gpu_1x_gh200": ("GH200 (96 GB)", 149, 64, 432, 4096, 1, ("us-east-1",)),
    "gpu_8x_b200_sxm6": ("B200 (180 GB SXM6)", 3992, 208, 2900, 22000, 8, ()),
    "gpu_8x_v100": ("Tesla V100 (16 GB)", 440, 88, 448, 5800, 8, ("europe-central-1",)),
}
DEFAULT_SSH_KEY = {"id": "0920582c7ff041399e34823a0be62549", "name": "sandbox-key",
                   "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISandboxLambdaKey sandbox"}
TERMINATING_S = 1.0  # terminating -> terminated after this long
LINGER_S = 60.0  # terminated instances soon disappear from /instances


def _error(code: str, message: str, status: int, suggestion: str | None = None, **headers) -> Response:
    error = {"code": code, "message": message}
    if suggestion:
        error["suggestion"] = suggestion
    return Response.json({"error": error}, status=status, **headers)


class LambdaSandbox(SandboxCloud):
    name = "lambda"
    display_name = "Lambda Cloud"
    boot_s = 2.0
    # The reference does not say Lambda sends Retry-After on 429; tests switch it on to cover both.
    retry_after: str | None = None
    routes = [
        ("GET", r"/api/v1/instance-types", "instance_types"),
        ("POST", r"/api/v1/instance-operations/launch", "launch"),
        ("POST", r"/api/v1/instance-operations/restart", "restart"),
        ("POST", r"/api/v1/instance-operations/terminate", "terminate"),
        ("GET", r"/api/v1/instances", "list_instances"),
        ("GET", r"/api/v1/instances/(?P<instance_id>[\w-]+)", "get_instance"),
        ("GET", r"/api/v1/ssh-keys", "list_ssh_keys"),
        ("POST", r"/api/v1/ssh-keys", "add_ssh_key"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.ssh_keys: dict[str, list[dict]] = {}

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.ssh_keys = {}

    # --- the provider's own error answers -----------------------------------------------------

    def unauthorized(self) -> Response:
        return _error("global/invalid-api-key", "API key was invalid, expired, or deleted.", 401,
                      "Check your API key or create a new key and try again.")

    def rate_limited(self) -> Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return _error("global/too-many-requests", "Too many requests.", 429,
                      "Wait a moment and try again.", **headers)

    def not_found(self) -> Response:
        return _error("global/object-does-not-exist", "Specified object does not exist.", 404)

    def invalid(self, message: str) -> Response:
        return _error("global/invalid-parameters", message, 400)

    # --- offers --------------------------------------------------------------------------------

    def type_row(self, name: str) -> dict:
        gpu_description, cents, vcpus, memory, storage, gpus, _ = CATALOG[name]
        return {"name": name, "description": f"{gpus}x {gpu_description}", "gpu_description": gpu_description,
                "price_cents_per_hour": round(self.drift.price(cents, f"lambda:{name}")),
                "specs": {"vcpus": vcpus, "memory_gib": memory, "storage_gib": storage, "gpus": gpus}}

    def instance_types(self, request: Request, key: str) -> Response:
        data = {name: {"instance_type": self.type_row(name),
                       "regions_with_capacity_available": [{"name": r, "description": REGIONS[r]} for r in entry[6]]}
                for name, entry in CATALOG.items()}
        return self.garbled(data) or Response.json({"data": data})

    def garbled(self, data: dict) -> Response | None:
        """The `garbage` knob: what a broken deploy or a proxy in front of the API answers."""
        if self.faults.garbage == "html":
            return Response.html("<html><body>Lambda is under maintenance</body></html>", 200)
        if self.faults.garbage == "truncated":
            return Response(200, json.dumps({"data": data}).encode()[:200], {"Content-Type": "application/json"})
        if self.faults.garbage == "missing_fields":
            for entry in data.values():
                entry["instance_type"].pop("price_cents_per_hour")
                entry["instance_type"].pop("specs")
            return Response.json({"data": data})
        return None

    # --- instance operations ---------------------------------------------------------------------

    def launch(self, request: Request, key: str) -> Response:
        body = self.body(request)
        problem = self.launch_problem(body, key)
        if problem is not None:
            return problem
        region, type_name = body["region_name"], body["instance_type_name"]
        if self.faults.capacity_error or region not in CATALOG[type_name][6]:
            return _error("instance-operations/launch/insufficient-capacity",
                          "Not enough capacity to fulfill launch request.", 400,
                          "Choose an instance type with more availability, or try again later.")
        instance_id = uuid.UUID(int=self.random.getrandbits(128)).hex
        self.instances[instance_id] = SimInstance(
            id=instance_id, owner_key=key, created_at=self.now(), boot_s=self.boot_s,
            spec={"name": body.get("name"), "region": region, "type": type_name,
                  "ssh_key_names": body["ssh_key_names"], "ip": self.fake_ip(instance_id)})
        named = [k["public_key"] for k in self.keys_of(key) if k["name"] in body["ssh_key_names"]]
        ssh.record(self.instances[instance_id], *named, body.get("user_data"))  # ip:22 cannot be served here
        return Response.json({"data": {"instance_ids": [instance_id]}})

    def launch_problem(self, body, key: str) -> Response | None:
        if not isinstance(body, dict):
            return self.invalid("Request body must be a JSON object.")
        if body.get("instance_type_name") not in CATALOG:
            return self.invalid("Invalid instance type.")
        if body.get("region_name") not in REGIONS:
            return self.invalid("Invalid region.")
        names = body.get("ssh_key_names")
        known = {ssh_key["name"] for ssh_key in self.keys_of(key)}
        if not isinstance(names, list) or len(names) != 1 or names[0] not in known:
            return self.invalid("Exactly one existing SSH key name is required.")
        if len(str(body.get("name") or "")) > 64:
            return self.invalid("Name must be at most 64 characters.")
        return None

    def restart(self, request: Request, key: str) -> Response:
        found = self.requested(request, key)
        if isinstance(found, Response):
            return found
        for instance in found:
            instance.extra.pop("unhealthy", None)
            instance.changed_at = self.now()  # boots again
        return Response.json({"data": {"restarted_instances": [self.row(i) for i in found]}})

    def terminate(self, request: Request, key: str) -> Response:
        found = self.requested(request, key, include_terminated=True)
        if isinstance(found, Response):
            return found
        for instance in found:
            if instance.state != "terminated":
                self.set_state(instance, "terminated")
        return Response.json({"data": {"terminated_instances": [self.row(i) for i in found]}})

    def requested(self, request: Request, key: str, include_terminated: bool = False):
        body = self.body(request)
        ids = body.get("instance_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return self.invalid("instance_ids must be a non-empty list.")
        found = [self.visible(key, i) for i in ids]
        if any(i is None or (i.state == "terminated" and not include_terminated) for i in found):
            return self.not_found()
        return found

    def list_instances(self, request: Request, key: str) -> Response:
        rows = [self.row(i) for i in self.instances.values() if self.visible(key, i.id) is not None]
        return Response.json({"data": rows})

    def get_instance(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.visible(key, instance_id)
        return self.not_found() if instance is None else Response.json({"data": self.row(instance)})

    def make_unhealthy(self, instance_id: str) -> None:
        """For tests: the host failed a health check; a restart brings it back."""
        with self.lock:
            self.instances[instance_id].extra["unhealthy"] = True

    # --- ssh keys ----------------------------------------------------------------------------------

    def keys_of(self, key: str) -> list[dict]:
        return self.ssh_keys.setdefault(key, [dict(DEFAULT_SSH_KEY)])

    def list_ssh_keys(self, request: Request, key: str) -> Response:
        return Response.json({"data": self.keys_of(key)})

    def add_ssh_key(self, request: Request, key: str) -> Response:
        body = self.body(request)
        if not isinstance(body, dict) or not body.get("name") or not body.get("public_key"):
            return self.invalid("name and public_key are required.")
        if any(existing["name"] == body["name"] for existing in self.keys_of(key)):
            return self.invalid("An SSH key with this name already exists.")
        row = {"id": self.new_id(), "name": body["name"], "public_key": body["public_key"]}
        self.keys_of(key).append(row)
        return Response.json({"data": row})

    # --- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def body(request: Request):
        try:
            return request.json()
        except ValueError:
            return None

    def visible(self, key: str, instance_id) -> SimInstance | None:
        """Owned by `key` and not yet forgotten (terminated ones linger for a while)."""
        instance = self.instances.get(str(instance_id))
        if instance is None or instance.owner_key != key:
            return None
        if instance.state == "terminated" and self.now() - instance.changed_at > TERMINATING_S + LINGER_S:
            return None
        return instance

    def status(self, instance: SimInstance) -> str:
        if instance.state == "terminated":
            return "terminating" if self.now() - instance.changed_at < TERMINATING_S else "terminated"
        if not instance.booted(self.now()):
            return "booting"
        return "unhealthy" if instance.extra.get("unhealthy") else "active"

    @staticmethod
    def fake_ip(instance_id: str) -> str:
        return f"198.51.100.{int(instance_id[:2], 16) % 250 + 2}"

    def row(self, instance: SimInstance) -> dict:
        spec, status = instance.spec, self.status(instance)
        ip = spec["ip"] if status in ("active", "unhealthy") else None
        return {"id": instance.id, "name": spec["name"], "ip": ip, "private_ip": "10.19.60.24" if ip else None,
                "status": status, "ssh_key_names": spec["ssh_key_names"], "file_system_names": [],
                "region": {"name": spec["region"], "description": REGIONS[spec["region"]]},
                "instance_type": self.type_row(spec["type"]),
                "hostname": ip.replace(".", "-") + ".cloud.lambdalabs.com" if ip else None,
                "jupyter_token": instance.id[::-1], "jupyter_url": f"https://jupyter-{instance.id[:8]}.lambdaspaces.com/"}
