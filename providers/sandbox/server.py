"""Serves every sandbox cloud over real HTTP, each under its own path prefix:
http://127.0.0.1:8001/runpod/graphql, .../vast/api/v0/bundles/, .../lambda/api/v1/instance-types.

Control endpoints let tests, benchmarks and people turn fault knobs in the running process. They
answer only requests carrying ``X-Sandbox-Control: <token>`` (the token given to ``serve``, or a
random one per server): the sandbox shares a host with ComputeHub, and a credential pointed at it
must not be able to switch outages on or forget other workspaces' instances.
  GET  /_sandbox/                   every cloud's knobs and call count
  POST /_sandbox/<cloud>/faults     JSON of Faults fields, e.g. {"latency_s": 0.3, "outage": true}
  POST /_sandbox/<cloud>/reset      knobs off, instances forgotten
"""

import hmac
import json
import logging
import secrets
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from providers.sandbox.base import Request, Response, SandboxCloud, parse_query

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
CONTROL_HEADER = "X-Sandbox-Control"


class SandboxApp:
    """A WSGI app routing /<cloud-name>/... to that cloud, and /_sandbox/... to the controls."""

    def __init__(self, clouds: list[SandboxCloud], control_token: str):
        if not control_token:
            raise ValueError("the sandbox control endpoints need a non-empty token")
        self.clouds = {cloud.name: cloud for cloud in clouds}
        self.control_token = control_token

    def __call__(self, environ, start_response):
        response = self.dispatch(_request_from(environ))
        headers = list(response.headers.items())
        if response.stream is None:
            headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [response.body] if response.stream is None else response.stream  # a stream ends when it closes

    def dispatch(self, request: Request) -> Response:
        head, _, rest = request.path.lstrip("/").partition("/")
        if head == "_sandbox":
            if not self._control_allowed(request):
                return Response.json({"error": f"control endpoints need the {CONTROL_HEADER} header"}, 401)
            return self.control(request, rest)
        cloud = self.clouds.get(head)
        if cloud is None:
            return Response.json({"error": f"no sandbox cloud named {head!r}"}, 404)
        request.path = "/" + rest
        try:
            return cloud.handle(request)
        except Exception:  # a sandbox bug must look like a provider's 500, not kill the server
            logger.exception("sandbox %s failed on %s %s", cloud.name, request.method, request.path)
            return Response.json({"error": "internal error"}, 500)

    def _control_allowed(self, request: Request) -> bool:
        given = request.headers.get(CONTROL_HEADER.lower(), "")
        return hmac.compare_digest(given.encode(), self.control_token.encode())  # constant time

    def control(self, request: Request, rest: str) -> Response:
        name, _, action = rest.strip("/").partition("/")
        if not name:
            return Response.json({n: {"faults": vars(c.faults), "calls": c.calls} for n, c in self.clouds.items()})
        cloud = self.clouds.get(name)
        if cloud is None or request.method != "POST" or action not in ("faults", "reset"):
            return Response.json({"error": "unknown control"}, 404)
        if action == "reset":
            cloud.reset()
            return Response.json({"ok": True})
        try:
            cloud.faults.update(request.json() or {})
        except (KeyError, ValueError, TypeError) as exc:
            return Response.json({"error": f"bad fault setting: {exc}"}, 400)
        return Response.json(vars(cloud.faults))


def _request_from(environ) -> Request:
    length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return Request(
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        query=parse_query(environ.get("QUERY_STRING", "")),
        headers=headers,
        body=environ["wsgi.input"].read(length) if length else b"",
    )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # slow (latency-knob) answers must not block each other


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        logger.debug("sandbox: " + format, *args)


def serve(clouds: list[SandboxCloud], host: str = "127.0.0.1", port: int = 0, *, control_token: str | None = None):
    """Start serving in a daemon thread; returns the server (`server.server_port`, `.shutdown()`,
    `.control_token`: a random one unless given)."""
    app = SandboxApp(clouds, control_token or secrets.token_urlsafe(24))
    server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    server.control_token = app.control_token
    threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True).start()
    return server


def control(base_url: str, cloud: str, *, token: str, **faults) -> dict:
    """Turn knobs of a running sandbox from another process (tests, benchmarks); `token` is the
    server's control token. Raises httpx.HTTPStatusError when the sandbox refuses."""
    import httpx

    url = f"{base_url.rstrip('/')}/_sandbox/{cloud}/" + ("faults" if faults else "reset")
    response = httpx.post(url, json=faults or None, headers={CONTROL_HEADER: token}, timeout=5)
    if response.status_code in (401, 404):
        response.raise_for_status()
    return response.json()
