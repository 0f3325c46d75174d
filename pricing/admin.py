from django.contrib import admin

from pricing.models import Offer, PricePoint


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    # Rows are rewritten by every refresh: editing them here would be lost within 5 minutes.
    list_display = ("provider", "gpu_model", "gpu_count", "price_per_hour", "price_per_gpu_hour", "spot", "region", "workspace")
    list_filter = ("provider", "spot", "gpu_model")
    search_fields = ("offer_id", "gpu_name", "region")
    list_select_related = ("workspace",)
    readonly_fields = [field.name for field in Offer._meta.fields]


@admin.register(PricePoint)
class PricePointAdmin(admin.ModelAdmin):
    list_display = ("recorded_at", "gpu_model", "provider", "spot", "price_per_gpu_hour", "workspace")
    list_filter = ("provider", "spot", "gpu_model")
    date_hierarchy = "recorded_at"
    readonly_fields = [field.name for field in PricePoint._meta.fields]
