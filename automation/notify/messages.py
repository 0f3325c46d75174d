"""What a notification says: what happened AND what automation did about it (the event's rule
runs), as a subject and plain-text body for email and Telegram, and the JSON payload webhooks get.
Also the one-message summary Telegram sends for several notifications at once."""

import uuid

from automation.models import RunOutcome

# Rule runs whose rule did nothing: not worth a line in "what automation did".
_SILENT_OUTCOMES = {RunOutcome.NOT_MATCHED}


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def automation_lines(event) -> list[dict]:
    runs = event.rule_runs.exclude(outcome__in=_SILENT_OUTCOMES).order_by("started_at", "id")
    return [{"rule": run.rule_name, "outcome": run.outcome, "outcome_label": RunOutcome(run.outcome).label,
             "detail": run.detail, "dry_run": run.dry_run} for run in runs]


def _deployment(event) -> dict | None:
    deployment = event.deployment
    if deployment is None:
        return None
    return {"id": str(deployment.pk), "name": deployment.name, "provider": deployment.provider}


def event_payload(event, message_id: str) -> dict:
    workspace = event.workspace
    return {
        "type": event.type, "id": message_id, "timestamp": event.created_at.isoformat(),
        "workspace": {"id": str(workspace.pk), "slug": workspace.slug, "name": workspace.name},
        "deployment": _deployment(event), "summary": event.summary, "data": event.data,
        "automation": automation_lines(event),
    }


def event_subject(event) -> str:
    return f"[{event.workspace.name}] {event.summary}"[:200]


def event_body(event, automation: list[dict]) -> str:
    lines = [event.summary]
    if event.deployment is not None:
        lines.append(f"Deployment: {event.deployment.name} ({event.deployment.provider})")
    lines.append(f"When: {event.created_at:%Y-%m-%d %H:%M:%S} UTC")
    lines.append("")
    lines += _automation_text(automation)
    return "\n".join(lines)


def _automation_text(automation: list[dict]) -> list[str]:
    if not automation:
        return ["Automation: no rule acted on this."]
    lines = ["What automation did:"]
    for run in automation:
        dry = " (dry run)" if run["dry_run"] else ""
        detail = f" — {run['detail']}" if run["detail"] else ""
        lines.append(f"• {run['rule']}: {run['outcome_label']}{dry}{detail}")
    return lines


def grouped(subjects_and_bodies: list[tuple[str, str]]) -> tuple[str, str]:
    """Several messages for one chat as one: a count in the subject, each message in the body."""
    subject = f"{len(subjects_and_bodies)} notifications"
    parts = [f"• {subject_}\n{body}" for subject_, body in subjects_and_bodies]
    return subject, "\n\n".join(parts)
