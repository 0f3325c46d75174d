"""A token bucket per destination, shared by every worker through its database row (healthchecks'
TokenBucket): a Telegram chat takes at most 6 messages a minute. The take is a conditional UPDATE
on the balance just read, so two workers cannot both spend the last token."""

from datetime import datetime

from django.db import IntegrityError

from automation.models import TokenBucket

TELEGRAM_PER_MINUTE = 6
_CONTENDED_RETRY_S = 1.0


def take(key: str, *, capacity: int, per_seconds: float, now: datetime) -> float:
    """0 when a token was taken, else the seconds until one will be available."""
    rate = capacity / per_seconds
    for _ in range(5):
        bucket = _bucket(key, capacity, now)
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        tokens = min(float(capacity), bucket.tokens + elapsed * rate)
        if tokens < 1:
            return (1 - tokens) / rate
        taken = TokenBucket.objects.filter(pk=bucket.pk, tokens=bucket.tokens, updated_at=bucket.updated_at)
        if taken.update(tokens=tokens - 1, updated_at=max(now, bucket.updated_at)):
            return 0.0
    return _CONTENDED_RETRY_S


def _bucket(key: str, capacity: int, now: datetime) -> TokenBucket:
    try:
        bucket, _ = TokenBucket.objects.get_or_create(key=key, defaults={"tokens": float(capacity), "updated_at": now})
    except IntegrityError:  # created by another worker between the get and the create
        bucket = TokenBucket.objects.get(key=key)
    return bucket


def telegram_key(channel) -> str:
    return f"telegram:{channel.config.get('bot_id', '')}:{channel.config.get('chat_id', '')}"


def take_telegram(channel, *, now: datetime) -> float:
    return take(telegram_key(channel), capacity=TELEGRAM_PER_MINUTE, per_seconds=60.0, now=now)
