"""The facts a rule's conditions see (automation.conditions.FIELDS), as far as the recorded
history tells them at a past moment. What history cannot tell exactly is approximated, and
APPROXIMATED says how, so the page can be honest about it."""

from datetime import datetime, timedelta, timezone

from automation.replay import timeline
from automation.replay.history import History
from automation.replay.prices import PriceBook
from automation.replay.spec import Occurrence

SAMPLE_FRESH = timedelta(minutes=10)

APPROXIMATED = {
    "deployment.price_per_hour": "its launch price (price changes of a running instance are not recorded)",
    "deployment.spend_usd": "daily spend spread evenly over each day",
    "spend": "daily spend spread evenly over each day",
    "health.consecutive_failures": "3 while down, 0 otherwise, unless the event recorded the count",
    "health.uptime_24h_percent": "from recorded health flips",
    "automation.restarts_last_hour": "only the restarts this rule would have made",
    "price": "from recorded price points (each provider's cheapest per refresh)",
    "deployment.status": "the last recorded status change before the moment",
    "automation.auto_restart_enabled": "whether the Auto-restart policy covers it now",
}


def facts_at(history: History, book: PriceBook, occurrence: Occurrence, *, restarts_last_hour: int = 0) -> dict:
    at, deployment_id = occurrence.at, occurrence.deployment_id
    utc = at.astimezone(timezone.utc)
    facts = {"time.hour_utc": utc.hour, "time.weekday": utc.weekday(), "event.type": occurrence.data.get("event_type"),
             "automation.restarts_last_hour": restarts_last_hour,
             "automation.auto_restart_enabled": bool({"*", deployment_id} & history.auto_restart_covers)}
    facts |= _workspace_spend(history, at)
    info = history.deployments.get(deployment_id) if deployment_id else None
    if info is not None:
        facts |= _deployment(history, info, at) | _health(history, info.id, at, occurrence)
        facts |= _metrics(history, info.id, at) | _prices(book, info, at)
    elif occurrence.data.get("price") is not None:
        facts["price.cheapest"] = occurrence.data["price"]
    return facts


def _deployment(history: History, info, at: datetime) -> dict:
    status = timeline.status_at(history, info.id, at)
    return {
        "deployment.name": info.name, "deployment.provider": info.provider, "deployment.region": info.region,
        "deployment.gpu_model": info.gpu_model, "deployment.gpu_count": info.gpu_count,
        "deployment.price_per_hour": info.price_per_hour, "deployment.spot": info.spot,
        "deployment.status": status, "deployment.uptime_s": _uptime_s(history, info.id, at, status),
        "deployment.spend_usd": _spend_until(history, info.id, at),
        "spend.deployment_today_usd": _spend_on_day(history, at, info.id),
    }


def _uptime_s(history: History, deployment_id: str, at: datetime, status: str | None) -> float | None:
    if status != timeline.RUNNING:
        return 0
    starts = [row.at for row in history.of("statuses", deployment_id) if row.at <= at and row.new == timeline.RUNNING]
    return (at - starts[-1]).total_seconds() if starts else None


def _health(history: History, deployment_id: str, at: datetime, occurrence: Occurrence) -> dict:
    state = timeline.health_at(history, deployment_id, at)
    if state is None and occurrence.data.get("event_type") in ("down", "still_down"):
        state = "down"  # the event says so even where its flip is outside the window
    failures = occurrence.data.get("consecutive_failures", 3 if state == "down" else 0)
    return {"health.state": state, "health.consecutive_failures": failures if state else None,
            "health.uptime_24h_percent": _uptime_percent(history, deployment_id, at)}


def _uptime_percent(history: History, deployment_id: str, at: datetime) -> float | None:
    """Share of the 24 h before `at` not spent down, from flips; None without any flip."""
    start = at - timedelta(hours=24)
    flips = [row for row in history.of("flips", deployment_id) if row.at <= at]
    if not flips:
        return None
    before = [row for row in flips if row.at <= start]
    down, state, since = timedelta(), (before[-1].new if before else flips[0].old), start
    for row in (row for row in flips if row.at > start):
        down += (row.at - since) if state == "down" else timedelta()
        state, since = row.new, row.at
    down += (at - since) if state == "down" else timedelta()
    return round(100 - down / timedelta(hours=24) * 100, 2)


def _metrics(history: History, deployment_id: str, at: datetime) -> dict:
    recent = [row for row in history.of("samples", deployment_id) if at - SAMPLE_FRESH <= row.at <= at]
    if not recent:
        return {}
    values = recent[-1].values
    keys = ("gpu_util_percent", "gpu_mem_used_gb", "gpu_temp_c", "cpu_percent", "ram_used_gb")
    return {f"metrics.{key}": values[key] for key in keys if values.get(key) is not None}


def _prices(book: PriceBook, info, at: datetime) -> dict:
    facts = {"price.gpu_model": info.gpu_model, "price.current": info.price_per_hour}
    per_gpu = book.cheapest_at(info.gpu_model, at) if info.gpu_model else None
    if per_gpu is not None:
        cheapest = per_gpu * max(info.gpu_count, 1)
        facts["price.cheapest"] = cheapest
        facts["price.saving_percent"] = _saving(info.price_per_hour, cheapest)
    return facts


def _saving(current: float, candidate: float) -> float:
    if current <= 0 or candidate >= current:
        return 0.0
    return round((current - candidate) / current * 100, 2)


def _day_fraction(at: datetime) -> float:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return (at - midnight) / timedelta(days=1)


def _spend_on_day(history: History, at: datetime, deployment_id: str | None = None) -> float:
    rows = history.spend if deployment_id is None else history.of("spend", deployment_id)
    return round(sum(row.usd for row in rows if row.day == at.date()) * _day_fraction(at), 4)


def _spend_until(history: History, deployment_id: str, at: datetime) -> float:
    earlier = sum(row.usd for row in history.of("spend", deployment_id) if row.day < at.date())
    return round(earlier + _spend_on_day(history, at, deployment_id), 4)


def _workspace_spend(history: History, at: datetime) -> dict:
    month = sum(row.usd for row in history.spend if row.day < at.date()
                and (row.day.year, row.day.month) == (at.year, at.month))
    today = _spend_on_day(history, at)
    return {"spend.workspace_today_usd": today, "spend.workspace_month_usd": round(month + today, 4)}
