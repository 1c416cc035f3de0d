"""Per-request bookkeeping shared by the middleware and the GraphQL layer.

The request id is also in a ``ContextVar`` so that every log line and every GraphQL error of
the request carries it without being passed around.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

from starlette.types import Scope

#: The current request's id ("-" outside a request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

#: A client-sent X-Request-ID is kept only if it looks like an id (no log injection).
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(slots=True)
class RequestInfo:
    """Mutable facts about one HTTP request, filled in as it goes through the stack."""

    request_id: str
    client_ip: str
    viewer_id: uuid.UUID | None = None
    operation: str = "-"


def new_request_id(client_value: str | None) -> str:
    """The client's X-Request-ID if it is well-formed, else a fresh random id."""
    if client_value and _CLIENT_REQUEST_ID.match(client_value):
        return client_value
    return uuid.uuid4().hex


def request_info(scope: Scope) -> RequestInfo:
    """The ``RequestInfo`` the outermost middleware put in the ASGI scope."""
    info = scope.get("state", {}).get("request_info")
    if not isinstance(info, RequestInfo):  # pragma: no cover - wiring error
        raise RuntimeError("RequestLogMiddleware must be the outermost middleware")
    return info
