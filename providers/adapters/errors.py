"""What a provider adapter raises: every failure is a ProviderErrorBase whose message never
contains the credential."""

from computehub.http import redact

RAW_LIMIT = 500  # characters of a provider's body kept in ProviderError: enough to diagnose


class ProviderErrorBase(Exception):
    """Everything an adapter raises; messages never contain the credential."""

    default_message = "The provider refused the request."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)


class AuthError(ProviderErrorBase):
    default_message = "The provider rejected the API key."


class RateLimited(ProviderErrorBase):
    default_message = "The provider is rate limiting this key."

    def __init__(self, retry_after: float | None = None, message: str | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class CapacityError(ProviderErrorBase):
    default_message = "The provider has no capacity for this offer right now."


class NotFound(ProviderErrorBase):
    default_message = "The provider does not know this instance."


class ProviderUnavailable(ProviderErrorBase):
    default_message = "The provider is unreachable or failing."


class ProviderError(ProviderErrorBase):
    """An answer we cannot map: ``raw`` keeps the start of the body, scrubbed, for diagnosis."""

    def __init__(self, raw: str, *, secrets: tuple[str, ...] = ()):
        self.raw = redact(str(raw), secrets)[:RAW_LIMIT]  # redact first: a cut key would survive
        super().__init__(f"Unexpected provider answer: {self.raw}")


class NotSupported(ProviderErrorBase):
    """The provider cannot do this at all; ``reason`` is the sentence shown to the user."""

    def __init__(self, action: str, reason: str):
        self.action, self.reason = action, reason
        super().__init__(reason)
