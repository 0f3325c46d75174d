"""How a refresh went, per credential, in words a user understands."""

import json
from dataclasses import dataclass, field

from providers.adapters import base as adapters
from providers.models import provider_display_name


@dataclass
class ProviderResult:
    """How one credential's refresh went; `error` is the short reason shown as "stale since"."""

    credential_id: object
    workspace_id: object
    provider: str
    label: str
    offers: int = 0
    error: str = ""
    elapsed_ms: float = 0.0
    superseded: bool = False  # a newer refresh wrote first; this one's older answer was dropped

    @property
    def ok(self) -> bool:
        return not self.error

    def line(self) -> str:
        name = f"{provider_display_name(self.provider)} ({self.label})"
        if self.superseded:
            outcome = "kept the newer refresh's offers"
        else:
            outcome = f"{self.offers} offers" if self.ok else f"stale: {self.error}"
        return f"{name}: {outcome} in {self.elapsed_ms:.0f} ms"


@dataclass
class RefreshReport:
    results: list[ProviderResult] = field(default_factory=list)
    wall_ms: float = 0.0

    @property
    def failed(self) -> list[ProviderResult]:
        return [result for result in self.results if not result.ok]

    @property
    def offers(self) -> int:
        return sum(result.offers for result in self.results)

    def lines(self) -> list[str]:
        return [result.line() for result in self.results]

    def summary(self) -> str:
        good = len(self.results) - len(self.failed)
        text = f"Prices refreshed: {good} of {len(self.results)} providers, {self.offers} offers."
        stale = "; ".join(f"{provider_display_name(r.provider)}: {r.error}" for r in self.failed)
        return f"{text} Stale: {stale}." if stale else text


def failure_reason(exc: BaseException, timeout: float) -> str:
    """A short reason for `exc`; never the exception text of an unknown error (it may quote a body)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, json.JSONDecodeError) or (isinstance(exc, adapters.ProviderError) and "json" in exc.raw.lower()):
        return "answered something that is not valid JSON"
    known = {
        adapters.RateLimited: "rate limited",
        adapters.AuthError: "rejected the API key",
        adapters.ProviderUnavailable: "is unreachable or failing",
        adapters.ProviderError: "answered something unexpected",
        adapters.NotSupported: "cannot list offers",
    }
    for cls, reason in known.items():
        if isinstance(exc, cls):
            return reason
    return "answered something we could not read"
