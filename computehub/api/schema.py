"""OpenAPI helpers shared by every app's API views, so error responses are documented alike."""

from drf_spectacular.utils import OpenApiResponse

from computehub.api.errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "Invalid input, or a request the service refused (see `error.code` and `error.fields`).",
    401: "Missing, malformed, revoked or expired credentials.",
    403: "Your role in this workspace does not allow this (or the CSRF check failed).",
    404: "No such object in a workspace you belong to.",
    409: "The change conflicts with the current state (for example, the last Admin).",
    413: "The request body is larger than the server accepts.",
    415: "The request body is not `application/json`.",
}


def error_responses(*codes: int) -> dict:
    """`responses=` entries for the shared error shape, one per status code."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


# The failures any call can meet, and what a call with a JSON body adds to them.
READ_ERRORS = (401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 413, 415)
