"""What the replay reads: a workspace's recorded history over a window, as plain values (no model
instances), so every step after loading is a pure function that tests can feed by hand."""

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class DeploymentInfo:
    id: str
    name: str
    provider: str = "runpod"
    region: str = ""
    gpu_model: str = ""
    gpu_count: int = 1
    price_per_hour: float = 0.0
    spot: bool = False
    status: str = "running"  # now; the status at a past moment comes from `statuses`
    created_at: datetime | None = None


@dataclass(frozen=True)
class EventRow:
    """An AutomationEvent (down, still_down, recovered, preempted, failed…, budget_*, price_*)."""

    at: datetime
    type: str
    deployment_id: str | None
    summary: str = ""
    dedup_key: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FlipRow:
    id: int
    at: datetime
    deployment_id: str
    old: str
    new: str


@dataclass(frozen=True)
class StatusRow:
    """A status change from the deployment timeline ("Running → Stopped")."""

    at: datetime
    deployment_id: str
    old: str
    new: str


@dataclass(frozen=True)
class ActionRow:
    """A person's start / stop / restart / delete from the timeline: when it was "needed" again."""

    at: datetime
    deployment_id: str
    action: str


@dataclass(frozen=True)
class SampleRow:
    at: datetime
    deployment_id: str
    values: dict


@dataclass(frozen=True)
class PriceRow:
    at: datetime
    gpu_model: str
    provider: str
    spot: bool
    price_per_gpu_hour: float


@dataclass(frozen=True)
class SpendRow:
    day: date
    deployment_id: str
    usd: float


@dataclass
class History:
    start: datetime
    end: datetime
    deployments: dict[str, DeploymentInfo] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    flips: list[FlipRow] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    samples: list[SampleRow] = field(default_factory=list)
    prices: list[PriceRow] = field(default_factory=list)
    spend: list[SpendRow] = field(default_factory=list)
    # Today's cheapest equal offer per deployment (elsewhere / on another provider), for when no
    # price point of the window says better.
    cheapest_now: dict[str, float] = field(default_factory=dict)
    cheapest_other_provider_now: dict[str, float] = field(default_factory=dict)
    # Deployment ids the Auto-restart policy covers now ("*": all of them).
    auto_restart_covers: set[str] = field(default_factory=set)
    _index: dict = field(default_factory=dict, repr=False)

    def sort(self) -> "History":
        for rows in (self.events, self.flips, self.statuses, self.actions, self.samples, self.prices):
            rows.sort(key=lambda row: row.at)
        self.spend.sort(key=lambda row: row.day)
        self._index.clear()
        return self

    def of(self, kind: str, deployment_id: str | None) -> list:
        """Rows of `kind` ("flips", "samples"…) for one deployment, in time order (indexed once)."""
        if kind not in self._index:
            index: dict = {}
            for row in getattr(self, kind):
                index.setdefault(row.deployment_id, []).append(row)
            self._index[kind] = index
        return self._index[kind].get(deployment_id, [])
