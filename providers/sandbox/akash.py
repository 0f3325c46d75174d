"""Simulated Akash Console API (reference/providers.md §6), served under /akash.

A market of GPU models at Akash-like prices; a deployment gets bids from three providers after
``bid_delay_s`` (none with the capacity knob on, or for a model nobody has free), a lease on one
of them, and a ready service ``boot_s`` after the lease.
"""

from datetime import datetime, timezone

import yaml

from providers.sandbox.base import Response, SandboxCloud, SimInstance, hash_unit

AVERAGE_BLOCK_S = 6.098
OWNER = "akash1sandboxowner000000000000000000000000"
PROVIDERS = ("akash1provider0europlots", "akash1provider1hurricane", "akash1provider2parallelnode")
# (vendor, model, ram, interface, total, available, USD per GPU-hour median)
MARKET = (
    ("nvidia", "h100", "80Gi", "SXM5", 96, 24, 1.45),
    ("nvidia", "a100", "80Gi", "SXM4", 64, 12, 0.95),
    ("nvidia", "a100", "40Gi", "PCIe", 16, 0, 0.60),
    ("nvidia", "rtx4090", "24Gi", "PCIe", 120, 40, 0.36),
    ("nvidia", "rtx3090", "24Gi", "PCIe", 80, 25, 0.22),
    ("nvidia", "a6000", "48Gi", "PCIe", 30, 8, 0.42),
    ("nvidia", "t4", "16Gi", "PCIe", 20, 5, None),  # no recent bids: no price
)


def _error(status: int, error: str, message: str, **headers) -> Response:
    return Response.json({"error": error, "message": message}, status=status, **headers)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


