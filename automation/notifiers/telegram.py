"""A small Telegram Bot API client: getMe (token check), sendMessage, getUpdates (chat linking).

The token is part of every URL (`/bot<token>/<method>`), so nothing here lets an httpx message,
a URL or a header reach a log or an error: failures are reported by exception class name and
Telegram's own `description` (reliability.md §2.4). A non-default API address (the loopback fake
in tests) goes through the SSRF guard like any user-supplied URL."""

import html
import logging
import re

import httpx
from django.conf import settings

from automation import netguard
from automation.notifiers.base import Message, Result, clip

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
TIMEOUT_S = 10.0
MAX_TEXT = 4000  # Telegram's limit is 4096 characters after entity parsing
# Errors after which this chat will never accept the bot's messages again.
PERMANENT_DESCRIPTIONS = ("bot was blocked", "chat not found", "user is deactivated", "bot was kicked",
                          "have no rights to send", "not enough rights")


_TOKEN_IN_PATH = re.compile(r"/bot[^/\s]+/")


class _RedactBotTokens(logging.Filter):
    """httpx logs every request URL at INFO; a Bot API URL carries the token in its path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_PATH.sub("/bot[redacted]/", str(arg)) if isinstance(arg, httpx.URL) else arg
                                for arg in record.args)
        return True


if not any(isinstance(f, _RedactBotTokens) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactBotTokens())


class TelegramUnavailable(Exception):
    """The Bot API could not be reached or answered garbage; the message holds no token."""


def api_url() -> str:
    return (getattr(settings, "COMPUTEHUB_TELEGRAM_API_URL", "") or DEFAULT_API_URL).rstrip("/")


def _client() -> httpx.Client:
    if api_url() == DEFAULT_API_URL:
        return httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=5.0), follow_redirects=False, trust_env=False)
    return netguard.guarded_client(timeout=TIMEOUT_S)


def call(token: str, method: str, payload: dict | None = None) -> tuple[int, dict]:
    """(HTTP status, decoded answer). Raises TelegramUnavailable or netguard.OutboundRefused."""
    try:
        with _client() as client:
            response = client.post(f"{api_url()}/bot{token}/{method}", json=payload or {})
    except netguard.OutboundRefused:
        raise
    except httpx.TimeoutException:
        raise TelegramUnavailable("Telegram did not answer in time.") from None
    except httpx.HTTPError as exc:
        raise TelegramUnavailable(f"Could not reach Telegram ({type(exc).__name__}).") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TelegramUnavailable(f"Telegram answered HTTP {response.status_code} without a Bot API body.")
    return response.status_code, answer


def get_me(token: str) -> dict | None:
    """The bot ({"id", "username", ...}), or None when Telegram rejects the token."""
    status, answer = call(token, "getMe")
    if answer.get("ok") and isinstance(answer.get("result"), dict):
        return answer["result"]
    if status in (401, 404) or answer.get("error_code") in (401, 404):
        return None
    raise TelegramUnavailable(f"Telegram answered {status}: {answer.get('description', 'no description')}")


def get_updates(token: str, offset: int | None) -> list[dict]:
    payload = {"timeout": 0, "allowed_updates": ["message"]}
    if offset is not None:
        payload["offset"] = offset
    status, answer = call(token, "getUpdates", payload)
    if not answer.get("ok"):
        raise TelegramUnavailable(f"getUpdates failed: {status} {answer.get('description', '')}".strip())
    return [update for update in answer.get("result") or [] if isinstance(update, dict)]


def render(message: Message) -> str:
    text = f"<b>{html.escape(message.subject)}</b>\n{html.escape(message.body)}"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def classify(status: int, answer: dict) -> Result:
    """The Result of a sendMessage answer."""
    if answer.get("ok"):
        return Result.sent("Delivered", http_status=status)
    code = answer.get("error_code") or status
    description = str(answer.get("description") or "no description")
    detail = clip(f"Telegram {code}: {description}")
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    if code == 429 or code >= 500:
        return Result.transient(detail, http_status=status, retry_after=_number(parameters.get("retry_after")))
    permanent = code == 401 or code == 403 or any(p in description.lower() for p in PERMANENT_DESCRIPTIONS)
    return Result.refused(detail, http_status=status, permanent=permanent)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def send_text(token: str, chat_id: int, text: str) -> tuple[Result, int | None]:
    """(Result, the chat's new id when Telegram says the group became a supergroup)."""
    try:
        status, answer = call(token, "sendMessage", {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                                                     "link_preview_options": {"is_disabled": True}})
    except netguard.OutboundRefused as exc:
        return Result.refused(str(exc)), None
    except TelegramUnavailable as exc:
        return Result.transient(str(exc)), None
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    migrated = parameters.get("migrate_to_chat_id")
    return classify(status, answer), migrated if isinstance(migrated, int) else None


def send(channel, message: Message, token: str) -> Result:
    chat_id = channel.config.get("chat_id")
    if not chat_id:
        return Result.refused("This Telegram channel is not linked to a chat yet: open the link and press Start.")
    result, migrated = send_text(token, chat_id, render(message))
    if migrated:  # the group was upgraded: remember the new id and send there at once
        channel.config["chat_id"] = migrated
        type(channel).objects.filter(pk=channel.pk).update(config=channel.config)
        result, _ = send_text(token, migrated, render(message))
    return result
