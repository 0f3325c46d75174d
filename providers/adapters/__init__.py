"""Provider adapters: one module per cloud behind the interface in ``base`` (DESIGN.md §4)."""

from providers.adapters.base import (
    AuthError,
    CapacityError,
    Capabilities,
    Instance,
    InstanceSpec,
    InstanceStatus,
    LogLine,
    MetricPoint,
    NotFound,
    NotSupported,
    Offer,
    ProviderAdapter,
    ProviderError,
    ProviderErrorBase,
    ProviderUnavailable,
    RateLimited,
    SshInfo,
)
from providers.adapters.registry import adapter_class, all_kinds, register

__all__ = [
    "AuthError", "CapacityError", "Capabilities", "Instance", "InstanceSpec", "InstanceStatus",
    "LogLine", "MetricPoint", "NotFound", "NotSupported", "Offer", "ProviderAdapter",
    "ProviderError", "ProviderErrorBase", "ProviderUnavailable", "RateLimited", "SshInfo",
    "adapter_class", "all_kinds", "register",
]  # fmt: skip
