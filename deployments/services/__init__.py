"""Writes for deployments (DESIGN.md §3.4–3.5): launch, the four actions, the timeline.
Provider calls happen in deployments.reconciler, never here."""

from deployments.services.actions import deployment_action
from deployments.services.create import (deployment_create, deployment_create_from_offer, secret_env_aad,
                                         secret_env_of)
from deployments.services.events import event_record
from deployments.services.scrub import scrub_secrets

__all__ = ["deployment_action", "deployment_create", "deployment_create_from_offer", "event_record",
           "scrub_secrets", "secret_env_aad", "secret_env_of"]
