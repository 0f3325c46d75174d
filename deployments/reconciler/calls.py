"""One provider call with a fresh adapter for the credential, run to completion in its own event
loop (the reconciler is sync code: Django ORM between calls). The adapter's connection pool is
closed in the loop that opened it."""

import asyncio
import contextlib
import contextvars

from asgiref.sync import async_to_sync

from deployments.reconciler import lease
from providers.services import credential_adapter

# Adapters retry inside a call (computehub.http); this bounds the whole call so a hung provider
# cannot hold a deployment's lease (see lease.LEASE_S) for long.
CALL_TIMEOUT_S = 60.0
_timeout_s = contextvars.ContextVar("provider_call_timeout_s", default=CALL_TIMEOUT_S)


@contextlib.contextmanager
def call_timeout(seconds: float):
    """Bound every provider_call made inside (in this thread) to `seconds`: the sweep uses a
    shorter bound than one-off reconciles so a slow provider holds up only its own deployments."""
    token = _timeout_s.set(seconds)
    try:
        yield
    finally:
        _timeout_s.reset(token)


def provider_call(credential, method: str, *args):
    """`await adapter.<method>(*args)`; raises the adapter's errors, or TimeoutError."""
    timeout_s = _timeout_s.get()  # read here: the event loop below may run in another context
    lease.renew(timeout_s)  # the step is alive: its lease lasts another full call
    adapter = credential_adapter(credential)

    async def run():
        async with adapter:
            return await asyncio.wait_for(getattr(adapter, method)(*args), timeout_s)

    return async_to_sync(run)()


def capabilities_of(deployment):
    from providers.adapters import adapter_class

    return adapter_class(deployment.provider).capabilities
