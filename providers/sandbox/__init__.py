"""Simulated clouds, one module per provider, each speaking that provider's real wire protocol.

Every module here other than the shared machinery defines one `SandboxCloud` subclass whose
`name` equals its adapter's `kind`; it is found automatically. `python -m providers.sandbox`
serves them all (see server.py).
"""

import importlib
import inspect
import pkgutil
from pathlib import Path
from urllib.parse import urlsplit

_SHARED = {"base", "server", "catalogs"}


def cloud_classes() -> list[type]:
    from providers.sandbox.base import SandboxCloud

    found = []
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name in _SHARED or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"providers.sandbox.{module_info.name}")
        found += [
            obj for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, SandboxCloud) and obj.__module__ == module.__name__
        ]  # fmt: skip
    return sorted(found, key=lambda cls: cls.name)


def all_clouds(**kwargs) -> list:
    return [cls(**kwargs) for cls in cloud_classes()]


def sandbox_base_url(root_url: str, kind: str, default_base_url: str) -> str:
    """A sandbox mirrors the real API's path under /<kind>: https://cloud.lambda.ai/api/v1 is
    served at <root>/lambda/api/v1, so adapters append the same paths either way."""
    return f"{root_url.rstrip('/')}/{kind}{urlsplit(default_base_url).path.rstrip('/')}"
