"""What the bench controls: the Vast.ai and RunPod sandbox clouds (their real wire protocol, served
over loopback HTTP to the real adapters) whose instances are reachable on 127.0.0.1, and the
service each instance runs: an HTTP endpoint that answers 200 while its instance is running and
booted, and 503 once the bench breaks it.

The only change to the sandboxes is where an instance answers: the address they report is
127.0.0.1 and container port 8000 maps to a loopback port of this process. Restart requests and
launches are timestamped as the sandbox receives them (time.time(), the clock Django's
timestamps use too). A break in mode "restart" is cleared by the instance's next restart (a
hung process); in mode "sticky" it survives restarts (a broken host), so only a new instance on
another provider answers again."""

import asyncio
import threading
import time
from collections import defaultdict

from providers.sandbox.runpod import RunPodCloud
from providers.sandbox.server import serve
from providers.sandbox.vast import VastCloud

CONTAINER_PORT = 8000
HEALTH_PATH = "/health"


class Services:
    """One loopback HTTP endpoint per instance (a pool opened up front), its probe log, and the
    bench's breaks. Thread-safe: the sandbox answers from its own threads."""

    def __init__(self, clouds: dict, pool: int):
        self.clouds, self.lock = clouds, threading.Lock()
        self.port_of: dict[tuple, int] = {}
        self.key_of: dict[int, tuple] = {}
        self.free: list[int] = []
        self.broken: dict[tuple, str] = {}
        self.hits: dict[tuple, list] = defaultdict(list)  # (time, ok)
        self.restarts: dict[tuple, list] = defaultdict(list)
        self.reads: dict[tuple, list] = defaultdict(list)  # the reconciler looking at the instance
        self.created: dict[tuple, float] = {}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="bench-services", daemon=True).start()
        self.free = asyncio.run_coroutine_threadsafe(self._open(pool), self.loop).result(30)

    async def _open(self, count: int) -> list[int]:
        ports = []
        for _ in range(count):
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=256)
            ports.append(server.sockets[0].getsockname()[1])
        return ports

    async def _handle(self, reader, writer) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            key = self.key_of.get(writer.get_extra_info("sockname")[1])
            ok = key is not None and self.healthy(key)
            status = b"200 OK" if ok else b"503 Service Unavailable"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            if key is not None:
                self.hits[key].append((time.time(), ok))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def healthy(self, key: tuple) -> bool:
        cloud, instance_id = key
        instance = self.clouds[cloud].instances.get(instance_id)
        return (instance is not None and instance.state == "running" and instance.booted(time.time())
                and key not in self.broken)

    def assign(self, key: tuple) -> int:
        """The loopback port where `key`'s container port answers (given at launch, kept after)."""
        with self.lock:
            if key not in self.port_of:
                port = self.free.pop(0)
                self.port_of[key], self.key_of[port] = port, key
                self.created[key] = time.time()
            return self.port_of[key]

    def restart_received(self, key: tuple) -> None:
        self.restarts[key].append(time.time())
        if self.broken.get(key) == "restart":
            del self.broken[key]  # the hung process is gone; the new one answers once booted

    def break_it(self, key: tuple, mode: str) -> float:
        self.broken[key] = mode
        return time.time()


class BenchVast(VastCloud):
    services: Services

    def create(self, request, key, ask_id):
        response = super().create(request, key, ask_id)
        if response.status == 200:
            self.services.assign(("vast", str(self.next_id - 1)))
        return response

    def get_instance(self, request, key, instance_id):
        self.services.reads[("vast", str(instance_id))].append(time.time())
        return super().get_instance(request, key, instance_id)

    def reboot(self, request, key, instance_id):
        self.services.restart_received(("vast", str(instance_id)))
        return super().reboot(request, key, instance_id)

    def instance_json(self, instance):
        row = super().instance_json(instance)
        row["public_ipaddr"] = "127.0.0.1"
        if row["ports"] is not None:
            port = self.services.assign(("vast", instance.id))
            row["ports"][f"{CONTAINER_PORT}/tcp"] = [{"HostIp": "0.0.0.0", "HostPort": str(port)}]
        return row


class BenchRunPod(RunPodCloud):
    services: Services

    def _deploy(self, key, spec, *, spot):
        before = set(self.instances)
        response = super()._deploy(key, spec, spot=spot)
        for pod_id in set(self.instances) - before:
            self.services.assign(("runpod", pod_id))
        return response

    def op_pod(self, key, variables):
        self.services.reads[("runpod", (variables.get("input") or {}).get("podId", ""))].append(time.time())
        return super().op_pod(key, variables)

    def op_podStop(self, key, variables):
        # RunPod has no restart call: ComputeHub's restart is podStop then podResume.
        self.services.restart_received(("runpod", (variables.get("input") or {}).get("podId", "")))
        return super().op_podStop(key, variables)

    def runtime(self, pod):
        data = super().runtime(pod)
        port = self.services.assign(("runpod", pod.id))
        ports = [dict(p, ip="127.0.0.1") for p in data["ports"] if p["privatePort"] == 22]
        data["ports"] = ports + [{"ip": "127.0.0.1", "isIpPublic": True, "privatePort": CONTAINER_PORT,
                                  "publicPort": port, "type": "http"}]
        return data


class World:
    """The sandbox server (its URL and clouds) and the instances' services."""

    def __init__(self, pool: int):
        self.vast, self.runpod = BenchVast(), BenchRunPod()
        self.clouds = {"vast": self.vast, "runpod": self.runpod}
        self.services = Services(self.clouds, pool)
        for cloud in self.clouds.values():
            cloud.services = self.services
        self.server = serve(list(self.clouds.values()))
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def boot_s(self) -> float:
        return self.vast.boot_s

    def stop(self) -> None:
        self.server.shutdown()
        self.services.loop.call_soon_threadsafe(self.services.loop.stop)
