"""Simulated Vast.ai: REST under /api/v0/ with trailing slashes (reference/providers.md §2).

A marketplace of many hosts (mostly consumer cards, some A100/H100) searched with the JSON filter
body of `POST /api/v0/bundles/`; offers are whole machines or slices priced per offer
(`dph_total`, `min_bid`), RAM in MB. Instances follow null → loading → running, and `exited` once
their container's command ends (providers.sandbox.workload); errors are
`{"success": false, "error", "msg"}`; a 429 is plain text without Retry-After.

Logs (§2.7): `PUT /api/v0/instances/request_logs/{id}/` snapshots the container's output (its
tail, no timestamps, as `docker logs` prints it) and answers a `result_url` on this sandbox's own
host, standing in for S3: an unauthenticated GET there is 404 NoSuchKey until the upload is done
(`log_upload_s`), then 200 with the text.
"""

import operator
import random
import re
import secrets
import time
from collections import OrderedDict

from providers.sandbox import ssh
from providers.sandbox.base import Request, Response, SandboxCloud, SimInstance
from providers.sandbox.workload import Workload, window

# (gpu_name, VRAM MB, base $/h per GPU, weight): names as Vast spells them, prices near its medians.
GPUS = [("RTX 3090", 24576, 0.16, 6), ("RTX 4090", 24564, 0.34, 8), ("RTX 5090", 32607, 0.62, 4),
        ("RTX A6000", 49140, 0.42, 2), ("A100 SXM4", 81920, 0.95, 2), ("A100 PCIE", 40960, 0.68, 1),
        ("H100 SXM", 81559, 1.85, 2), ("H100 PCIE", 81559, 1.55, 1), ("L40S", 46068, 0.72, 1)]
PLACES = ["Texas, US", "California, US", "Quebec, CA", "Bavaria, DE", "Sweden, SE", "Norway, NO",
          "Taiwan, TW", "Poland, PL", "Utah, US", "Ontario, CA"]
HOSTS = 60
_OPS = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
        "lte": operator.le, "in": lambda a, b: a in b, "notin": lambda a, b: a not in b}
_CONTROL_KEYS = {"type", "order", "limit", "allocated_storage", "disable_bundling"}
_LOG_RESULT = re.compile(r"/instance_logs/(?P<token>[0-9a-f]{32})\.log")
KEPT_LOG_RESULTS = 256  # uploaded log files kept for download (the oldest go first)
NO_SUCH_KEY = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
               "<Message>The specified key does not exist.</Message></Error>")


def build_machines(seed: int = 7) -> list[dict]:
    """The static part of each host; prices are computed at answer time so they drift."""
    rng, names, weights = random.Random(seed), [g[0] for g in GPUS], [g[3] for g in GPUS]
    machines = []
    for index in range(HOSTS):
        name = rng.choices(names, weights)[0]
        _, vram, base, _ = next(g for g in GPUS if g[0] == name)
        count = rng.choice((1, 1, 2, 4, 8))
        cores = rng.choice((16, 32, 64, 128))
        machines.append({
            "id": 23745000 + index * 17, "machine_id": 31000 + index, "host_id": 55000 + index % 23,
            "gpu_name": name, "num_gpus": count, "gpu_ram": vram, "gpu_total_ram": vram * count,
            "gpu_arch": "nvidia", "cuda_max_good": rng.choice((12.2, 12.4, 12.8, 12.9)), "cpu_cores": cores,
            "cpu_cores_effective": float(min(cores, count * rng.choice((4, 8, 16)))),
            "cpu_ram": rng.choice((64, 128, 256, 512)) * 1024, "disk_space": float(rng.choice((100, 250, 500, 1000))),
            "inet_down": round(rng.uniform(100, 2000), 1), "inet_up": round(rng.uniform(100, 1500), 1),
            "storage_cost": rng.choice((0.1, 0.15, 0.2)), "geolocation": rng.choice(PLACES),
            "reliability2": round(rng.uniform(0.9, 0.9995), 4), "verification": rng.choice(("verified",) * 4 + ("unverified",)),
            "static_ip": rng.random() < 0.6, "direct_port_count": rng.choice((0, 20, 100)),
            "public_ipaddr": f"198.51.100.{index + 1}", "base_per_gpu": round(base * rng.uniform(0.85, 1.25), 3),
        })
    return machines


