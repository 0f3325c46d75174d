"""Signed JSON webhooks per Standard Webhooks v1 (reliability.md §2.5).

Headers: `webhook-id` (the same on every attempt, so receivers can deduplicate),
`webhook-timestamp` (unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256>` over
`"{id}.{timestamp}.{body}"` keyed with the base64-decoded part of `whsec_…`; during a rotation
both secrets sign, space-separated. Sent through the SSRF guard; redirects are not followed."""

import base64
import hashlib
import hmac
import json
import os
import time

import httpx

from automation import netguard
from automation.notifiers.base import Message, Result, clip
from computehub.http import parse_retry_after

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
TIMEOUT_S = 10.0


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def send(channel, message: Message, secrets: list[str]) -> Result:
    body, timestamp = encode(message.payload), int(time.time())
    headers = {"webhook-id": message.message_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": signature_header(secrets, message.message_id, timestamp, body)}
    try:
        status, _, response_headers = netguard.post_json(channel.config.get("url", ""), content=body,
                                                         headers=headers, timeout=TIMEOUT_S)
    except netguard.OutboundRefused as exc:
        return Result.refused(str(exc))
    except httpx.TimeoutException:
        return Result.transient(f"Timed out after {TIMEOUT_S:.0f} s.")
    except httpx.HTTPError as exc:
        return Result.transient(f"Connection failed ({type(exc).__name__}).")
    return classify(status, response_headers)


def classify(status: int, headers: httpx.Headers) -> Result:
    if 200 <= status < 300:
        return Result.sent(f"HTTP {status}", http_status=status)
    if status == 429 or status >= 500:
        return Result.transient(f"HTTP {status}", http_status=status,
                                retry_after=parse_retry_after(headers.get("Retry-After")))
    if 300 <= status < 400:
        return Result.refused(f"HTTP {status}: redirects are not followed; use the final URL.", http_status=status)
    return Result.refused(clip(f"HTTP {status}" + (": the endpoint is gone" if status == 410 else "")),
                          http_status=status, permanent=status == 410)
