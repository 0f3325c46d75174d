"""Simulated Paperspace machines API v1 (reference/providers.md §5), served under /paperspace/v1.

Availability is deterministic per (machine type, region) so tests can predict the offer list;
machines move provisioning → ready, stopping → off, starting/restarting → ready with time.
"""

from datetime import datetime, timezone

from providers.adapters.paperspace_prices import BY_LABEL
from providers.sandbox import ssh
from providers.sandbox.base import Response, SandboxCloud, SimInstance, hash_unit

UNAVAILABLE_SHARE = 0.2  # about one (type, region) pair in five is sold out, as on the real site
PAGE_DEFAULT = 20


def _error(status: int, code: str, message: str, **headers) -> Response:
    return Response.json({"code": code, "message": message, "details": {}}, status=status, **headers)


class PaperspaceCloud(SandboxCloud):
    name = "paperspace"
    display_name = "Paperspace (sandbox)"
    boot_s = 2.0
    retry_after: str | None = None  # the real API documents no Retry-After; tests may set one
    routes = [
        ("GET", r"/v1/machine-availability", "availability"),
        ("GET", r"/v1/machines", "list_machines"),
        ("POST", r"/v1/machines", "create_machine"),
        ("GET", r"/v1/machines/(?P<machine_id>[^/]+)", "get_machine"),
        ("DELETE", r"/v1/machines/(?P<machine_id>[^/]+)", "delete_machine"),
        ("PATCH", r"/v1/machines/(?P<machine_id>[^/]+)/(?P<action>start|stop|restart)", "machine_action"),
        ("POST", r"/v1/startup-scripts", "create_script"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scripts: dict[str, str] = {}  # startup script id -> text, run at a machine's first boot

    def unauthorized(self) -> Response:
        return _error(401, "UNAUTHORIZED", "Invalid API key")

    def rate_limited(self) -> Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return _error(429, "TOO_MANY_REQUESTS", "Too many requests, slow down", **headers)

    def not_found(self) -> Response:
        return _error(404, "NOT_FOUND", "Not found")

    # --- availability ----------------------------------------------------------------------

    def is_available(self, machine_type: str, region: str) -> bool:
        if self.faults.capacity_error or machine_type not in BY_LABEL:
            return False
        return hash_unit(f"paperspace:{machine_type}:{region}") >= UNAVAILABLE_SHARE

    def availability(self, request, key):
        garbage = self._garbage()
        if garbage is not None:
            return garbage
        machine_type, region = request.query.get("machineType", ""), request.query.get("region", "")
        if not machine_type or not region:
            return _error(400, "BAD_REQUEST", "machineType and region are required")
        return Response.json({"available": self.is_available(machine_type, region)})

    def _garbage(self) -> Response | None:
        kind = self.faults.garbage
        if kind == "html":
            return Response.html("<html><body>Maintenance</body></html>", 200)
        if kind == "truncated":
            return Response(200, b'{"availa', {"Content-Type": "application/json"})
        if kind == "missing_fields":
            return Response.json({"machineType": "A100"})
        return None

    # --- machines ----------------------------------------------------------------------------

    def create_script(self, request, key):
        body = request.json() or {}
        if not body.get("name") or not body.get("script"):
            return _error(400, "BAD_REQUEST", "name and script are required")
        script_id = self.new_id("scr")
        self.scripts[script_id] = body["script"]
        return Response.json({"id": script_id, "name": body["name"], "isRunOnce": bool(body.get("isRunOnce"))})

    def create_machine(self, request, key):
        body = request.json() or {}
        missing = [f for f in ("name", "machineType", "templateId", "diskSize", "region") if not body.get(f)]
        if missing:
            return _error(400, "BAD_REQUEST", f"Missing required fields: {', '.join(missing)}")
        if not self.is_available(body["machineType"], body["region"]):
            return _error(400, "BAD_REQUEST", f"Out of capacity for {body['machineType']} in {body['region']}.")
        machine = SimInstance(id=self.new_id("ps")[:8], owner_key=key, created_at=self.now(), spec=body,
                              boot_s=self.boot_s, extra={"phase": "provisioning"})
        ssh.record(machine, self.scripts.get(body.get("startupScriptId"), ""))  # publicIp:22 cannot be served here
        self.instances[machine.id] = machine
        return Response.json({"data": self.render(machine), "event": {"name": "create", "state": "new"}})

    def list_machines(self, request, key):
        rows = [self.render(m) for m in self.instances.values() if m.owner_key == key and m.state != "terminated"]
        start = int(request.query.get("after") or 0)
        limit = max(1, min(int(request.query.get("limit") or PAGE_DEFAULT), 100))
        page, more = rows[start:start + limit], start + limit < len(rows)
        return Response.json({"items": page, "hasMore": more, "nextPage": str(start + limit) if more else None})

    def get_machine(self, request, key, machine_id):
        machine = self.owned(key, machine_id)
        return Response.json(self.render(machine)) if machine else self._missing()

    def delete_machine(self, request, key, machine_id):
        machine = self.owned(key, machine_id)
        if machine is None:
            return self._missing()
        self.set_state(machine, "terminated")
        return Response.json({"data": self.render(machine)})

    def machine_action(self, request, key, machine_id, action):
        machine = self.owned(key, machine_id)
        if machine is None:
            return self._missing()
        state = self.state(machine)
        if action in ("start", "restart") and state in ("provisioning", "starting", "restarting"):
            return _error(400, "BAD_REQUEST", f"This machine is currently {state}.")
        if action == "stop":
            self.set_state(machine, "stopped")
        else:
            self.set_state(machine, "running")
        machine.extra["phase"] = {"start": "starting", "restart": "restarting", "stop": "stopping"}[action]
        return Response.json({"data": self.render(machine)})

    def _missing(self) -> Response:
        return _error(404, "NOT_FOUND", "Machine not found")

    # --- rendering ---------------------------------------------------------------------------

    def state(self, machine: SimInstance) -> str:
        if machine.state == "terminated":
            return "off"
        booted = machine.booted(self.now())
        if machine.state == "stopped":
            return "off" if booted else "stopping"
        return "ready" if booted else machine.extra.get("phase", "starting")

    def render(self, machine: SimInstance) -> dict:
        state, spec, catalog = self.state(machine), machine.spec, BY_LABEL.get(machine.spec["machineType"])
        ready = state == "ready"
        return {
            "id": machine.id, "name": spec["name"], "state": state, "machineType": spec["machineType"],
            "region": spec["region"], "publicIp": f"203.0.113.{int(hash_unit(machine.id) * 250) + 1}" if ready else None,
            "privateIp": "10.0.0.5", "cpus": catalog.vcpus if catalog else None,
            "ram": str(catalog.ram_gb * 1024**3) if catalog else None, "gpu": catalog.gpu_name if catalog else None,
            "storageTotal": str(int(spec["diskSize"]) * 1024**3), "autoShutdownEnabled": False,
            "dtCreated": datetime.fromtimestamp(machine.created_at, timezone.utc).isoformat().replace("+00:00", "Z"),
            "teamId": "tsbx0001",
        }
