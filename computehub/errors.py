"""The one exception services raise for a request they refuse; pages show it as a form error,
the API answers it with the shared JSON error shape."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", fields: dict | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}
        self.status = status
