"""What a service needs from whoever calls it: the process's services, the caller's loaders
and identity. ``reference_api.context.RequestContext`` provides it for GraphQL requests;
services depend on this protocol, never on the request layer."""

from __future__ import annotations

import uuid
from typing import Protocol

from reference_api.loaders import Loaders
from reference_api.state import AppState


class Caller(Protocol):
    """The first argument of every service function."""

    @property
    def app(self) -> AppState: ...

    @property
    def loaders(self) -> Loaders: ...

    @property
    def client_ip(self) -> str:
        """The client's network address (IPv6 already grouped for rate limits or not)."""
        ...

    def require_viewer(self) -> uuid.UUID:
        """The signed-in user's id, or ``UnauthenticatedError``."""
        ...

    def spend_password_hash(self) -> None:
        """Charge one password hash to the request, or ``RateLimitedError``."""
        ...
