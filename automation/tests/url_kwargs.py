"""Value factories for automation's URL kwargs, for computehub/tests/test_api_access.py.

Each area keeps its own module `url_kwargs_<area>.py` defining `URL_KWARGS = {"rule_id": factory}`
where factory(workspace, scenario) creates (or finds) an object of `workspace` and returns the
kwarg's value; this module merges them so areas never edit one shared dict."""

import importlib
import pkgutil

import automation.tests


def collected() -> dict:
    merged = {}
    for module in pkgutil.iter_modules(automation.tests.__path__):
        if module.name.startswith("url_kwargs_"):
            merged.update(importlib.import_module(f"automation.tests.{module.name}").URL_KWARGS)
    return merged
