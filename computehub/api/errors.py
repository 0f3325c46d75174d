"""One JSON error shape for every API failure: {"error": {"code", "message", "fields"}}."""

import logging
import math

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from computehub.errors import ApplicationError

logger = logging.getLogger(__name__)

VALIDATION_MESSAGE = "Some fields are invalid."


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {msg}" for key, inner in value.items() for msg in _flatten(inner)]
    if isinstance(value, list):
        return [msg for item in value for msg in _flatten(item)]
    return [str(value)]


def _normalize(exc):
    """Turn Django's own exceptions into their DRF equivalents."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return exc


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    exc = _normalize(exc)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))  # whole seconds, never "0" while still throttled
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", VALIDATION_MESSAGE, _field_errors(exc.detail))
    else:
        code = exc.get_codes()
        body = error_body(code if isinstance(code, str) else exc.default_code, str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def json_error_view(code: str, message: str, status_code: int):
    # csrf_exempt: it changes nothing, and a script POSTing to a wrong API path must get this
    # JSON answer rather than the CSRF middleware's HTML 403.
    @csrf_exempt
    def view(request, *args, **kwargs):
        return JsonResponse(error_body(code, message), status=status_code)

    return view


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """The shared error shape, documented once in the OpenAPI schema."""

    error = ErrorDetailSerializer()
