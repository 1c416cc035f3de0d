"""The per-request state of one GraphQL request: the ``info.context`` resolvers see.

Services never import this module: they are written against ``services.caller.Caller``, a
protocol this class satisfies, so the layering runs one way (resolvers → services → models,
loaders below services) and services can be called from anything that provides a caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from reference_api.domain.errors import RateLimitedError, UnauthenticatedError
from reference_api.loaders import Loaders
from reference_api.middleware.request_context import RequestInfo
from reference_api.state import AppState


@dataclass(slots=True)
class _Budget:
    """What is left of this request's expensive operations (password hashes)."""

    password_hashes: int


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One request: who is calling, from where, and its data loaders."""

    app: AppState
    info: RequestInfo
    loaders: Loaders
    _budget: _Budget = field(repr=False)

    @classmethod
    def create(cls, app: AppState, info: RequestInfo) -> RequestContext:
        loaders = Loaders(
            app.reader, viewer_id=info.viewer_id, membership_cache=app.membership_cache
        )
        budget = _Budget(password_hashes=app.settings.max_password_hashes_per_request)
        return cls(app=app, info=info, loaders=loaders, _budget=budget)

    @property
    def client_ip(self) -> str:
        """The client's address as ``middleware.client_address`` derived it."""
        return self.info.client_ip

    def require_viewer(self) -> uuid.UUID:
        """The signed-in user's id, or ``UnauthenticatedError``."""
        if self.info.viewer_id is None:
            raise UnauthenticatedError("sign in first: send a valid access token")
        return self.info.viewer_id

    def spend_password_hash(self) -> None:
        """Take one password hash from this request's budget, or ``RateLimitedError``.

        Aliases put many ``signUp``/``logIn`` fields in one request, and each costs an argon2
        hash (~25 ms of a core, 19 MiB): the per-request budget keeps one request from
        buying a dozen, whatever the rate limits say.
        """
        if self._budget.password_hashes <= 0:
            raise RateLimitedError(
                "one password operation per request: send the others separately",
                retry_after=1,
            )
        self._budget.password_hashes -= 1
