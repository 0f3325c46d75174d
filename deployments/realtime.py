"""What a deployment's viewers receive live on /ws/deployments/<id>/. Producers call these after
their rows are committed; computehub.realtime carries them across processes."""

from computehub import realtime


def deployment_group(deployment_id) -> str:
    return f"deployment.{deployment_id}"


def publish_status(deployment) -> None:
    """The deployment's status as its list row and detail header show it."""
    message = {
        "type": "deployment.status",
        "id": str(deployment.pk),
        "status": deployment.status,
        "raw_status": deployment.raw_status,
        "desired_state": deployment.desired_state,
    }
    realtime.publish(deployment_group(deployment.pk), message)
    realtime.publish(realtime.workspace_group(deployment.workspace_id), message)


def publish_log_lines(deployment, first_seq: int, lines: list[str]) -> None:
    """New log lines; line n has sequence number first_seq + n (viewers dedupe and detect gaps by it)."""
    message = {"type": "deployment.logs", "id": str(deployment.pk), "first_seq": first_seq, "lines": list(lines)}
    realtime.publish(deployment_group(deployment.pk), message)


def publish_metric(deployment, sample) -> None:
    """One MetricSample, as a chart appends it."""
    message = {
        "type": "deployment.metric",
        "id": str(deployment.pk),
        "seq": sample.seq,
        "at": sample.at.isoformat(),
        "values": sample.values,
    }
    realtime.publish(deployment_group(deployment.pk), message)


def publish_event(deployment_id) -> None:
    """A timeline entry was added; viewers fetch the rendered timeline (never HTML over the socket)."""
    realtime.publish(deployment_group(deployment_id), {"type": "deployment.event", "id": str(deployment_id)})