class VastCloud(SandboxCloud):
    name = "vast"
    display_name = "Vast.ai"
    boot_s = 2.0  # null for the first third, then loading, then running; tests shorten it
    log_every_s = 2.0  # a running container prints a line this often
    log_upload_s = 0.2  # real seconds before a requested log file can be downloaded
    routes = [
        ("POST", "/api/v0/bundles/", "search"),
        ("PUT", r"/api/v0/asks/(?P<ask_id>\d+)/", "create"),
        ("GET", "/api/v0/instances/", "list_instances"),
        ("GET", r"/api/v0/instances/(?P<instance_id>\d+)/", "get_instance"),
        ("PUT", r"/api/v0/instances/(?P<instance_id>\d+)/", "change"),
        ("DELETE", r"/api/v0/instances/(?P<instance_id>\d+)/", "destroy"),
        ("PUT", r"/api/v0/instances/reboot/(?P<instance_id>\d+)/", "reboot"),
        ("PUT", r"/api/v0/instances/request_logs/(?P<instance_id>\d+)/", "request_logs"),
        ("GET", "/api/v0/users/current/", "current_user"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.machines = {m["id"]: m for m in build_machines()}
        self.next_id = 28999001
        self.log_results: OrderedDict[str, tuple[float, str]] = OrderedDict()  # token -> (ready at, text)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.log_results.clear()

    def handle(self, request: Request) -> Response:
        """The log files' "S3" answers without an API key (and outside the API's faults)."""
        found = _LOG_RESULT.fullmatch(request.path)
        if found is None:
            return super().handle(request)
        if request.method != "GET":
            return Response.json({"error": "method not allowed"}, 405)
        with self.lock:
            ready_at, text = self.log_results.get(found.group("token"), (float("inf"), ""))
        if time.monotonic() < ready_at:
            return Response(404, NO_SUCH_KEY.encode(), {"Content-Type": "application/xml"})
        return Response.text(text)

    # --- provider-specific answers -----------------------------------------------------------

    def unauthorized(self) -> Response:
        return _error(401, "invalid_user_key", "Invalid user key")

    def rate_limited(self) -> Response:
        return Response.text("API requests too frequent", 429)  # plain text, no Retry-After

    def not_found(self) -> Response:
        return _error(404, "not_found", "Not found")

    # --- offers ------------------------------------------------------------------------------

    def offer_json(self, machine: dict, storage_gb: float) -> dict:
        dph_base = self.drift.price(machine["base_per_gpu"] * machine["num_gpus"], f"vast:{machine['id']}")
        disk_hour = round(storage_gb * machine["storage_cost"] / 30 / 24, 4)
        min_bid = self.drift.price(round(dph_base * 0.55, 4), f"vast:{machine['id']}:bid")
        row = {key: value for key, value in machine.items() if key != "base_per_gpu"}
        return {**row, "ask_contract_id": machine["id"], "bundle_id": machine["id"] * 10, "dph_base": dph_base,
                "dph_total": round(dph_base + disk_hour, 4), "min_bid": min_bid, "is_bid": False,
                "reliability": row["reliability2"], "verified": row["verification"] == "verified",
                "rentable": True, "rented": self.rented(machine["id"]), "external": False,
                "search": {"gpuCostPerHour": dph_base, "diskHour": disk_hour, "totalHour": round(dph_base + disk_hour, 4)}}

    def rented(self, ask_id: int) -> bool:
        return any(i.spec["ask_id"] == ask_id and i.state != "terminated" for i in self.instances.values())

    def search(self, request: Request, key: str) -> Response:
        if self.faults.garbage:
            return self._garbage()
        try:
            query = request.json() or {}
            rows = [self.offer_json(m, float(query.get("allocated_storage", 8))) for m in self.machines.values()]
            rows = [row for row in rows if _matches(row, query)]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _error(400, "invalid_args", f"bad search query: {exc}")
        for column, direction in reversed(query.get("order") or [["score", "desc"]]):
            rows.sort(key=lambda row: row.get(column) or 0, reverse=direction == "desc")
        return Response.json({"offers": rows[: int(query.get("limit") or 64)]})

    def _garbage(self) -> Response:
        if self.faults.garbage == "html":
            return Response.html("<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>", 502)
        if self.faults.garbage == "truncated":
            return Response(200, b'{"offers":[{"id":23745000,"gpu_name":"RTX 40', {"Content-Type": "application/json"})
        rows = [{"id": m["id"], "machine_id": m["machine_id"], "geolocation": m["geolocation"]} for m in self.machines.values()]
        return Response.json({"offers": rows})

    # --- instances ---------------------------------------------------------------------------

    def create(self, request: Request, key: str, ask_id: str) -> Response:
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, "invalid_args", "body is not JSON")
        machine = self.machines.get(int(ask_id))
        if self.faults.capacity_error or machine is None or self.rented(int(ask_id)):
            status = 410 if body.get("cancel_unavail") else 404
            return _error(status, "no_such_ask", f"Instance type by id {ask_id} is not available.")
        if not body.get("image"):
            return _error(400, "invalid_args", "image is required")
        bid = body.get("price")
        if bid is not None and float(bid) < self.offer_json(machine, 0)["min_bid"]:
            return _error(400, "invalid_price", f"bid {bid} is below the minimum bid for ask {ask_id}")
        instance = SimInstance(id=str(self.next_id), owner_key=key, created_at=self.now(), boot_s=self.boot_s,
                               spec={**body, "ask_id": machine["id"], "spot": bid is not None})
        offer = self.offer_json(machine, float(body.get("disk") or 8))
        instance.extra.update(dph=float(bid) if bid is not None else offer["dph_total"],
                              ssh_port=ssh.open_for(self, instance, body.get("onstart")),
                              workload=Workload.from_launch(body["image"], str(body.get("onstart") or ""),
                                                            body.get("env") or {}, every_s=self.log_every_s))
        self.instances[instance.id], self.next_id = instance, self.next_id + 1
        return Response.json({"success": True, "new_contract": int(instance.id), "instance_api_key": self.new_id()})

    def get_instance(self, request: Request, key: str, instance_id: str) -> Response:
        self.apply_preemption()
        instance = self.owned(key, instance_id)
        return Response.json({"instances": self.instance_json(instance) if instance else None})

    def list_instances(self, request: Request, key: str) -> Response:
        self.apply_preemption()
        rows = [self.instance_json(i) for i in self.instances.values() if i.owner_key == key and i.state != "terminated"]
        return Response.json({"instances": rows})

    def change(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.owned(key, instance_id)
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, "invalid_args", "body is not JSON")
        if instance is None:
            return _error(404, "no_such_instance", f"Instance {instance_id} not found.")
        if "label" in body:
            instance.spec["label"] = str(body["label"])
        if body.get("state") in ("running", "stopped"):
            self.set_state(instance, body["state"])
        return Response.json({"success": True})

    def reboot(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.owned(key, instance_id)
        if instance is None:
            return _error(404, "no_such_instance", f"Instance {instance_id} not found.")
        if instance.state != "running":
            return _error(400, "invalid_args", "Only a running instance can be rebooted.")
        self.set_state(instance, "running")  # the container restarts: loading again, then running
        return Response.json({"success": True})

    def destroy(self, request: Request, key: str, instance_id: str) -> Response:
        instance = self.owned(key, instance_id)
        if instance is None:
            return _error(404, "no_such_instance", f"Instance {instance_id} not found.")
        self.set_state(instance, "terminated")
        return Response.json({"success": True})

    def request_logs(self, request: Request, key: str, instance_id: str) -> Response:
        try:
            body = request.json() or {}
            tail = int(str(body.get("tail", "1000")))
            if tail < 0:
                raise ValueError("tail must not be negative")
            pattern = re.compile(str(body["filter"])) if body.get("filter") else None
        except (ValueError, TypeError, re.error) as exc:
            return _error(400, "invalid_args", f"bad log request: {exc}")
        instance = self.owned(key, instance_id)
        if instance is None:
            return _error(404, "invalid_id", f"Instance {instance_id} not found.")
        daemon = str(body.get("daemon_logs")).lower() == "true"
        kept = [text for text in self._log_texts(instance, daemon, tail) if pattern is None or pattern.search(text)]
        token = secrets.token_hex(16)  # `docker logs --tail N | grep filter`, uploaded under an unguessable name
        self.log_results[token] = (time.monotonic() + self.log_upload_s, "".join(f"{text}\n" for text in kept))
        while len(self.log_results) > KEPT_LOG_RESULTS:
            self.log_results.popitem(last=False)
        host = request.headers.get("host", "127.0.0.1")
        return Response.json({"success": True, "result_url": f"http://{host}/{self.name}/instance_logs/{token}.log"})

    def _log_texts(self, instance: SimInstance, daemon: bool, tail: int) -> list[str]:
        if daemon:
            return [f"instance {instance.id}: {self._states(instance)[2]}"][-tail:] if tail else []
        return [text for _, text in window(instance.extra["workload"].output(instance, self.now()), tail=tail)]

    def current_user(self, request: Request, key: str) -> Response:
        return Response.json({"id": 4242, "username": "sandbox", "email": "sandbox@example.com", "credit": 42.0,
                              "can_pay": True, "has_billing": True})

    # --- rendering ---------------------------------------------------------------------------

    def instance_json(self, instance: SimInstance) -> dict:
        machine, spec = self.machines[instance.spec["ask_id"]], instance.spec
        actual, intended, message = self._states(instance)
        running = actual == "running"
        return {
            "id": int(instance.id), "label": spec.get("label"), "actual_status": actual, "intended_status": intended,
            "cur_state": "stopped" if actual == "stopped" else "running", "next_state": intended,
            "status_msg": message, "image_uuid": spec.get("image"), "machine_id": machine["machine_id"],
            "gpu_name": machine["gpu_name"], "num_gpus": machine["num_gpus"], "gpu_ram": machine["gpu_ram"],
            "dph_total": instance.extra["dph"], "is_bid": spec["spot"], "geolocation": machine["geolocation"],
            "extra_env": [[k, v] for k, v in (spec.get("env") or {}).items()], "onstart": spec.get("onstart"),
            "ssh_host": ssh.HOST, "ssh_port": instance.extra["ssh_port"],
            "public_ipaddr": machine["public_ipaddr"], "ports": self._ports(instance) if running else None,
            "start_date": instance.created_at, "gpu_util": 0.41 if running else None,
            "gpu_temp": 55.0 if running else None, "cpu_util": 0.07 if running else None,
            "mem_usage": 3.2 if running else None, "mem_limit": machine["cpu_ram"] / 1024,
        }

    def _states(self, instance: SimInstance) -> tuple[str | None, str, str]:
        """(actual_status, intended_status, status_msg) from what was asked and the clock."""
        if instance.state == "preempted":  # outbid: the host stopped it although we want it running
            return "stopped", "running", "Instance outbid: a higher bid took the machine."
        if instance.state == "stopped":
            return "stopped", "stopped", "Instance stopped by user."
        elapsed = self.now() - max(instance.created_at, instance.changed_at)
        if elapsed < instance.boot_s / 3:
            return None, "running", "Creating instance."
        if elapsed < instance.boot_s:
            return "loading", "running", f"Pulling {instance.spec.get('image')}"
        if instance.extra["workload"].exited(instance, self.now()):
            return "exited", "running", "Container exited."
        return "running", "running", f"success, running {instance.spec.get('image')}/ssh"

    def _ports(self, instance: SimInstance) -> dict:
        base = 40000 + int(instance.id) % 1000 * 10
        ports = {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(base)}]}
        for offset, flag in enumerate(k for k in (instance.spec.get("env") or {}) if k.startswith("-p ")):
            inner = flag.split(":")[-1]
            ports[f"{inner}/tcp"] = [{"HostIp": "0.0.0.0", "HostPort": str(base + 1 + offset)}]
        return ports


def _matches(row: dict, query: dict) -> bool:
    for field, condition in query.items():
        if field in _CONTROL_KEYS:
            continue
        for op, wanted in condition.items():
            value = row.get(field)
            if value is None or not _OPS[op](value, wanted):
                return False
    return True


def _error(status: int, code: str, message: str) -> Response:
    return Response.json({"success": False, "error": code, "msg": message}, status)
