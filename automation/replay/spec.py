"""The rule being tested (saved or not) and the moments its trigger would have fired."""

from dataclasses import dataclass, field, replace
from datetime import datetime

# Actions that act on a deployment; a workspace-wide trigger with one of them fires per deployment.
DEPLOYMENT_ACTIONS = ("restart", "stop", "delete", "migrate", "failover", "rebid")


@dataclass(frozen=True)
class RuleSpec:
    trigger: str
    trigger_params: dict = field(default_factory=dict)
    conditions: dict = field(default_factory=dict)
    actions: list = field(default_factory=list)
    cooldown_s: int = 300
    max_per_hour: int = 3
    deployment_id: str | None = None  # None: every deployment of the workspace
    escalation: list = field(default_factory=list)  # run once per capped hour instead of `actions`

    @classmethod
    def from_data(cls, data: dict) -> "RuleSpec":
        """From the dict rule_create takes (or a Rule's fields)."""
        deployment = data.get("deployment") or data.get("deployment_id")
        return cls(trigger=data.get("trigger", ""), trigger_params=dict(data.get("trigger_params") or {}),
                   conditions=data.get("conditions") or {}, actions=list(data.get("actions") or []),
                   cooldown_s=int(data.get("cooldown_s", 300)), max_per_hour=int(data.get("max_per_hour", 3)),
                   deployment_id=str(getattr(deployment, "pk", deployment)) if deployment else None,
                   escalation=list(data.get("escalation") or []))

    @property
    def acts_on_deployments(self) -> bool:
        return any(action.get("type") in DEPLOYMENT_ACTIONS for action in self.actions if isinstance(action, dict))

    def escalated(self) -> "RuleSpec":
        """The same rule doing its escalation actions (for estimating an escalation)."""
        return replace(self, actions=self.escalation, escalation=[])


@dataclass(frozen=True)
class Occurrence:
    """One moment the trigger fits: `what` says what happened, in words."""

    at: datetime
    deployment_id: str | None
    what: str
    data: dict = field(default_factory=dict)
