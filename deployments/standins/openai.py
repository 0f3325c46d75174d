"""The vLLM stand-in's OpenAI-compatible routes: GET /v1/models and POST /v1/chat/completions
with an echo-style reply in OpenAI's JSON shape, so clients and health checks work unchanged."""

import json
import time
import uuid

JSON = "application/json"


def handle(model: str, method: str, path: str, body: bytes):
    """(status, content type, body) for an OpenAI route, or None for other paths."""
    if method == "GET" and path == "/v1/models":
        return 200, JSON, _json(models(model))
    if method == "POST" and path == "/v1/chat/completions":
        return chat(model, body)
    if method == "GET" and path == "/health":
        return 200, JSON, b"{}"
    return None


def models(model: str) -> dict:
    return {"object": "list", "data": [{"id": model, "object": "model", "created": int(time.time()),
                                        "owned_by": "computehub-standin"}]}


def chat(model: str, body: bytes):
    try:
        request = json.loads(body or b"{}")
        messages = request["messages"]
        last = str(messages[-1].get("content", "")) if messages else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return 400, JSON, _json({"error": {"message": "Expected a JSON body with `messages`.", "type": "invalid_request_error"}})
    return 200, JSON, _json(completion(request.get("model") or model, last, len(messages)))


def completion(model: str, last: str, turns: int) -> dict:
    reply = f"(stand-in) You said: {last}" if last else "(stand-in) Hello! Install vLLM for real answers."
    prompt_tokens, completion_tokens = len(last.split()) + turns, len(reply.split())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _json(data) -> bytes:
    return json.dumps(data).encode()
