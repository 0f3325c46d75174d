"""One provider call with a fresh adapter for the credential, run to completion in its own event
loop (the reconciler is sync code: Django ORM between calls). The adapter's connection pool is
closed in the loop that opened it."""

import asyncio

from asgiref.sync import async_to_sync

from providers.services import credential_adapter

# Adapters retry inside a call (computehub.http); this bounds the whole call so a hung provider
# cannot hold a deployment's lease (see lease.LEASE_S) for long.
CALL_TIMEOUT_S = 60.0


def provider_call(credential, method: str, *args):
    """`await adapter.<method>(*args)`; raises the adapter's errors, or TimeoutError."""
    adapter = credential_adapter(credential)

    async def run():
        async with adapter:
            return await asyncio.wait_for(getattr(adapter, method)(*args), CALL_TIMEOUT_S)

    return async_to_sync(run)()


def capabilities_of(deployment):
    from providers.adapters import adapter_class

    return adapter_class(deployment.provider).capabilities
