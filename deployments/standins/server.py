"""The stdlib HTTP stand-in: one ThreadingHTTPServer on 127.0.0.1:$PORT, a line per request on
stdout, and a clean exit on SIGTERM (the Local provider stops a deployment with SIGTERM)."""

import json
import signal
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from deployments.standins import openai, pages

MAX_BODY = 1_000_000


def log(message: str):
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
    print(f"{stamp} {message}", flush=True)


class StandinHandler(BaseHTTPRequestHandler):
    """Routes by (method, path) to the kind's handlers; anything else is a JSON 404."""

    kind = ""
    model = ""
    server_version = "ComputeHubStandin/1"

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        path = self.path.split("?", 1)[0]
        status, content_type, body = route(self.kind, self.model, method, path, self._body(method))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self, method: str) -> bytes:
        if method != "POST":
            return b""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY))

    def log_message(self, format, *args):
        # The default writes to stderr without flushing per line; one stdout line per request.
        log(f"{self.address_string()} {format % args}")


def route(kind, model, method, path, body) -> tuple[int, str, bytes]:
    if kind == "vllm":
        answer = openai.handle(model, method, path, body)
        if answer is not None:
            return answer
    if method == "GET" and path in pages.JSON_ROUTES:
        return 200, "application/json", json.dumps(pages.JSON_ROUTES[path]).encode()
    if method == "GET" and path in ("/", "/index.html", "/lab", "/health", "/healthz"):
        return 200, "text/html; charset=utf-8", pages.page(kind).encode()
    return 404, "application/json", json.dumps({"error": {"message": f"{method} {path} not found"}}).encode()


def serve(kind: str, *, port: int, model: str) -> int:
    handler = type("Handler", (StandinHandler,), {"kind": kind, "model": model})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    # shutdown() blocks until serve_forever returns, so it cannot run in the signal handler's thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown, daemon=True).start())
    log(f"[standin] {pages.TITLES[kind]} stand-in listening on http://127.0.0.1:{httpd.server_port}/")
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    httpd.server_close()
    log("[standin] received SIGTERM, shut down cleanly")
    return 0
