"""Operators' view of deployments. Secret env is ciphertext and never shown; status fields are
the reconciler's, so they are read-only here (change desired state through the app instead)."""

from django.contrib import admin

from deployments.models import Deployment, DeploymentEvent, DeploymentTemplate


class EventInline(admin.TabularInline):
    model = DeploymentEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "message", "actor", "data")


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "provider", "desired_state", "status", "raw_status", "attempts", "created_at")
    list_filter = ("provider", "desired_state", "status")
    search_fields = ("name", "instance_id", "id")
    exclude = ("secret_env",)
    readonly_fields = ("status", "raw_status", "instance_id", "lease_owner", "lease_until", "last_error",
                       "attempts", "next_attempt_at", "running_since", "terminated_at")
    inlines = [EventInline]


@admin.register(DeploymentTemplate)
class DeploymentTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "workspace", "is_preset", "is_public")
    search_fields = ("name", "slug")
