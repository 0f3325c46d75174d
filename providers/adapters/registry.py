"""Provider kind -> adapter class. Adapter modules register themselves with ``@register``."""

import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path

from providers.adapters.base import OPTIONAL_METHODS, ProviderAdapter

_ADAPTERS: dict[str, type[ProviderAdapter]] = {}
_REQUIRED_ATTRIBUTES = ("kind", "display_name", "capabilities", "default_base_url")


def _check_declared(cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, ProviderAdapter)) or inspect.isabstract(cls):
        raise TypeError(f"{cls!r} is not a concrete ProviderAdapter")
    missing = [name for name in _REQUIRED_ATTRIBUTES if not getattr(cls, name, None)]
    if missing:
        raise TypeError(f"{cls.__name__} does not declare {', '.join(missing)}")


def _check_capabilities_match(cls: type[ProviderAdapter]) -> None:
    """The UI trusts ``capabilities``: a declared action must be implemented, and an implemented
    one declared, or users see buttons that fail or miss ones that work."""
    for action in OPTIONAL_METHODS:
        implemented = getattr(cls, action) is not getattr(ProviderAdapter, action)
        if implemented != cls.capabilities.supports(action):
            state = "implements" if implemented else "does not implement"
            raise TypeError(f"{cls.__name__} {state} {action} but its capabilities say otherwise")


def register(cls: type[ProviderAdapter]) -> type[ProviderAdapter]:
    """Class decorator; refuses an incomplete adapter or a second class for the same kind."""
    _check_declared(cls)
    _check_capabilities_match(cls)
    existing = _ADAPTERS.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"provider kind {cls.kind!r} is already registered by {existing.__name__}")
    _ADAPTERS[cls.kind] = cls
    return cls


@cache
def load_adapters() -> None:
    """Import every adapter module in this package once, so each registers itself: adding a
    provider is adding a module, with no list to keep in step."""
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name not in ("base", "registry") and not module_info.name.startswith("_"):
            importlib.import_module(f"providers.adapters.{module_info.name}")


def adapter_class(kind: str) -> type[ProviderAdapter]:
    load_adapters()
    try:
        return _ADAPTERS[kind]
    except KeyError:
        known = ", ".join(all_kinds()) or "none registered"
        raise KeyError(f"unknown provider kind {kind!r} (known: {known})") from None


def all_kinds() -> list[str]:
    load_adapters()
    return sorted(_ADAPTERS)