class AkashCloud(SandboxCloud):
    name = "akash"
    display_name = "Akash (sandbox)"
    boot_s = 2.0
    bid_delay_s = 1.0
    retry_after: str | None = "1"
    routes = [
        ("GET", r"/v1/gpu-prices", "gpu_prices"),
        ("GET", r"/v1/deployments", "list_deployments"),
        ("POST", r"/v1/deployments", "create_deployment"),
        ("GET", r"/v1/deployments/(?P<dseq>\d+)", "get_deployment"),
        ("DELETE", r"/v1/deployments/(?P<dseq>\d+)", "close_deployment"),
        ("GET", r"/v1/bids", "list_bids"),
        ("POST", r"/v1/leases", "create_lease"),
    ]

    def api_key(self, request):
        return request.headers.get("x-api-key") or request.bearer()

    def unauthorized(self):
        return _error(401, "UnauthorizedError", "Invalid API key")

    def rate_limited(self):
        return _error(429, "TooManyRequests", "Rate limit exceeded",
                      **({"Retry-After": self.retry_after} if self.retry_after else {}))

    def not_found(self):
        return _error(404, "NotFoundError", "Not found")

    # --- market ------------------------------------------------------------------------------

    def market_price(self, model: str, ram: str) -> float | None:
        """Today's median USD per GPU-hour, drifting like a real market."""
        row = next((r for r in MARKET if r[1] == model and r[2] == ram), None)
        return self.drift.price(row[6], f"akash:{model}:{ram}") if row and row[6] else None

    def gpu_prices(self, request, key):
        if self.faults.garbage == "html":
            return Response.html("<html><body>Bad gateway</body></html>", 200)
        if self.faults.garbage == "truncated":
            return Response(200, b'{"availability":{"tot', {"Content-Type": "application/json"})
        models = [self._model(row) for row in MARKET]
        total = {"total": sum(r[4] for r in MARKET), "available": sum(r[5] for r in MARKET)}
        return Response.json({"availability": total} if self.faults.garbage == "missing_fields"
                             else {"availability": total, "models": models})

    def _model(self, row) -> dict:
        vendor, model, ram, interface, total, available, _ = row
        med = self.market_price(model, ram)
        price = None if med is None else {"currency": "USD", "min": round(med * 0.7, 2), "max": round(med * 1.6, 2),
                                          "avg": round(med * 1.05, 2), "weightedAverage": med, "med": med}
        return {"vendor": vendor, "model": model, "ram": ram, "interface": interface,
                "availability": {"total": total, "available": available},
                "providerAvailability": {"total": 3, "available": 3 if available else 0}, "price": price}

    # --- deployments ---------------------------------------------------------------------------

    def create_deployment(self, request, key):
        data = (request.json() or {}).get("data") or {}
        try:
            sdl = yaml.safe_load(data.get("sdl") or "")
            gpu = next(iter(sdl["profiles"]["compute"].values()))["gpu"]["attributes"]["vendor"]["nvidia"][0]
        except (yaml.YAMLError, KeyError, TypeError, StopIteration, IndexError, AttributeError):
            return _error(400, "BadRequestError", "Invalid SDL")
        dseq = str(24_000_000 + len(self.instances) + 1)
        self.instances[dseq] = SimInstance(id=dseq, owner_key=key, created_at=self.now(), spec={
            "name": data.get("name"), "gpu": gpu, "sdl": sdl}, boot_s=self.boot_s, extra={"lease": None})
        return Response.json({"data": {"dseq": dseq, "manifest": "[]", "signTx": {"code": 0}}}, status=201)

    def list_bids(self, request, key):
        deployment = self.owned(key, request.query.get("dseq", ""))
        if deployment is None:
            return self.not_found()
        return Response.json({"data": [self._bid(deployment, p) for p in self._bidders(deployment)]})

    def _bidders(self, deployment: SimInstance) -> list[str]:
        gpu = deployment.spec["gpu"]
        row = next((r for r in MARKET if r[1] == gpu.get("model") and r[2] == gpu.get("ram")), None)
        if self.faults.capacity_error or row is None or not row[5] or row[6] is None:
            return []
        return list(PROVIDERS) if self.now() - deployment.created_at >= self.bid_delay_s else []

    def bid_amount(self, deployment: SimInstance, provider: str) -> str:
        gpu = deployment.spec["gpu"]
        usd = self.market_price(gpu["model"], gpu["ram"]) * (0.85 + 0.3 * hash_unit(provider + deployment.id))
        return f"{usd / 3600 * AVERAGE_BLOCK_S * 1e6:.4f}"  # uact per block

    def _bid(self, deployment: SimInstance, provider: str) -> dict:
        bid_id = {"owner": OWNER, "dseq": deployment.id, "gseq": 1, "oseq": 1, "provider": provider}
        return {"bid": {"bid_id": bid_id, "state": "open", "created_at": _iso(deployment.created_at),
                        "price": {"denom": "uact", "amount": self.bid_amount(deployment, provider)},
                        "resources_offer": [{"resources": {"gpu": {"units": {"val": "1"}}}, "count": 1}]},
                "escrow_account": {}}

    def create_lease(self, request, key):
        body = request.json() or {}
        wanted = (body.get("leases") or [{}])[0]
        deployment = self.owned(key, str(wanted.get("dseq", "")))
        if deployment is None:
            return self.not_found()
        if wanted.get("provider") not in self._bidders(deployment):
            return _error(400, "BadRequestError", "No open bid from this provider")
        deployment.extra["lease"] = {"provider": wanted["provider"], "created_at": self.now(),
                                     "price": {"denom": "uact", "amount": self.bid_amount(deployment, wanted["provider"])}}
        self.set_state(deployment, "running")
        return Response.json({"data": self.render(deployment)})

    def get_deployment(self, request, key, dseq):
        deployment = self.instances.get(dseq)
        if deployment is None or deployment.owner_key != key:
            return _error(404, "NotFoundError", f"Deployment {dseq} not found")
        return Response.json({"data": self.render(deployment)})

    def list_deployments(self, request, key):
        rows = [self.render(d) for d in self.instances.values() if d.owner_key == key]
        skip, limit = int(request.query.get("skip") or 0), int(request.query.get("limit") or 10)
        page = rows[skip:skip + limit]
        return Response.json({"data": {"deployments": page, "pagination": {
            "total": len(rows), "skip": skip, "limit": limit, "hasMore": skip + limit < len(rows)}}})

    def close_deployment(self, request, key, dseq):
        deployment = self.owned(key, dseq)
        if deployment is None:
            return _error(404, "NotFoundError", f"Deployment {dseq} not found")
        self.set_state(deployment, "terminated")
        return Response.json({"data": {"success": True}})

    # --- rendering ---------------------------------------------------------------------------

    def render(self, deployment: SimInstance) -> dict:
        closed = deployment.state == "terminated"
        lease = deployment.extra.get("lease")
        return {"name": deployment.spec.get("name"),
                "deployment": {"id": {"owner": OWNER, "dseq": deployment.id}, "state": "closed" if closed else "active",
                               "hash": "", "created_at": _iso(deployment.created_at)},
                "leases": [self._lease(deployment, lease, closed)] if lease else [],
                "escrow_account": {}, "consoleSettings": None}

    def _lease(self, deployment: SimInstance, lease: dict, closed: bool) -> dict:
        ready = not closed and deployment.booted(self.now())
        ports = [p["port"] for p in deployment.spec["sdl"]["services"]["app"].get("expose") or []]
        host = f"{lease['provider']}.ingress.sbx.test"
        status = None if closed else {
            "forwarded_ports": {"app": [{"port": p, "externalPort": 30000 + i, "host": host, "available": 1}
                                        for i, p in enumerate(ports)]},
            "ips": {}, "services": {"app": {"name": "app", "available": int(ready), "total": 1,
                                            "uris": [f"{deployment.id}.{host}"], "ready_replicas": int(ready)}}}
        return {"id": {"owner": OWNER, "dseq": deployment.id, "gseq": 1, "oseq": 1, "provider": lease["provider"],
                       "bseq": 1}, "state": "closed" if closed else "active", "price": lease["price"],
                "created_at": _iso(lease["created_at"]), "closed_on": "" if not closed else _iso(self.now()),
                "status": status}
