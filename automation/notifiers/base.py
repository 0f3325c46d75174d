"""What every notifier returns, and how the delivery loop reads it.

A `Result` is the exact outcome of one attempt, worded for the person who pressed "Send test":
the HTTP status, the Telegram description, the SMTP error. `retryable` failures (5xx, timeouts,
connection errors, 429) are tried again later; `permanent` ones (a blocked bot, a chat that no
longer exists, a webhook answering 410) disable the channel. Any other refusal is final for that
message but leaves the channel on."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    payload: dict = field(default_factory=dict)
    message_id: str = ""  # webhook-id: the same on every attempt


@dataclass(frozen=True)
class Result:
    ok: bool
    detail: str = ""  # what to show: "Delivered", "HTTP 503", "Forbidden: bot was blocked by the user"
    http_status: int | None = None
    retryable: bool = False
    permanent: bool = False
    retry_after: float | None = None  # seconds the receiver asked us to wait

    @classmethod
    def sent(cls, detail: str = "Delivered", http_status: int | None = None) -> "Result":
        return cls(ok=True, detail=detail, http_status=http_status)

    @classmethod
    def transient(cls, detail: str, *, http_status: int | None = None, retry_after: float | None = None) -> "Result":
        return cls(ok=False, detail=detail, http_status=http_status, retryable=True, retry_after=retry_after)

    @classmethod
    def refused(cls, detail: str, *, http_status: int | None = None, permanent: bool = False) -> "Result":
        return cls(ok=False, detail=detail, http_status=http_status, permanent=permanent)


def clip(text: str, limit: int = 300) -> str:
    """Fits Notification.error / NotificationChannel.last_error."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
