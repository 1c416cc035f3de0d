"""The errors services raise; each carries the GraphQL ``extensions.code`` clients see.

They are translated into GraphQL errors at one place (``reference_api.graphql_api.errors``).
Anything else escaping a resolver is an unexpected error: logged, and masked in production.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """An expected failure whose message is safe to show to the caller."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(ServiceError):
    """No valid access token (missing, expired, tampered) or wrong credentials."""

    code = "UNAUTHENTICATED"


class ForbiddenError(ServiceError):
    """The caller is a member of the workspace, but their role does not allow this."""

    code = "FORBIDDEN"


class NotFoundError(ServiceError):
    """No such object, or it belongs to a workspace the caller is not a member of."""

    code = "NOT_FOUND"


class BadUserInputError(ServiceError):
    """An argument is invalid; ``field`` names it as the client spelled it (camelCase)."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class RateLimitedError(ServiceError):
    """Too many attempts; the client should wait ``retry_after`` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
