"""The reaction benchmark's figures (flat JSON), its per-incident table and the incidents file.

Spans (start → end moment of timeline.Incident):
- decision: 3rd failed probe → restart call received by the sandbox, split into flip_write
  (→ down event written), lane_wait (→ the rules lane claimed it), act (→ restart requested:
  restart_requested_at), pickup (→ the worker's reconcile read the instance), observe (→ the call);
- detect: failure → down written; provider: call → check up again; total: failure → up."""

import json
from pathlib import Path

from bench.logs import percentile

GOAL_DECISION_MS = 2000
SPANS_MS = {"flip_write_ms": ("probe3", "down_written"), "engine_ms": ("probe3", "requested"),
            "lane_wait_ms": ("down_written", "down_claimed"), "act_ms": ("down_claimed", "requested"),
            "wake_ms": ("requested", "call"), "pickup_ms": ("requested", "observe"),
            "observe_ms": ("observe", "call")}
FAILOVER_SPANS = {"decision_ms": ("still_down_probe", "launch_call"),
                  "escalate_ms": ("still_down_probe", "operation_started"),
                  "provider_s": ("launch_call", "replacement_up"), "running_s": ("launch_call", "replacement_running"),
                  "probe_wait_s": ("replacement_running", "replacement_first_probe"),
                  "healthy_s": ("replacement_first_probe", "replacement_up"),
                  "switch_s": ("replacement_up", "switched"),
                  "total_s": ("failed_at", "replacement_up")}


def _values(incidents, start: str, end: str, scale: float = 1.0) -> list[float]:
    return [v * scale for v in (i.span(start, end) for i in incidents) if v is not None]


def _pct(values: list[float], p: float, digits: int = 2):
    return round(percentile(values, p), digits) if values else None


def _settings(opts: dict, boot_s: float, seconds: float) -> dict:
    from django.conf import settings
    from django.db import connection

    return {"deployments": opts["incidents"] + opts["failovers"] + opts["bystanders"], "interval_s": opts["interval"],
            "still_down_s": settings.COMPUTEHUB_STILL_DOWN_S, "boot_s": boot_s,
            "reconcile_interval_s": settings.COMPUTEHUB_RECONCILE_INTERVAL_S, "worker": opts["worker"],
            "tuned": opts["tuned"], "database": connection.vendor, "seconds": round(seconds, 1),
            "goal_decision_ms": GOAL_DECISION_MS}


def _busy_reconciles() -> int:
    """Reconciles the worker gave up on because another process held the lease: those actions
    then wait for the next sweep (up to reconcile_interval_s)."""
    from django_q.models import Task

    return sum(t.result == "busy" for t in Task.objects.filter(func="deployments.tasks.reconcile"))


def _decision(incidents) -> dict:
    decisions = _values(incidents, "probe3", "call", 1000)
    out = {"decision_samples": len(decisions), "p50_decision_ms": _pct(decisions, 50, 1),
           "p95_decision_ms": _pct(decisions, 95, 1),
           "max_decision_ms": round(max(decisions), 1) if decisions else None}
    out["meets_goal"] = int(out["p95_decision_ms"] is not None and out["p95_decision_ms"] <= GOAL_DECISION_MS)
    return out | {f"p95_{name}": _pct(_values(incidents, *span, 1000), 95, 1) for name, span in SPANS_MS.items()}


def _restart_times(incidents, restarts) -> dict:
    detect, provider = _values(incidents, "failed_at", "down_written"), _values(restarts, "call", "up")
    total = _values(restarts, "failed_at", "up")
    return {"detect_s": _pct(detect, 50), "detect_p95_s": _pct(detect, 95), "provider_s": _pct(provider, 50),
            "provider_p95_s": _pct(provider, 95), "total_s": _pct(total, 50), "total_p95_s": _pct(total, 95)}


def _failover(failovers) -> dict:
    if not failovers:
        return {}
    out = {"failover_done": sum(i.outcome == "done" for i in failovers)}
    for name, (start, end) in FAILOVER_SPANS.items():
        values = _values(failovers, start, end, 1000 if name.endswith("_ms") else 1)
        out[f"failover_{name}"], out[f"failover_p95_{name}"] = _pct(values, 50), _pct(values, 95)
    return out


def figures(incidents, opts: dict, boot_s: float, seconds: float) -> dict:
    restarts = [i for i in incidents if i.role == "restart"]
    failovers = [i for i in incidents if i.role == "failover"]
    counts = {"incidents": len(incidents), "restart_incidents": len(restarts), "failover_incidents": len(failovers),
              "completed": sum(i.complete for i in incidents), "worker_busy": _busy_reconciles()}
    return (_settings(opts, boot_s, seconds) | counts | _decision(incidents) | _restart_times(incidents, restarts)
            | _failover(failovers))


def _cell(value, seconds: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if seconds else f"{value * 1000:.0f}"


COLUMNS = [("detect s", "failed_at", "down_written", True), ("→flip ms", "probe3", "down_written", False),
           ("engine ms", "probe3", "requested", False), ("pickup ms", "requested", "observe", False),
           ("observe ms", "observe", "call", False), ("decision ms", "probe3", "call", False),
           ("provider s", "call", "up", True), ("total s", "failed_at", "up", True)]


def table(incidents) -> list[str]:
    lines = [f"{'deployment':<14}{'prov':<8}" + "".join(f"{title:>12}" for title, *_ in COLUMNS)]
    for i in sorted(incidents, key=lambda i: i.failed_at):
        cells = "".join(f"{_cell(i.span(start, end), seconds):>12}" for _, start, end, seconds in COLUMNS)
        lines.append(f"{i.name:<14}{i.provider:<8}{cells}")
        if i.role == "failover":
            lines.append(_failover_line(i))
    return lines


def _failover_line(i) -> str:
    parts = [("still_down→launch", i.span("still_down_probe", "launch_call"), 1000, "ms"),
             ("launch→running", i.span("launch_call", "replacement_running"), 1, "s"),
             ("running→1st probe", i.span("replacement_running", "replacement_first_probe"), 1, "s"),
             ("launch→healthy", i.span("launch_call", "replacement_up"), 1, "s"),
             ("fail→replacement up", i.span("failed_at", "replacement_up"), 1, "s")]
    words = ", ".join(f"{name} {'-' if v is None else round(v * scale, 2)} {unit}" for name, v, scale, unit in parts)
    return f"{'':<14}failover ({i.outcome or 'unfinished'}): {words}"


def write_incidents(incidents, path: Path) -> None:
    """Every incident's moments, in seconds after its failure."""
    rows = [{"deployment": i.name, "role": i.role, "provider": i.provider, "outcome": i.outcome,
             **{k: round(v - i.failed_at, 4) for k, v in i.moments.items()}} for i in incidents]
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))
