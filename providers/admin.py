"""Operators see which accounts exist and their health, never the key (not even encrypted)."""

from django.contrib import admin

from providers.models import ProviderCredential


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    list_display = ["label", "provider", "workspace", "is_sandbox", "last4", "fingerprint", "refreshed_at", "refresh_error"]
    list_filter = ["provider", "is_sandbox"]
    search_fields = ["label", "workspace__name", "fingerprint"]
    exclude = ["secret"]
    readonly_fields = ["provider", "workspace", "base_url", "last4", "fingerprint", "created_by", "created_at",
                       "validated_at", "refreshed_at", "refresh_error", "refresh_failed_at"]

    def has_add_permission(self, request):
        return False  # a key must be checked with the provider first: the Providers page or the API
