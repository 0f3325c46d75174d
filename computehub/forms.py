"""Glue between Django forms and services: validate, call the service, show its refusal inline."""

from collections.abc import Callable
from typing import Any

from computehub.errors import ApplicationError


def add_application_error(form, error: ApplicationError) -> None:
    """Field errors go next to the fields the form has; anything else becomes a form-level error."""
    placed = False
    for name, messages in error.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def submit_form(form, action: Callable[[dict], Any]) -> tuple[bool, Any]:
    """Run `action(form.cleaned_data)` if the form is valid. Returns (succeeded, action's result)."""
    if not form.is_valid():
        return False, None
    try:
        return True, action(form.cleaned_data)
    except ApplicationError as error:
        add_application_error(form, error)
        return False, None
