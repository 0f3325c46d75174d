"""A Telegram-shaped Bot API on loopback: getMe, sendMessage, getUpdates, with the real error
shapes ({ok:false, error_code, description, parameters}) and scripted faults: 429 with
retry_after, 403 "bot was blocked by the user", 400 "chat not found", 5xx and slow answers.

Only chats that pressed Start (`press_start`) are known; sendMessage to any other chat answers
400 "Bad Request: chat not found", as Telegram does."""

import argparse
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from automation.fakes.server import LoopbackServer, json_response


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    delay_s: float = 0.0


@dataclass
class FakeBotApi:
    bots: dict = field(default_factory=dict)  # token → {"id", "username", ...}
    known_chats: set = field(default_factory=set)
    blocked_chats: set = field(default_factory=set)
    sent: list = field(default_factory=list)  # {"bot_id", "chat_id", "text", "at"}
    calls: list = field(default_factory=list)  # method names, in order
    updates: dict = field(default_factory=dict)  # bot id → [update]
    faults: list = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # --- knobs for tests -------------------------------------------------------------------
    def add_bot(self, token: str, username: str) -> dict:
        bot = {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": username, "username": username}
        self.bots[token] = bot
        return bot

    def press_start(self, token: str, chat_id: int, payload: str, title: str = "Ops") -> None:
        """A person opened t.me/<bot>?start=<payload> and pressed Start."""
        self.known_chats.add(chat_id)
        chat = {"id": chat_id, "type": "private", "first_name": title}
        update = {"update_id": next(self._ids), "message": {"message_id": next(self._ids), "chat": chat,
                                                           "date": int(time.time()), "text": f"/start {payload}"}}
        self.updates.setdefault(self.bots[token]["id"], []).append(update)

    def fail_next(self, method: str, status: int, description: str, *, retry_after: int | None = None,
                  delay_s: float = 0.0, times: int = 1) -> None:
        self.faults += [Fault(method, status, description, retry_after, delay_s) for _ in range(times)]

    def reset(self) -> None:
        for collection in (self.bots, self.updates):
            collection.clear()
        for collection in (self.known_chats, self.blocked_chats):
            collection.clear()
        self.sent.clear(), self.calls.clear(), self.faults.clear()

    def messages_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    # --- the API -----------------------------------------------------------------------------
    def __call__(self, http_method: str, path: str, headers: dict, body: bytes):
        if urlsplit(path).path == "/_fake/start":  # by hand: simulate a person pressing Start
            return self._control_start(body)
        token, _, method = urlsplit(path).path.removeprefix("/bot").partition("/")
        params = dict(parse_qsl(urlsplit(path).query))
        if body:
            try:
                params.update(json.loads(body))
            except ValueError:
                return json_response(400, _error(400, "Bad Request: can't parse JSON"))
        with self._lock:
            self.calls.append(method)
            fault = self._take_fault(method)
        if fault is not None:
            time.sleep(fault.delay_s)
            parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return json_response(fault.status, _error(fault.status, fault.description, parameters))
        bot = self.bots.get(token)
        if bot is None:
            return json_response(401, _error(401, "Unauthorized"))
        handler = {"getMe": self._get_me, "sendMessage": self._send, "getUpdates": self._get_updates}.get(method)
        if handler is None:
            return json_response(404, _error(404, "Not Found"))
        return handler(bot, params)

    def _control_start(self, body: bytes):
        """POST /_fake/start {"token", "chat_id", "payload"}: what pressing Start on a t.me link does."""
        try:
            data = json.loads(body)
            self.press_start(data["token"], int(data["chat_id"]), str(data["payload"]))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"ok": False, "description": "need token (a known bot), chat_id, payload"})
        return json_response(200, {"ok": True})

    def _take_fault(self, method: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.method == method:
                return self.faults.pop(index)
        return None

    def _get_me(self, bot, params):
        return json_response(200, {"ok": True, "result": bot})

    def _send(self, bot, params):
        chat_id = params.get("chat_id")
        if chat_id in self.blocked_chats:
            return json_response(403, _error(403, "Forbidden: bot was blocked by the user"))
        if chat_id not in self.known_chats:
            return json_response(400, _error(400, "Bad Request: chat not found"))
        text = params.get("text") or ""
        if not text or len(text) > 4096:
            return json_response(400, _error(400, "Bad Request: message text is empty or too long"))
        with self._lock:
            self.sent.append({"bot_id": bot["id"], "chat_id": chat_id, "text": text, "at": time.time()})
        return json_response(200, {"ok": True, "result": {"message_id": len(self.sent), "chat": {"id": chat_id},
                                                          "text": text}})

    def _get_updates(self, bot, params):
        pending = self.updates.setdefault(bot["id"], [])
        offset = params.get("offset")
        if isinstance(offset, int):  # confirming: updates below the offset are forgotten
            pending[:] = [u for u in pending if u["update_id"] >= offset]
        return json_response(200, {"ok": True, "result": list(pending)})


def _error(code: int, description: str, parameters: dict | None = None) -> dict:
    error = {"ok": False, "error_code": code, "description": description}
    if parameters:
        error["parameters"] = parameters
    return error


def serve(api: FakeBotApi | None = None, port: int = 0) -> tuple[FakeBotApi, LoopbackServer]:
    api = api or FakeBotApi()
    return api, LoopbackServer(api, port).start()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--bot", action="append", default=[], metavar="TOKEN=USERNAME",
                        help="a bot the fake accepts, e.g. 123456:AAAAAAAAAAAAAAAAAAAAAAAA=computehub_bot")
    args = parser.parse_args()
    api, server = serve(port=args.port)
    for entry in args.bot:
        token, _, username = entry.partition("=")
        api.add_bot(token, username or "fake_bot")
    print(f"Fake Telegram Bot API on {server.url}; set COMPUTEHUB_TELEGRAM_API_URL={server.url} "
          "and COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE=true. Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
