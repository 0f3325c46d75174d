"""Automation's tables (DESIGN.md §3.8–3.9): health checks and their flips, the event outbox the
rules engine consumes, rules and their runs, multi-step operations (migrate, failover, refill),
budgets and the spend ledger, the batch job queue, notification channels and deliveries."""

from automation.models.events import AutomationEvent, EventType
from automation.models.health import Flip, HealthCheck, HealthState, ProbeKind
from automation.models.jobs import Job, JobAttempt, JobStatus
from automation.models.notify import (ChannelKind, Notification, NotificationChannel, NotificationStatus,
                                      PriceAlert, TokenBucket)
from automation.models.operations import Operation, OperationKind, OperationState
from automation.models.rules import Rule, RuleRun, RunOutcome, Trigger
from automation.models.spend import Budget, BudgetPeriod, SpendDay

__all__ = [
    "AutomationEvent", "Budget", "BudgetPeriod", "ChannelKind", "EventType", "Flip", "HealthCheck",
    "HealthState", "Job", "JobAttempt", "JobStatus", "Notification", "NotificationChannel", "NotificationStatus",
    "Operation", "OperationKind", "OperationState", "PriceAlert", "ProbeKind", "Rule", "RuleRun", "RunOutcome",
    "SpendDay", "TokenBucket", "Trigger",
]
