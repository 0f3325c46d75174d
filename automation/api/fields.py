"""What the automation API routes share beyond WorkspaceAPIView: one way to refuse a bad query
parameter or body field, as the shared error shape naming it (a 400, never a 500)."""

from computehub.errors import ApplicationError


def invalid_field(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="validation_error", fields={field: [message]})
