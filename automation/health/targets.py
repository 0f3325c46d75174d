"""What one check probes right now, decided from the rows alone (no I/O): skip it (the deployment
is not meant to run, or a start/stop is under way), the provider's verdict, an HTTP URL or a TCP
address. Local deployments listen on 127.0.0.1; remote ones on the provider's public address and
the public port it mapped the container port to."""

from dataclasses import dataclass

from automation.health.probes import FAIL, OK, UNKNOWN, ProbeResult
from automation.models import HealthCheck, ProbeKind
from deployments.models import Deployment, DesiredState, Status
from providers.models import ProviderKind

# A person (or automation) asked for a change and the reconciler is carrying it out.
TRANSITIONAL = {Status.PENDING, Status.PROVISIONING, Status.STARTING, Status.STOPPING, Status.TERMINATING}
# The provider says the instance is not running although it should be.
DEAD = {Status.FAILED, Status.PREEMPTED, Status.TERMINATED, Status.STOPPED}
RUNPOD_PROXY = "https://{instance_id}-{port}.proxy.runpod.net"


@dataclass(frozen=True)
class Target:
    """Exactly one of: skip, result (decided without a network call), url, or host+port (TCP)."""

    skip: bool = False
    result: ProbeResult | None = None
    url: str = ""
    path: str = ""
    host: str = ""
    port: int | None = None


def monitored(deployment: Deployment) -> bool:
    return deployment.desired_state == DesiredState.RUNNING and deployment.status not in TRANSITIONAL


def provider_verdict(deployment: Deployment) -> ProbeResult:
    """From the row the reconciler keeps current. Its failing API calls (errors, 429s, timeouts)
    leave `attempts` and `last_error` set: then the status it holds is stale, so unknown."""
    if deployment.attempts and deployment.last_error:
        return ProbeResult(UNKNOWN, f"Provider API error: {deployment.last_error}"[:300])
    if deployment.status == Status.RUNNING:
        return ProbeResult(OK)
    if deployment.status in DEAD:
        return ProbeResult(FAIL, f"The provider reports it {Status(deployment.status).label.lower()}")
    return ProbeResult(UNKNOWN, "The provider's status is unknown")


def _public_port(deployment: Deployment, port: int) -> int | None:
    value = (deployment.port_map or {}).get(str(port))
    return int(value) if str(value or "").isdigit() else None


def address(deployment: Deployment, port: int) -> tuple[str, int | None]:
    """(host, port) where `port` of the container answers; the port is None while unknown."""
    if deployment.provider == ProviderKind.LOCAL:
        return "127.0.0.1", _public_port(deployment, port) or port
    return deployment.public_ip or deployment.ssh_host, _public_port(deployment, port)


def _http_target(check: HealthCheck, deployment: Deployment) -> Target:
    host, public = address(deployment, check.port)
    path = check.path or "/"
    if host and public:
        scheme = "https" if check.use_https else "http"
        return Target(url=f"{scheme}://{host}:{public}{path}", path=path)
    if deployment.provider == ProviderKind.RUNPOD and deployment.instance_id:
        return Target(url=RUNPOD_PROXY.format(instance_id=deployment.instance_id, port=check.port) + path, path=path)
    return Target(result=ProbeResult(UNKNOWN, f"The provider has given no public address for port {check.port}"))


def _tcp_target(check: HealthCheck, deployment: Deployment) -> Target:
    host, public = address(deployment, check.port)
    if host and public:
        return Target(host=host, port=public)
    return Target(result=ProbeResult(UNKNOWN, f"The provider has given no public address for port {check.port}"))


def target_for(check: HealthCheck, deployment: Deployment) -> Target:
    if not monitored(deployment):
        return Target(skip=True)
    if check.kind == ProbeKind.PROVIDER or deployment.status in DEAD or not check.port:
        return Target(result=provider_verdict(deployment))
    if check.kind == ProbeKind.HTTP:
        return _http_target(check, deployment)
    return _tcp_target(check, deployment)
