"""The one error format of the API, and the one place errors are logged.

Every error carries ``extensions.code`` and ``extensions.requestId``:

* service errors (``reference_api.domain.errors``) keep their message and code, plus
  ``field`` for ``BAD_USER_INPUT`` and ``retryAfter`` for ``RATE_LIMITED``;
* errors outside resolvers (syntax, validation, limits, variable coercion) are
  ``BAD_USER_INPUT``; in production their "Did you mean ...?" hints are removed;
* anything else is a bug: logged with its traceback, returned as ``INTERNAL_SERVER_ERROR``,
  its message masked in production.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

from reference_api.domain.errors import BadUserInputError, RateLimitedError, ServiceError
from reference_api.metrics import Metrics
from reference_api.middleware.request_context import request_id_var

logger = logging.getLogger("reference_api.errors")

MASKED_MESSAGE = "Internal server error"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")

ErrorFormatter = Callable[[GraphQLError, bool], dict[str, Any]]


def classify(error: GraphQLError) -> str:
    """The ``extensions.code`` of ``error``."""
    original = error.original_error
    if isinstance(original, ServiceError):
        return original.code
    if error.path is None:
        return BadUserInputError.code
    return "INTERNAL_SERVER_ERROR"


def make_error_formatter(metrics: Metrics, *, production: bool) -> ErrorFormatter:
    """An Ariadne ``error_formatter`` that counts errors by code in ``metrics``."""

    def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
        code = classify(error)
        original = error.original_error
        formatted: dict[str, Any] = dict(error.formatted)
        extensions: dict[str, Any] = {"code": code, "requestId": request_id_var.get()}
        if isinstance(original, ServiceError):
            formatted["message"] = original.message
            if isinstance(original, BadUserInputError):
                extensions["field"] = original.field
            if isinstance(original, RateLimitedError):
                extensions["retryAfter"] = original.retry_after
        elif code == "INTERNAL_SERVER_ERROR" and production:
            formatted["message"] = MASKED_MESSAGE
        elif production:
            formatted["message"] = _SUGGESTION.sub("", error.message)
        formatted["extensions"] = extensions
        metrics.errors.labels(code=code).inc()
        return formatted

    return format_error


class ErrorLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Given to Ariadne, which reports every error through ``logger.error``: only unexpected
    errors are worth an ERROR line (with traceback); expected ones are DEBUG.

    Only the error's own message and the original exception are logged: the string form of a
    ``GraphQLError`` quotes the request's source, which may contain a password.
    """

    def __init__(self) -> None:
        super().__init__(logger, {})

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if not isinstance(error, GraphQLError):  # pragma: no cover - Ariadne passes the error
            self.logger.error("unexpected error: %s", type(msg).__name__)
            return
        if classify(error) != "INTERNAL_SERVER_ERROR":
            self.logger.debug("request error: %s", error.message)
            return
        original = error.original_error or error
        path = ".".join(str(part) for part in error.path or [])
        self.logger.error(
            "unexpected error in %s: %s",
            path or "the request",
            type(original).__name__,
            exc_info=(type(original), original, original.__traceback__),
        )
