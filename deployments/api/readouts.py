"""What the API shows about a deployment beyond its columns: uptime, spend so far, the SSH
command and public endpoints. Pure functions of the row (no queries), so the list stays at a
constant number of SQL queries however many deployments it shows."""

from datetime import datetime

from deployments.models import Deployment, Status

# RunPod exposes HTTP ports through its proxy rather than on a public IP.
RUNPOD_PROXY = "https://{instance_id}-{port}.proxy.runpod.net/"


def uptime_seconds(deployment: Deployment, now: datetime) -> int:
    if deployment.status != Status.RUNNING or deployment.running_since is None:
        return 0
    return max(0, int((now - deployment.running_since).total_seconds()))


def spend_so_far(deployment: Deployment, now: datetime) -> float:
    """Accrued spend plus what has run since the last accrual at the launch price."""
    spend = deployment.spend_usd
    since = deployment.spend_accrued_at or deployment.running_since
    if deployment.status == Status.RUNNING and since is not None:
        spend += deployment.price_per_hour * max(0.0, (now - since).total_seconds()) / 3600
    return round(spend, 4)


def ssh_command(deployment: Deployment) -> str | None:
    if not deployment.ssh_host:
        return None
    port = f" -p {deployment.ssh_port}" if deployment.ssh_port and deployment.ssh_port != 22 else ""
    return f"ssh{port} {deployment.ssh_user or 'root'}@{deployment.ssh_host}"


def _public_port(deployment: Deployment, port: int) -> int | None:
    mapping = deployment.port_map or {}
    value = mapping.get(str(port), mapping.get(port))
    return int(value) if str(value or "").isdigit() else None


def endpoints(deployment: Deployment) -> list[dict]:
    """One {port, url} per exposed container port; url is null where the provider gave no address."""
    host = deployment.public_ip or deployment.ssh_host
    result = []
    for port in deployment.ports or []:
        public = _public_port(deployment, port)
        url = f"http://{host}:{public}/" if host and public else None
        if url is None and deployment.provider == "runpod" and deployment.instance_id:
            url = RUNPOD_PROXY.format(instance_id=deployment.instance_id, port=port)
        result.append({"port": port, "url": url})
    return result
