"""A webhook receiver on loopback that checks Standard Webhooks signatures the way a customer's
endpoint would, written from the spec (not with the sender's code): HMAC-SHA256 keyed with the
base64-decoded part after `whsec_`, over "{webhook-id}.{webhook-timestamp}.{raw body}", any of the
space-separated `v1,<base64>` signatures may match, timestamp within 5 minutes."""

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field

from automation.fakes.server import LoopbackServer

TOLERANCE_S = 300


def expected_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def verified_by(secrets: list[str], headers: dict, body: bytes, *, now: float | None = None) -> list[str]:
    """The secrets whose signature is in the headers (empty: not verified)."""
    headers = {k.lower(): v for k, v in headers.items()}
    message_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE_S:
        return []
    given = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return [secret for secret in secrets
            if any(hmac.compare_digest(expected_signature(secret, message_id, timestamp, body), sig) for sig in given)]


@dataclass
class Delivery:
    headers: dict
    body: bytes
    verified_by: list

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secrets: list = field(default_factory=list)
    deliveries: list = field(default_factory=list)
    responses: list = field(default_factory=list)  # scripted (status, headers, delay_s); then 200

    def __post_init__(self):
        self._lock = threading.Lock()

    def answer_next(self, status: int, headers: dict | None = None, *, delay_s: float = 0.0, times: int = 1) -> None:
        self.responses += [(status, headers or {}, delay_s)] * times

    def reset(self) -> None:
        self.secrets.clear(), self.deliveries.clear(), self.responses.clear()

    def __call__(self, http_method: str, path: str, headers: dict, body: bytes):
        with self._lock:
            self.deliveries.append(Delivery(headers, body, verified_by(self.secrets, headers, body)))
            status, extra, delay_s = self.responses.pop(0) if self.responses else (200, {}, 0.0)
        time.sleep(delay_s)
        if not self.deliveries[-1].verified_by and status < 300:
            status = 400  # a receiver rejects what it cannot verify
        return status, {"Content-Type": "text/plain", **extra}, b"ok" if status < 300 else b"no"


def serve() -> tuple[WebhookReceiver, LoopbackServer]:
    receiver = WebhookReceiver()
    return receiver, LoopbackServer(receiver).start()
